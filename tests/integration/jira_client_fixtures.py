"""Fixtures for the Jira client's integration tests (loaded with ``pytest_plugins``, never imported)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from devstack.aws import MotoServer
from tests.integration.jira_client_support import FakeTime, RawPeer, SecretsOnTheWire


@pytest.fixture
def secrets(aws: MotoServer) -> SecretsOnTheWire:
    client = boto3.client("secretsmanager")
    wire = SecretsOnTheWire(client)

    def on_send(request: Any, **_: Any) -> None:
        # before-send fires right before the HTTP request leaves: a cache hit never reaches it.
        wire.get_secret_value_calls.append(json.loads(request.body)["SecretId"])

    client.meta.events.register("before-send.secrets-manager.GetSecretValue", on_send)
    return wire


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def raw_peer() -> Iterator[Callable[..., RawPeer]]:
    peers: list[RawPeer] = []

    def start(respond: Callable[[bytes], bytes | None], *, hold: float = 0.0) -> RawPeer:
        peer = RawPeer(respond, hold=hold)
        peers.append(peer)
        return peer

    yield start
    for peer in peers:
        peer.close()


# --- the Jira emulator -----------------------------------------------------------------------------------


@pytest.fixture
def emu(jira_emulator: Any) -> Any:
    """The emulator (tests/fixtures/emulator.py): control surface, ``url`` and signed raw clients."""
    return jira_emulator
