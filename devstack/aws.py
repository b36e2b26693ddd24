"""moto in server mode on loopback: the local stand-in for SQS, Secrets Manager and DynamoDB.

Used by tests, the demo and benchmarks. boto3 is pointed at it through the standard endpoint variables
(``AWS_ENDPOINT_URL``), exactly as a user points a Lambda at LocalStack or moto.
"""

from __future__ import annotations

import copy
import logging
import threading
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import moto.dynamodb.models as moto_dynamodb
from moto.dynamodb.exceptions import MockValidationException
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
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


class _ItemSnapshot:
    """What one item of a table was before a transaction touched it (None: absent)."""

    def __init__(self, table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> None:
        self.table, self.hash_key, self.range_key = table, hash_key, range_key
        self.item: Item | None = copy.deepcopy(table.get_item(hash_key, range_key))

    def restore(self) -> None:
        if self.item is None:
            self.table.delete_item(self.hash_key, self.range_key)
        else:
            self.table.put_item(self.item.to_json()["Attributes"], overwrite=True)


def _snapshots(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> list[_ItemSnapshot]:
    snapshots: list[_ItemSnapshot] = []
    for entry in transact_items:
        for operation, request in entry.items():
            table = backend.tables.get(str(request.get("TableName"))) if isinstance(request, dict) else None
            if table is None:
                continue  # moto answers for the unknown table
            key = request.get("Item", {}) if operation == "Put" else request.get("Key", {})
            try:
                snapshots.append(_ItemSnapshot(table, *backend.get_keys_value(table, key)))
            except (MockValidationException, TypeError):
                continue  # moto answers for the malformed key; nothing of it is written
    return snapshots


#: moto's module namespace sees this as ``copy`` during a transaction: its tables are not copied.
_NO_TABLE_COPIES = types.SimpleNamespace(
    deepcopy=lambda value, memo=None: value if isinstance(value, Table) else copy.deepcopy(value, memo)
)


def _rollback_touched_items_only() -> None:
    """moto's TransactWriteItems copies every table it touches, whole, before it starts (its rollback
    point), so a transaction costs time in proportion to the table: half a second at 1,000 items on these
    machines, where DynamoDB's cost does not grow with the table. Snapshot the items the transaction
    names instead, and let moto do the rest as it does; a failed transaction restores those items.
    Item-level snapshots suffice: each action of a transaction names its one item, and moto's
    transaction touches nothing else but stream records, which this project's tables do not have.
    Tables are not copied while the swapped ``copy`` is in place; DynamoDB requests run one at a time
    (:class:`_AtomicDynamoDB`), and anything else moto copies is still copied. Applied once per process.
    """
    original = DynamoDBBackend.transact_write_items
    if getattr(original, "_rolls_back_items", False):
        return

    def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
        snapshots = _snapshots(self, transact_items)
        namespace = vars(moto_dynamodb)
        namespace["copy"] = _NO_TABLE_COPIES
        try:
            original(self, transact_items)
        except Exception:
            for snapshot in reversed(snapshots):
                snapshot.restore()
            raise
        finally:
            namespace["copy"] = copy

    transact_write_items._rolls_back_items = True  # type: ignore[attr-defined]
    transact_write_items.__wrapped__ = original  # type: ignore[attr-defined]
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


class _MotoServer(ThreadedMotoServer):
    """moto's threaded server, with DynamoDB's write atomicity (:class:`_AtomicDynamoDB`) and
    transactions whose cost does not grow with the table (:func:`_rollback_touched_items_only`)."""

    def _server_entry(self) -> None:
        _rollback_touched_items_only()
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
