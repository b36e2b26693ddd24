"""Injected faults (``POST /__emu/faults``), scoped to a tenant and/or an endpoint, for the next ``count``
matching requests and/or with a ``probability``.

Modes:
* ``latency``: wait ``latencyMs`` (+ up to ``jitterMs``) before handling; latency faults add up.
* ``error_before_commit``: answer ``status`` (default 500, e.g. 503 with ``retryAfter``) without acting.
* ``error_after_commit``: act (e.g. create the issue), then answer ``status`` (default 500).
* ``drop_after_commit``: act, then abort the connection without any response.
* ``rate_limit``: answer ``status`` (default 429) with ``Retry-After``/``X-RateLimit-Reset`` when
  ``retryAfter`` is given, ``RateLimit-Reason`` = ``reason`` (default ``jira-burst-based`` when
  ``retryAfter`` is given) and ``X-RateLimit-Limit`` when ``limit`` is given; with neither, a bare 429.
Faults are tried in the order they were added; the first error-type fault that fires wins.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["AFTER_COMMIT", "FAULT_MODES", "Fault", "FaultBook", "FaultError", "parse_fault"]

FaultMode = Literal["latency", "error_before_commit", "error_after_commit", "drop_after_commit", "rate_limit"]
FAULT_MODES: tuple[FaultMode, ...] = (
    "latency",
    "error_before_commit",
    "error_after_commit",
    "drop_after_commit",
    "rate_limit",
)
AFTER_COMMIT = frozenset({"error_after_commit", "drop_after_commit"})
_DEFAULT_STATUS = {"error_before_commit": 500, "error_after_commit": 500, "rate_limit": 429}
_FIELDS = frozenset(
    {
        "mode", "clientKey", "endpoint", "status", "retryAfter", "latencyMs", "jitterMs", "count",
        "probability", "message", "reason", "limit",
    }
)  # fmt: skip


class FaultError(ValueError):
    """The fault definition is invalid; the message names the field."""


@dataclass(slots=True)
class Fault:
    id: int
    mode: FaultMode
    client_key: str | None = None
    endpoint: str | None = None
    status: int | None = None
    retry_after: int | None = None
    latency_ms: int = 0
    jitter_ms: int = 0
    count: int | None = None
    probability: float | None = None
    message: str | None = None
    reason: str | None = None
    limit: int | None = None
    fired: int = 0

    def applies_to(self, client_key: str | None, endpoint_names: frozenset[str]) -> bool:
        if self.client_key is not None and self.client_key != client_key:
            return False
        return self.endpoint is None or self.endpoint in endpoint_names

    def rate_limit_reason(self) -> str | None:
        if self.reason is not None:
            return self.reason or None
        return "jira-burst-based" if self.retry_after is not None else None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "mode": self.mode,
            "clientKey": self.client_key,
            "endpoint": self.endpoint,
            "status": self.status,
            "retryAfter": self.retry_after,
            "latencyMs": self.latency_ms,
            "jitterMs": self.jitter_ms,
            "count": self.count,
            "probability": self.probability,
            "message": self.message,
            "reason": self.reason,
            "limit": self.limit,
            "fired": self.fired,
        }


def parse_fault(body: Any, fault_id: int) -> Fault:
    """A :class:`Fault` from a ``POST /__emu/faults`` body."""
    if not isinstance(body, Mapping):
        raise FaultError("the fault must be a JSON object")
    unknown = set(body) - _FIELDS
    if unknown:
        raise FaultError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
    mode = body.get("mode")
    if mode not in FAULT_MODES:
        raise FaultError(f"mode must be one of {', '.join(FAULT_MODES)}")
    status = _int(body, "status", 400, 599)
    if status is None:
        status = _DEFAULT_STATUS.get(mode)
    probability = body.get("probability")
    if probability is not None and (
        isinstance(probability, bool) or not isinstance(probability, int | float) or not 0 <= probability <= 1
    ):
        raise FaultError("probability must be a number from 0 to 1")
    return Fault(
        id=fault_id,
        mode=mode,
        client_key=_str(body, "clientKey"),
        endpoint=_str(body, "endpoint"),
        status=status,
        retry_after=_int(body, "retryAfter", 0, 86400),
        latency_ms=_int(body, "latencyMs", 0, 600_000) or 0,
        jitter_ms=_int(body, "jitterMs", 0, 600_000) or 0,
        count=_int(body, "count", 1, 10**9),
        probability=None if probability is None else float(probability),
        message=_str(body, "message"),
        reason=_str(body, "reason"),
        limit=_int(body, "limit", 0, 10**9),
    )


class FaultBook:
    """The active faults, in the order they were added."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._rng = rng or random.Random()

    def __bool__(self) -> bool:
        return bool(self._faults)

    def add(self, body: Any) -> Fault:
        fault = parse_fault(body, next(self._ids))
        self._faults.append(fault)
        return fault

    def clear(self) -> None:
        self._faults.clear()

    def to_json(self) -> list[dict[str, Any]]:
        return [f.to_json() for f in self._faults]

    def draw(self, client_key: str | None, endpoint_names: frozenset[str]) -> tuple[float, Fault | None]:
        """Seconds of injected latency and the error fault (if any) for one request; counts them down."""
        latency = 0.0
        chosen: Fault | None = None
        for fault in list(self._faults):
            if (chosen is not None and fault.mode != "latency") or not fault.applies_to(
                client_key, endpoint_names
            ):
                continue
            if fault.probability is not None and self._rng.random() >= fault.probability:
                continue
            self._fire(fault)
            if fault.mode == "latency":
                latency += (fault.latency_ms + self._rng.uniform(0, fault.jitter_ms)) / 1000
            else:
                chosen = fault
        return latency, chosen

    def _fire(self, fault: Fault) -> None:
        fault.fired += 1
        if fault.count is not None:
            fault.count -= 1
            if fault.count <= 0:
                self._faults.remove(fault)


def _str(body: Mapping[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise FaultError(f"{name} must be a string")
    return value


def _int(body: Mapping[str, Any], name: str, low: int, high: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise FaultError(f"{name} must be an integer from {low} to {high}")
    return value
