"""What ``GET /__emu/stats`` reports; other tools and benchmarks depend on this exact shape.

``{"requests": {owner: {"<METHOD> <route template>": {"<status>": n}}}, "rateLimited": {reason: n},
"issuesCreated": {clientKey: n}, "duplicates": [{"clientKey", "propertyKey", "value", "issueKeys"}],
"pointsUsed": {clientKey: n}, "quota": {...}, "connectionsOpened": n, "connectionsAccepted": n,
"connectionsActive": n}``. ``owner`` is the clientKey of the authenticated tenant, else ``anonymous``.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterable
from typing import Any

from devstack.jira_emulator.model import Tenant

__all__ = ["ANONYMOUS_OWNER", "DROPPED", "Stats", "duplicates"]

ANONYMOUS_OWNER = "anonymous"
#: The status recorded for a request whose connection was dropped on purpose.
DROPPED = "dropped"


class Stats:
    """Counters since start or the last reset."""

    def __init__(self) -> None:
        self.requests: dict[str, dict[str, dict[str, int]]] = {}
        self.rate_limited: dict[str, int] = {}
        self.issues_created: dict[str, int] = {}
        self.points_used: dict[str, int] = {}
        self.connections_accepted = 0
        self.connections_opened = 0
        self._transports: weakref.WeakSet[object] = weakref.WeakSet()

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]

    def record(self, owner: str, route: str, status: str) -> None:
        by_route = self.requests.get(owner)
        if by_route is None:
            by_route = self.requests[owner] = {}
        by_status = by_route.get(route)
        if by_status is None:
            by_status = by_route[route] = {}
        by_status[status] = by_status.get(status, 0) + 1

    def record_rate_limited(self, reason: str | None) -> None:
        key = reason or "none"
        self.rate_limited[key] = self.rate_limited.get(key, 0) + 1

    def record_created(self, client_key: str, count: int = 1) -> None:
        self.issues_created[client_key] = self.issues_created.get(client_key, 0) + count

    def record_points(self, client_key: str, points: int) -> None:
        self.points_used[client_key] = self.points_used.get(client_key, 0) + points

    def record_connection(self, transport: object) -> None:
        """Count a TCP connection the first time it carries a Jira or OAuth request (not the control
        surface), so a client's keep-alive reuse shows as one connection."""
        if transport is not None and transport not in self._transports:
            self._transports.add(transport)
            self.connections_opened += 1

    def to_json(self, tenants: Iterable[Tenant]) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "rateLimited": self.rate_limited,
            "issuesCreated": self.issues_created,
            "duplicates": duplicates(tenants),
            "pointsUsed": self.points_used,
            "connectionsOpened": self.connections_opened,
            "connectionsAccepted": self.connections_accepted,
        }


def duplicates(tenants: Iterable[Tenant]) -> list[dict[str, Any]]:
    """Issues of one tenant that share the same (entity property key, JSON value)."""
    found: list[dict[str, Any]] = []
    for tenant in tenants:
        groups: dict[tuple[str, str], list[str]] = {}
        values: dict[tuple[str, str], Any] = {}
        for issue in tenant.issues.values():
            for key, value in issue.properties.items():
                group = (key, json.dumps(value, sort_keys=True, separators=(",", ":")))
                groups.setdefault(group, []).append(issue.key)
                values[group] = value
        found.extend(
            {
                "clientKey": tenant.client_key,
                "propertyKey": key,
                "value": values[(key, text)],
                "issueKeys": keys,
            }
            for (key, text), keys in groups.items()
            if len(keys) > 1
        )
    return found
