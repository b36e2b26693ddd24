"""Unit tests test pure code: any attempt to open a network socket fails the test."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_network(socket_disabled: None) -> None:
    """pytest-socket's ``socket_disabled``, for every unit test."""
