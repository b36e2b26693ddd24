"""moto in server mode on loopback: the local stand-in for SQS, Secrets Manager and DynamoDB.

Used by tests, the demo and benchmarks. boto3 is pointed at it through the standard endpoint variables
(``AWS_ENDPOINT_URL``), exactly as a user points a Lambda at LocalStack or moto.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

__all__ = ["LOCAL_REGION", "MotoServer", "aws_environment", "running_moto_server"]

LOCAL_REGION = "us-east-1"


@dataclass(frozen=True)
class MotoServer:
    """A running moto server: ``endpoint_url`` takes every AWS service."""

    endpoint_url: str


def aws_environment(endpoint_url: str) -> Mapping[str, str]:
    """Environment variables that point boto3 (and the Lambda code) at ``endpoint_url``."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_DEFAULT_REGION": LOCAL_REGION,
        "AWS_REGION": LOCAL_REGION,
        # moto accepts any credentials; fixed fake ones keep boto3 from searching the machine for real ones.
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }


_WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
#: The header naming a DynamoDB operation (JSON protocol).
_DYNAMODB_TARGET = "DynamoDB_"


class _AtomicDynamoDB:
    """WSGI middleware: one DynamoDB request at a time.

    DynamoDB applies each write, its condition included, atomically. moto's threaded server does not:
    two concurrent conditional writes to one item can both pass their condition (measured: 144 of 200
    racing claims both won). Serialising DynamoDB requests restores the guarantee; other services (an
    SQS long poll, say) are not held up.
    """

    def __init__(self, app: _WsgiApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith(_DYNAMODB_TARGET):
            return self._app(environ, start_response)
        with self._lock:
            return list(self._app(environ, start_response))


class _MotoServer(ThreadedMotoServer):
    """moto's threaded server, with DynamoDB's write atomicity (:class:`_AtomicDynamoDB`)."""

    def _server_entry(self) -> None:
        app = _AtomicDynamoDB(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()


@contextmanager
def running_moto_server(host: str = "127.0.0.1", port: int = 0) -> Iterator[MotoServer]:
    """Start moto on ``host``:``port`` (0: a free port) in a thread; stop it on exit."""
    # werkzeug logs every request at INFO on stderr; the stack's users want their own output, not moto's.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = _MotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    try:
        bound_host, bound_port = server.get_host_and_port()
        yield MotoServer(endpoint_url=f"http://{bound_host}:{bound_port}")
    finally:
        server.stop()
