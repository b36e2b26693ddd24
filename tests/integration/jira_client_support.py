"""Helpers for the Jira client's integration tests: tenants in moto's Secrets Manager, a fake clock whose
sleep records and advances instead of waiting, and raw TCP peers on loopback for transport failures.

Nothing here mocks ``requests``: every request the client makes crosses a real loopback socket.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jira_connect.host_guard import DEFAULT_ALLOWED_HOSTS, HostGuard
from jira_connect.jira_client import JiraClients, Timeouts
from jira_connect.retry_policy import RetryPolicy
from jira_connect.tenant_store import SecretsManagerTenantStore

PREFIX = "test/jira-tenants/"
APP_KEY = "com.example.issue-creator"
LOCAL_HOSTS = HostGuard.from_setting(DEFAULT_ALLOWED_HOSTS + ",127.0.0.1")


def middle_of_range(a: float, b: float) -> float:
    """Jitter pinned to its centre: delays become exactly the published schedule."""
    return (a + b) / 2


def low_end(a: float, b: float) -> float:
    return a


@dataclass
class FakeTime:
    """A monotonic clock that only moves when the code under test sleeps; every sleep is recorded."""

    now: float = 1_000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class SecretsOnTheWire:
    """A Secrets Manager client on moto that counts the GetSecretValue calls it actually sends."""

    client: Any
    get_secret_value_calls: list[str] = field(default_factory=list)

    def count(self) -> int:
        return len(self.get_secret_value_calls)


def tenant_record(
    client_key: str,
    base_url: str,
    *,
    shared_secret: str = "a-shared-secret-of-at-least-32-bytes!",  # noqa: S107 (a test tenant's)
    app_key: str = APP_KEY,
    oauth_client_id: str | None = None,
) -> dict[str, Any]:
    """An ``installed`` payload as Jira sends it."""
    record: dict[str, Any] = {
        "key": app_key,
        "clientKey": client_key,
        "sharedSecret": shared_secret,
        "baseUrl": base_url,
        "productType": "jira",
        "description": "test tenant",
        "eventType": "installed",
    }
    if oauth_client_id is not None:
        record["oauthClientId"] = oauth_client_id
    return record


def tenant_store(secrets: SecretsOnTheWire, time: FakeTime, ttl: float = 300.0) -> SecretsManagerTenantStore:
    return SecretsManagerTenantStore(secrets.client, PREFIX, ttl_seconds=ttl, clock=time.clock)


def jira_clients(
    store: SecretsManagerTenantStore,
    time: FakeTime,
    *,
    host_guard: HostGuard = LOCAL_HOSTS,
    timeouts: Timeouts | None = None,
    uniform: Callable[[float, float], float] = middle_of_range,
    **options: Any,
) -> JiraClients:
    return JiraClients(
        store,
        host_guard=host_guard,
        timeouts=timeouts or Timeouts(connect=2.0, read=5.0),
        retry_policy=RetryPolicy(),
        clock=time.clock,
        sleep=time.sleep,
        uniform=uniform,
        **options,
    )


# --- raw TCP peers -------------------------------------------------------------------------------------


def _read_request(conn: socket.socket) -> bytes:
    """Read one HTTP request (head and Content-Length body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


class RawPeer:
    """A TCP server on loopback that hands each request to ``respond``: it returns the raw bytes to send,
    or None to close the connection without answering (after ``hold`` seconds, to outlast a read
    timeout). Records every request and counts connections."""

    def __init__(self, respond: Callable[[bytes], bytes | None], *, hold: float = 0.0) -> None:
        self._respond = respond
        self._hold = hold
        self.requests: list[bytes] = []
        self.connections = 0
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.getsockname()[1]}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            while True:
                request = _read_request(conn)
                if not request:
                    return
                self.requests.append(request)
                answer = self._respond(request)
                if answer is None:
                    self._stop.wait(self._hold)
                    return
                conn.sendall(answer)

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        self._thread.join(timeout=2)


def http_answer(status: int, body: object = None, headers: dict[str, str] | None = None) -> bytes:
    payload = b"" if body is None else json.dumps(body).encode()
    lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(payload)}", "Content-Type: application/json"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


def closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- tenants in the emulator -------------------------------------------------------------------------


def install_tenant(
    emu: Any,
    secrets: SecretsOnTheWire,
    client_key: str,
    *,
    shared_secret: str = "a-shared-secret-of-at-least-32-bytes!",  # noqa: S107 (a test tenant's)
    store_oauth_client_id: bool = True,
    **tenant: Any,
) -> dict[str, Any]:
    """Create the tenant in the emulator and store its ``installed`` payload as the lifecycle function
    would (through its own store instance, so no client's cache is touched). Returns the payload."""
    site = emu.add_tenant(key=APP_KEY, client_key=client_key, shared_secret=shared_secret, **tenant)
    record = tenant_record(
        client_key,
        site["baseUrl"],
        shared_secret=shared_secret,
        oauth_client_id=site["oauthClientId"] if store_oauth_client_id else None,
    )
    SecretsManagerTenantStore(secrets.client, PREFIX).save_installation(record)
    return record


def issue(summary: str = "Disk full on db-1", project: str = "OPS", **fields: Any) -> dict[str, Any]:
    """A create-issue body."""
    return {
        "fields": {"project": {"key": project}, "issuetype": {"name": "Task"}, "summary": summary, **fields}
    }


def requests_to(emu: Any, client_key: str, route: str) -> dict[str, int]:
    """The emulator's count of requests per status for one tenant and ``"<METHOD> <route template>"``."""
    counts: dict[str, int] = emu.stats()["requests"].get(client_key, {}).get(route, {})
    return counts
