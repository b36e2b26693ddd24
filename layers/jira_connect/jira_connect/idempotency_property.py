"""The issue entity property that marks an issue with the idempotency key it was created for.

The issue worker writes it on every issue it creates (in the create request's ``properties``), and
searches for it before re-creating after an ambiguous failure. The app descriptor's
``jiraEntityProperties`` module asks Jira to index :data:`IDEMPOTENCY_PROPERTY_PATH` of it as an exact-match
string, so the search works in real Jira::

    issue.property[jira-issue-creator.idempotency].key = "<idempotency key>"

or, by its alias, ``issueCreatorIdempotencyKey = "<idempotency key>"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "IDEMPOTENCY_PROPERTY_ALIAS",
    "IDEMPOTENCY_PROPERTY_KEY",
    "IDEMPOTENCY_PROPERTY_PATH",
    "idempotency_jql",
    "idempotency_property",
    "with_idempotency_property",
]

IDEMPOTENCY_PROPERTY_KEY = "jira-issue-creator.idempotency"
#: The field of the property's value that Jira indexes (extraction ``objectName``).
IDEMPOTENCY_PROPERTY_PATH = "key"
#: The JQL alias the descriptor gives the indexed field.
IDEMPOTENCY_PROPERTY_ALIAS = "issueCreatorIdempotencyKey"
CLIENT_KEY_FIELD = "clientKey"


def idempotency_property(key: str, client_key: str | None = None) -> dict[str, Any]:
    """The entry for a create-issue body's ``properties`` list: ``{"key": ..., "value": {...}}``."""
    if not key:
        raise ValueError("an idempotency key must be a non-empty string")
    value: dict[str, Any] = {IDEMPOTENCY_PROPERTY_PATH: key}
    if client_key is not None:
        value[CLIENT_KEY_FIELD] = client_key
    return {"key": IDEMPOTENCY_PROPERTY_KEY, "value": value}


def with_idempotency_property(issue: Mapping[str, Any], key: str, client_key: str) -> dict[str, Any]:
    """A create-issue body with the idempotency property appended to its ``properties``, so that the
    mark is set atomically with the issue. ``issue`` itself is not changed (a shallow copy is made)."""
    marked = dict(issue)
    marked["properties"] = [*(issue.get("properties") or []), idempotency_property(key, client_key)]
    return marked


def idempotency_jql(key: str) -> str:
    """JQL that finds the issues created for ``key`` (the value quoted and escaped as a JQL string)."""
    if not key:
        raise ValueError("an idempotency key must be a non-empty string")
    return f"issue.property[{IDEMPOTENCY_PROPERTY_KEY}].{IDEMPOTENCY_PROPERTY_PATH} = {_jql_string(key)}"


def _jql_string(text: str) -> str:
    # JQL string literals: backslash escapes backslash and the quote; newlines as \n.
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    return f'"{escaped}"'
