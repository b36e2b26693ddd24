"""The issue message contract: what a producer puts on the issue queue, parsed and checked.

An SQS message body is JSON::

    {"clientKey": "<tenant>",
     "idempotencyKey": "<optional; default: the SQS messageId>",
     "actAsUser": "<optional Atlassian accountId>",
     "issue": {"fields": {...}, "update": {...}, "properties": [...], ...}}

The contract is a JSON Schema shipped with the layer (``schemas/issue_message.schema.json``; producers can
validate against the same file, see :func:`issue_message_schema`), compiled once with fastjsonschema.
``issue`` is Jira's own create-issue body and passes through untouched: the schema only checks what the
worker itself relies on (a project and an issue type to address, the shape of ``properties``), and leaves
the fields to Jira, which knows the tenant's screens.

Parsing, step by step:

1. Decode the body as JSON (NaN and Infinity are refused: they are not JSON and Jira would refuse them).
2. Validate against the schema; the first violation becomes :class:`InvalidMessage` naming the field path.
3. Pick the idempotency key: the body's ``idempotencyKey``, else the key a previous delivery carried in
   the ``IdempotencyKey`` message attribute (a throttled message re-sent by the worker keeps its key),
   else the SQS messageId. The key is scoped by clientKey wherever it is stored.

Inputs are never mutated; the returned message holds the decoded body's ``issue`` as is.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Final

import fastjsonschema

from jira_connect.errors import InvalidMessage

__all__ = [
    "SCHEMA_FILE",
    "IssueMessage",
    "client_key_hint",
    "issue_message_schema",
    "parse_issue_message",
    "validate_issue_message",
]

SCHEMA_FILE: Final = "issue_message.schema.json"
#: Rules whose fastjsonschema message ("cannot be validated by any definition") says nothing by itself.
_OPAQUE_RULES: Final = frozenset({"anyOf", "oneOf", "not"})
#: Where the message points when the whole body is at fault.
_BODY_PATH: Final = "(body)"


@dataclass(frozen=True)
class IssueMessage:
    """A valid issue message. ``idempotency_key`` is already resolved (see the module docstring)."""

    client_key: str
    idempotency_key: str
    issue: Mapping[str, Any] = field(repr=False)
    act_as_user: str | None = None


def issue_message_schema() -> dict[str, Any]:
    """The contract as a JSON Schema document (a fresh copy: callers may change it freely)."""
    text = resources.files("jira_connect").joinpath("schemas", SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _validator() -> Callable[[Any], Any]:
    # Compiled on first use, then kept for the life of the execution environment.
    return fastjsonschema.compile(issue_message_schema())


def validate_issue_message(document: Any) -> None:
    """Raise :class:`InvalidMessage` unless ``document`` (decoded JSON) meets the contract."""
    try:
        _validator()(document)
    except fastjsonschema.JsonSchemaValueException as e:
        path = _field_path(e.path)
        raise InvalidMessage("issue message breaks the contract", errors={path: _problem(e)}) from e


def parse_issue_message(
    body: str, *, message_id: str, carried_idempotency_key: str | None = None
) -> IssueMessage:
    """The :class:`IssueMessage` in an SQS ``body``, or :class:`InvalidMessage` saying what is wrong."""
    document = _decode(body)
    validate_issue_message(document)
    idempotency_key = document.get("idempotencyKey") or carried_idempotency_key or message_id
    return IssueMessage(
        client_key=document["clientKey"],
        idempotency_key=idempotency_key,
        issue=document["issue"],
        act_as_user=document.get("actAsUser"),
    )


def client_key_hint(body: str) -> str | None:
    """The ``clientKey`` of a body that failed the contract, if it names one (for the dead letter)."""
    try:
        document = json.loads(body)
    except ValueError:
        return None
    value = document.get("clientKey") if isinstance(document, dict) else None
    return value if isinstance(value, str) and value else None


def _decode(body: str) -> Any:
    try:
        return json.loads(body, parse_constant=_refuse_constant)
    except ValueError as e:
        # json's messages name the position, never echo the body (which may hold anything).
        raise InvalidMessage("issue message is not JSON", errors={_BODY_PATH: str(e)}) from e


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _field_path(path: Any) -> str:
    # fastjsonschema's path is ["data", "issue", "fields", ...]; list indexes appear as ints.
    parts = [str(p) for p in (path or [])[1:]]
    return ".".join(parts) or _BODY_PATH


def _problem(error: fastjsonschema.JsonSchemaValueException) -> str:
    # "data.issue.fields must contain ['project'] properties" -> "must contain ['project'] properties".
    # The message never includes the offending value, only the rule.
    text = error.message.removeprefix(error.name).strip() if error.name else error.message
    hint = error.definition.get("description") if isinstance(error.definition, Mapping) else None
    if error.rule in _OPAQUE_RULES and hint:
        return f"{text} (expected {hint})"
    return text
