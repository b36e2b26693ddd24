"""Small helpers shared by the route handlers: query parameters, visibility, the create context."""

from __future__ import annotations

from collections.abc import Iterable

from multidict import MultiMapping

from devstack.jira_emulator.model import Issue
from devstack.jira_emulator.pipeline import Call
from devstack.jira_emulator.replies import JiraError
from devstack.jira_emulator.validation import CreateContext

__all__ = [
    "ISSUE_NOT_FOUND",
    "create_context",
    "int_param",
    "list_param",
    "selected_fields",
    "visible_issue",
]

ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it."
_ALL_FIELDS = ("*all", "*navigable")


def create_context(call: Call) -> CreateContext:
    config = call.config
    return CreateContext(call.tenant, call.principal, call.version, config.jira, config.anonymous)


def visible_issue(call: Call, id_or_key: str) -> Issue:
    """The issue, if it exists and the caller may browse its project; else Jira's 404."""
    issue = call.tenant.issue(id_or_key)
    if issue is None or not call.principal.can(issue.project, "BROWSE"):
        raise JiraError(404, [ISSUE_NOT_FOUND])
    return issue


def list_param(query: MultiMapping[str], name: str) -> list[str]:
    """A list parameter sent repeated and/or comma-separated."""
    return [part.strip() for value in query.getall(name, []) for part in value.split(",") if part.strip()]


def int_param(query: MultiMapping[str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise JiraError(400, [f"The '{name}' parameter must be a number, got '{raw}'."]) from None
    if value < minimum:
        raise JiraError(400, [f"The '{name}' parameter must not be less than {minimum}."])
    return value


def selected_fields(
    requested: Iterable[str], available: Iterable[str], default: Iterable[str] | None
) -> set[str] | None:
    """The field ids to return: None for all. ``-name`` excludes; ``*all``/``*navigable`` mean all."""
    wanted = list(requested)
    if not wanted:
        return None if default is None else set(default)
    include = {f for f in wanted if not f.startswith("-")}
    exclude = {f[1:] for f in wanted if f.startswith("-")}
    if include.intersection(_ALL_FIELDS) or not include:
        return set(available) - exclude if exclude else None
    return include - exclude
