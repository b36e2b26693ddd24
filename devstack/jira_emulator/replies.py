"""Replies and the one exception type that becomes an HTTP error, in Jira's shapes (spec E2).

Handlers return a :class:`Reply` or raise :class:`JiraError`; the pipeline turns both into responses in
one place. Jira's error body is the ErrorCollection ``{"errorMessages": [...], "errors": {...}}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "HTML",
    "JSON",
    "TEXT",
    "JiraError",
    "Reply",
    "error_collection",
    "json_reply",
]

JSON = "application/json;charset=UTF-8"
HTML = "text/html;charset=UTF-8"
TEXT = "text/plain;charset=UTF-8"


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes = b""
    content_type: str | None = JSON
    headers: dict[str, str] = field(default_factory=dict)


def json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, _dumps(payload), JSON, headers or {})


def error_collection(messages: Sequence[str] = (), errors: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {"errorMessages": list(messages), "errors": dict(errors or {})}


class JiraError(Exception):
    """An error answer. By default the body is an ErrorCollection of ``messages`` and ``errors``."""

    def __init__(
        self,
        status: int,
        messages: Sequence[str] = (),
        errors: Mapping[str, str] | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        content_type: str | None = JSON,
        reason: str | None = None,
    ) -> None:
        super().__init__(reason or "; ".join([*messages, *(errors or {}).values()]) or str(status))
        self.status = status
        self.messages = tuple(messages)
        self.errors = dict(errors or {})
        self.headers = dict(headers or {})
        self.body = body
        self.content_type = content_type
        #: Why, for the stats/limits bookkeeping (e.g. the RateLimit-Reason of a 429).
        self.reason = reason

    def to_reply(self) -> Reply:
        if self.body is not None:
            return Reply(self.status, self.body, self.content_type, dict(self.headers))
        return Reply(
            self.status, _dumps(error_collection(self.messages, self.errors)), JSON, dict(self.headers)
        )


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _dumps(payload: Any) -> bytes:
    # One encoder for all: json.dumps with options builds a new one per call.
    return _ENCODER.encode(payload).encode("utf-8")
