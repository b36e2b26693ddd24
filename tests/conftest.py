"""Shared test set-up: each test is marked by the folder it lives in (unit, integration, e2e)."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).parent
SPEC = TESTS.parent.parent / "shared" / "spec"
FOLDER_MARKS = ("unit", "integration", "e2e")

pytest_plugins = ["tests.fixtures.emulator", "tests.fixtures.aws"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        relative = Path(str(item.path)).relative_to(TESTS)
        if relative.parts and relative.parts[0] in FOLDER_MARKS:
            item.add_marker(getattr(pytest.mark, relative.parts[0]))
