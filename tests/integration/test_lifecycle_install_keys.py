"""The install-keys adapter against a key server on loopback: keys, caching, and every way the CDN fails."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jira_connect.errors import InstallKeysUnavailable, InstallVerificationFailed, UnknownInstallKey
from jira_connect.install_keys import MAX_KEY_BYTES, InstallKeyFetcher

PEM = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n-----END PUBLIC KEY-----\n"


@dataclass
class KeyServer:
    """Answers ``GET /keys/<kid>`` from ``answers`` (status, body, delay); 404 for anything else."""

    url: str
    answers: dict[str, tuple[int, str, float]] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def publish(self, kid: str, body: str = PEM, status: int = 200, delay: float = 0.0) -> None:
        self.answers[kid] = (status, body, delay)


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that timed out and hung up is part of the test


@contextmanager
def running_key_server() -> Iterator[KeyServer]:
    """A key server on a free loopback port (also used by the lifecycle handler tests)."""
    server_state = KeyServer(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server_state.requests.append(self.path)
            kid = self.path.removeprefix("/keys/")
            status, body, delay = server_state.answers.get(kid, (404, "Not Found", 0.0))
            time.sleep(delay)
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "https://attacker.example/key")
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body.encode())))
            self.end_headers()
            self.wfile.write(body.encode())

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    server_state.url = f"http://127.0.0.1:{httpd.server_address[1]}/keys"
    try:
        yield server_state
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def key_server() -> Iterator[KeyServer]:
    with running_key_server() as server:
        yield server


def test_published_key_is_fetched_by_kid(key_server: KeyServer) -> None:
    key_server.publish("connect/prod/key-1")
    assert InstallKeyFetcher(key_server.url)("connect/prod/key-1") == PEM
    assert key_server.requests == ["/keys/connect/prod/key-1"]


def test_key_is_fetched_once_per_kid_for_the_execution_environment(key_server: KeyServer) -> None:
    key_server.publish("key-1")
    key_server.publish("key-2")
    fetcher = InstallKeyFetcher(key_server.url + "/")
    for _ in range(3):
        fetcher("key-1")
        fetcher("key-2")
    assert key_server.requests == ["/keys/key-1", "/keys/key-2"]


@pytest.mark.parametrize("status", [404, 403, 410])
def test_unknown_kid_fails_verification(key_server: KeyServer, status: int) -> None:
    key_server.publish("gone", body="nope", status=status)
    with pytest.raises(UnknownInstallKey) as caught:
        InstallKeyFetcher(key_server.url)("gone")
    assert isinstance(caught.value, InstallVerificationFailed)
    assert caught.value.check == "kid"


def test_unknown_kid_is_not_cached(key_server: KeyServer) -> None:
    fetcher = InstallKeyFetcher(key_server.url)
    for _ in range(2):
        with pytest.raises(UnknownInstallKey):
            fetcher("not-yet")
    key_server.publish("not-yet")
    assert fetcher("not-yet") == PEM
    assert len(key_server.requests) == 3


def test_unsafe_kid_is_refused_without_a_request(key_server: KeyServer) -> None:
    with pytest.raises(InstallVerificationFailed):
        InstallKeyFetcher(key_server.url)("../admin")
    assert key_server.requests == []


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_failing_key_service_is_unavailable_not_a_verification_failure(
    key_server: KeyServer, status: int
) -> None:
    key_server.publish("key-1", body="oops", status=status)
    with pytest.raises(InstallKeysUnavailable, match=str(status)):
        InstallKeyFetcher(key_server.url)("key-1")


def test_redirect_is_not_followed(key_server: KeyServer) -> None:
    key_server.publish("key-1", body="", status=302)
    with pytest.raises(InstallKeysUnavailable, match="302"):
        InstallKeyFetcher(key_server.url)("key-1")
    assert key_server.requests == ["/keys/key-1"]


def test_answer_that_is_not_a_pem_key_is_unavailable(key_server: KeyServer) -> None:
    key_server.publish("key-1", body="<html>maintenance</html>")
    with pytest.raises(InstallKeysUnavailable, match="PEM"):
        InstallKeyFetcher(key_server.url)("key-1")


def test_oversized_answer_is_unavailable(key_server: KeyServer) -> None:
    key_server.publish("key-1", body=PEM + "A" * MAX_KEY_BYTES)
    with pytest.raises(InstallKeysUnavailable, match="PEM"):
        InstallKeyFetcher(key_server.url)("key-1")


def test_slow_key_service_times_out(key_server: KeyServer) -> None:
    key_server.publish("key-1", delay=1.0)
    started = time.monotonic()
    with pytest.raises(InstallKeysUnavailable, match="Timeout"):
        InstallKeyFetcher(key_server.url, timeout=0.2)("key-1")
    assert time.monotonic() - started < 0.9


def test_unreachable_key_service_is_unavailable(key_server: KeyServer) -> None:
    with pytest.raises(InstallKeysUnavailable, match="ConnectionError"):
        InstallKeyFetcher("http://127.0.0.1:9/keys", timeout=1.0)("key-1")
