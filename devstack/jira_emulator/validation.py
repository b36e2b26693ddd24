"""Create-issue validation, in Jira's order (spec E3), and entity property limits (spec E7).

1. The caller: anonymous callers get the anonymous answer (spec E1).
2. ``fields.project``: present, known and browsable.
3. CREATE_ISSUES in that project, else field-not-on-screen errors (or 403).
4. ``fields.issuetype``: present and in the project's scheme; a sub-task needs ``parent`` in the same project.
5. Every field is on the create screen.
6. ``summary``: present, shorter than 255 characters, one line.
7. ``description``, ``environment``, textarea fields: an ADF document in v3, a string in v2.
8. The other values: labels, priority, users, components, dates, custom field types.
9. Required fields are present.
Errors of steps 2 and 4-9 are collected into one 400. Properties in the body are checked as well, so the
issue and its properties are committed together or not at all.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from devstack.jira_emulator.config import AnonymousConfig, JiraBehaviourConfig
from devstack.jira_emulator.fields import FieldDef, screen_fields
from devstack.jira_emulator.model import DEFAULT_PRIORITIES, Issue, IssueType, Principal, Project, Tenant
from devstack.jira_emulator.replies import JiraError
from devstack.jira_emulator.shapes import (
    api_url,
    issue_type_json,
    jira_time,
    priority_json,
    project_ref_json,
    status_json,
    user_json,
)

__all__ = [
    "FIELD_NOT_ON_SCREEN",
    "CreateContext",
    "CreatePlan",
    "check_property_key",
    "check_property_value",
    "plan_create",
    "stored_fields",
]

FIELD_NOT_ON_SCREEN = "Field '{0}' cannot be set. It is not on the appropriate screen, or unknown."
NO_PROJECT = "Specify a valid project ID or key"
LEGACY_NO_PROJECT = "project is required"
NO_ISSUE_TYPE = "Specify an issue type"
SELECTED_TYPE_INVALID = "The issue type selected is invalid."
SUBTASK_OTHER_PROJECT = "Sub-tasks must be created in the same project as the parent."
NO_PARENT = "Could not find issue by id or key."
NO_SUMMARY = "You must specify a summary of the issue."
SUMMARY_TOO_LONG = "Summary must be less than 255 characters."
SUMMARY_NEWLINE = "The summary is invalid because it contains newline characters."
NOT_ADF = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
NOT_STRING = "Operation value must be a string"
BAD_PRIORITY = "Specify the Priority (name) in the string format"
BAD_COMPONENTS = "Please provide Component"
ANONYMOUS_SERVER_STYLE = (
    "Anonymous users do not have permission to create issues in this project. Please try logging in first."
)
ANONYMOUS_401 = "You are not authenticated. Authentication required to perform this operation."
# Synthetic wordings (no observed Jira text): marked as such in devstack/README.md.
NO_CREATE_PERMISSION = "You do not have permission to create issues in this project."
BAD_USER = "Specify a valid value for {0}"
NOT_NUMBER = "Operation value must be a number"
NOT_ARRAY = "Operation value must be an array"
BAD_LABEL_SPACE = "The label '{0}' contains spaces which is invalid."
BAD_LABEL_LENGTH = "The label '{0}' exceeds the 255 character limit."
BAD_DATE = "Error parsing date string: {0}"
BAD_DATETIME = "Error parsing time: {0}"
BAD_OPTION = "Option value '{0}' is not valid"
BAD_OPTION_SHAPE = "Specify a valid 'id' or 'name' for {0}"

_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
MAX_SUMMARY = 254
MAX_LABEL = 255
MAX_PROPERTY_KEY = 255
MAX_PROPERTY_VALUE = 32768
_FREE_FIELDS = ("project", "issuetype")


@dataclass(frozen=True, slots=True)
class CreateContext:
    tenant: Tenant
    principal: Principal
    version: str
    jira: JiraBehaviourConfig
    anonymous: AnonymousConfig


@dataclass(frozen=True, slots=True)
class CreatePlan:
    """A create that passed validation: what to commit."""

    project: Project
    issue_type: IssueType
    values: dict[str, Any]
    properties: dict[str, Any]
    parent: Issue | None


def plan_create(body: Any, ctx: CreateContext) -> CreatePlan:
    """Validate one IssueUpdateDetails; raise :class:`JiraError` with Jira's errors if it fails."""
    if not isinstance(body, dict):
        raise JiraError(400, ["Request body must be a JSON object (IssueUpdateDetails)."])
    fields = _fields_with_updates(body)
    if not ctx.principal.authenticated:
        _reject_anonymous(fields, ctx.anonymous)
    errors: dict[str, str] = {}
    project = _resolve_project(fields, ctx, errors)
    if project is not None and not ctx.principal.can(project, "CREATE_ISSUES"):
        _reject_no_create_permission(fields, ctx.jira)
    issue_type = _resolve_issue_type(fields, project, ctx, errors)
    parent = _resolve_parent(fields, project, issue_type, ctx, errors)
    values: dict[str, Any] = {}
    messages: list[str] = []
    if project is not None and issue_type is not None:
        screen = screen_fields(ctx.tenant, project, issue_type)
        _check_screen(fields, screen, errors)
        values = _check_values(fields, screen, ctx, errors)
        _check_required(fields, screen, ctx.jira, errors, messages)
    _check_summary(fields.get("summary"), ctx.jira, errors)
    properties = _parse_properties(body.get("properties"), messages)
    if errors or messages or project is None or issue_type is None:
        raise JiraError(400, messages, errors)
    values["summary"] = fields["summary"]
    return CreatePlan(project, issue_type, values, properties, parent)


def stored_fields(plan: CreatePlan, ctx: CreateContext, now: float) -> dict[str, Any]:
    """The fields an issue is stored (and returned) with: given values plus Jira's defaults."""
    tenant, version = ctx.tenant, ctx.version
    caller = ctx.principal.user or tenant.bot
    created = jira_time(now)
    fields: dict[str, Any] = {
        "issuetype": issue_type_json(tenant, version, plan.issue_type),
        "project": project_ref_json(tenant, version, plan.project),
        "status": status_json(tenant, version),
        "priority": priority_json(tenant, version, DEFAULT_PRIORITIES[2]),
        "labels": [],
        "components": [],
        "fixVersions": [],
        "versions": [],
        "assignee": None,
        "description": None,
        "environment": None,
        "duedate": None,
        "reporter": user_json(tenant, version, caller),
        "creator": user_json(tenant, version, caller),
        "created": created,
        "updated": created,
    }
    fields.update(plan.values)
    if plan.parent is not None:
        fields["parent"] = {
            "id": plan.parent.id,
            "key": plan.parent.key,
            "self": api_url(tenant, version, f"issue/{plan.parent.id}"),
            "fields": {
                "summary": plan.parent.fields.get("summary"),
                "issuetype": plan.parent.fields.get("issuetype"),
            },
        }
    return fields


def check_property_key(key: Any) -> str | None:
    """Why ``key`` cannot name an entity property, or None."""
    if not isinstance(key, str) or not key:
        return "The property key cannot be empty."
    if len(key) > MAX_PROPERTY_KEY:
        return f"The property key cannot be longer than {MAX_PROPERTY_KEY} characters."
    return None


def check_property_value(value: Any) -> str | None:
    """Why ``value`` cannot be stored as an entity property, or None (non-empty JSON, <= 32,768 chars)."""
    if value is None:
        return "The property value cannot be null."
    if len(_COMPACT_JSON.encode(value)) > MAX_PROPERTY_VALUE:
        return f"The property value cannot be longer than {MAX_PROPERTY_VALUE} characters."
    return None


# -- steps ---------------------------------------------------------------------------------------------


def _fields_with_updates(body: Mapping[str, Any]) -> dict[str, Any]:
    raw = body.get("fields") or {}
    if not isinstance(raw, dict):
        raise JiraError(400, ["'fields' must be a JSON object."])
    fields = dict(raw)
    update = body.get("update") or {}
    if isinstance(update, dict):
        for field_id, operations in update.items():
            if field_id not in fields and isinstance(operations, list):
                fields[field_id] = _apply_operations(operations)
    return fields


def _apply_operations(operations: list[Any]) -> Any:
    """``update`` operations on an empty value: ``set`` replaces, ``add`` appends."""
    value: Any = None
    for operation in operations:
        if not isinstance(operation, dict):
            continue
        if "set" in operation:
            value = operation["set"]
        elif "add" in operation:
            value = [*(value if isinstance(value, list) else []), operation["add"]]
    return value


def _reject_anonymous(fields: Mapping[str, Any], config: AnonymousConfig) -> None:
    if config.create_mode == "server_style":
        raise JiraError(400, [ANONYMOUS_SERVER_STYLE])
    if config.create_mode == "401":
        raise JiraError(401, [ANONYMOUS_401])
    errors = {k: FIELD_NOT_ON_SCREEN.format(k) for k in fields if k not in _FREE_FIELDS}
    raise JiraError(400, [], errors or {"project": NO_PROJECT})


def _reject_no_create_permission(fields: Mapping[str, Any], config: JiraBehaviourConfig) -> None:
    if config.no_create_permission_mode == "403":
        raise JiraError(403, [NO_CREATE_PERMISSION])
    errors = {k: FIELD_NOT_ON_SCREEN.format(k) for k in fields if k not in _FREE_FIELDS}
    raise JiraError(400, [], errors)


def _resolve_project(fields: Mapping[str, Any], ctx: CreateContext, errors: dict[str, str]) -> Project | None:
    ref = fields.get("project")
    if ref is None:
        errors["project"] = NO_PROJECT if ctx.jira.project_missing_wording == "cloud" else LEGACY_NO_PROJECT
        return None
    project = None
    if isinstance(ref, dict) and "id" in ref:
        found = ctx.tenant.project(str(ref["id"]))
        project = found if found is not None and found.id == str(ref["id"]) else None
    elif isinstance(ref, dict) and isinstance(ref.get("key"), str):
        found = ctx.tenant.project(ref["key"])
        project = found if found is not None and found.key == ref["key"] else None
    if project is None or not ctx.principal.can(project, "BROWSE"):
        errors["project"] = NO_PROJECT
        return None
    return project


def _resolve_issue_type(
    fields: Mapping[str, Any], project: Project | None, ctx: CreateContext, errors: dict[str, str]
) -> IssueType | None:
    ref = fields.get("issuetype")
    if ref in (None, "", {}):
        errors["issuetype"] = NO_ISSUE_TYPE
        return None
    if project is None:
        return None
    issue_type = project.issue_type(ref) if isinstance(ref, dict) else None
    if issue_type is None:
        errors["issuetype"] = ctx.jira.invalid_issue_type_message
    return issue_type


def _resolve_parent(
    fields: Mapping[str, Any],
    project: Project | None,
    issue_type: IssueType | None,
    ctx: CreateContext,
    errors: dict[str, str],
) -> Issue | None:
    ref = fields.get("parent")
    if ref is None:
        if issue_type is not None and issue_type.subtask:
            errors["issuetype"] = SELECTED_TYPE_INVALID
        return None
    parent = None
    if isinstance(ref, dict):
        parent = ctx.tenant.issue(str(ref.get("key") or ref.get("id") or ""))
    if parent is None:
        errors["parent"] = NO_PARENT
    elif (
        issue_type is not None
        and issue_type.subtask
        and project is not None
        and parent.project is not project
    ):
        errors["project"] = SUBTASK_OTHER_PROJECT
    return parent


def _check_screen(fields: Mapping[str, Any], screen: Mapping[str, FieldDef], errors: dict[str, str]) -> None:
    for field_id in fields:
        if field_id not in screen:
            errors[field_id] = FIELD_NOT_ON_SCREEN.format(field_id)


def _check_summary(summary: Any, config: JiraBehaviourConfig, errors: dict[str, str]) -> None:
    if summary is None or (isinstance(summary, str) and not summary.strip()):
        errors["summary"] = NO_SUMMARY
    elif not isinstance(summary, str):
        errors["summary"] = NOT_STRING
    elif len(summary) > MAX_SUMMARY:
        errors["summary"] = SUMMARY_TOO_LONG
    elif config.reject_summary_newlines and ("\n" in summary or "\r" in summary):
        errors["summary"] = SUMMARY_NEWLINE


def _check_values(
    fields: Mapping[str, Any], screen: Mapping[str, FieldDef], ctx: CreateContext, errors: dict[str, str]
) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field_id, value in fields.items():
        definition = screen.get(field_id)
        if definition is None or field_id in errors or definition.kind in _NOT_VALUES:
            continue
        check = _VALUE_CHECKS.get(definition.kind)
        if check is None:
            values[field_id] = value
            continue
        problem, stored = check(value, definition, ctx)
        if problem is None:
            values[field_id] = stored
        else:
            errors[field_id] = problem
    return values


def _check_required(
    fields: Mapping[str, Any],
    screen: Mapping[str, FieldDef],
    config: JiraBehaviourConfig,
    errors: dict[str, str],
    messages: list[str],
) -> None:
    for definition in screen.values():
        if not definition.required or definition.has_default or definition.kind in _NOT_VALUES:
            continue
        if definition.id == "summary" or fields.get(definition.id) not in (None, "", [], {}):
            continue
        if config.required_field_style == "errors":
            errors.setdefault(definition.id, f"{definition.name} is required.")
        else:
            messages.append(f"Field '{definition.id}' is required")


def _parse_properties(raw: Any, messages: list[str]) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, list):
        messages.append("'properties' must be an array of {key, value} objects.")
        return {}
    properties: dict[str, Any] = {}
    for item in raw:
        entry = item if isinstance(item, dict) else {}
        problem = check_property_key(entry.get("key")) or check_property_value(entry.get("value"))
        if problem is not None:
            messages.append(problem)
        else:
            properties[entry["key"]] = entry["value"]
    return properties


# -- value checks: (problem or None, value to store) ---------------------------------------------------

Check = Callable[[Any, FieldDef, CreateContext], tuple[str | None, Any]]
_NOT_VALUES = frozenset({"summary", "issuetype", "project", "parent"})


def _rich_text(value: Any, definition: FieldDef, ctx: CreateContext) -> tuple[str | None, Any]:
    if value is None:
        return None, None
    if ctx.version == "2":
        return (None, value) if isinstance(value, str) else (NOT_STRING, None)
    is_doc = (
        isinstance(value, dict)
        and value.get("type") == "doc"
        and value.get("version") == 1
        and isinstance(value.get("content"), list)
    )
    return (None, value) if is_doc else (NOT_ADF, None)


def _labels(value: Any, definition: FieldDef, ctx: CreateContext) -> tuple[str | None, Any]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return NOT_ARRAY, None
    for label in value:
        if " " in label:
            return BAD_LABEL_SPACE.format(label), None
        if len(label) > MAX_LABEL:
            return BAD_LABEL_LENGTH.format(label), None
    return None, list(value)


def _priority(value: Any, definition: FieldDef, ctx: CreateContext) -> tuple[str | None, Any]:
    if isinstance(value, dict):
        for priority in DEFAULT_PRIORITIES:
            if str(value.get("id")) == priority.id or value.get("name") == priority.name:
                return None, priority_json(ctx.tenant, ctx.version, priority)
    return BAD_PRIORITY, None


def _user(value: Any, definition: FieldDef, ctx: CreateContext) -> tuple[str | None, Any]:
    if value is None and definition.id != "reporter":
        return None, None
    account_id = value.get("accountId", value.get("id")) if isinstance(value, dict) else None
    user = ctx.tenant.users.get(account_id) if isinstance(account_id, str) else None
    if user is None:
        return BAD_USER.format(definition.id), None
    return None, user_json(ctx.tenant, ctx.version, user)


def _objects(value: Any, definition: FieldDef, ctx: CreateContext) -> tuple[str | None, Any]:
    valid = isinstance(value, list) and all(isinstance(v, dict) and ("id" in v or "name" in v) for v in value)
    if valid:
        return None, list(value)
    return (BAD_COMPONENTS if definition.kind == "components" else NOT_ARRAY), None


def _date(value: Any, definition: FieldDef, ctx: CreateContext) -> tuple[str | None, Any]:
    if value is None:
        return None, None
    try:
        dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return BAD_DATE.format(value), None
    return None, value


def _datetime(value: Any, definition: FieldDef, ctx: CreateContext) -> tuple[str | None, Any]:
    try:
        dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return BAD_DATETIME.format(value), None
    return None, value


def _string(value: Any, definition: FieldDef, ctx: CreateContext) -> tuple[str | None, Any]:
    return (None, value) if isinstance(value, str) else (NOT_STRING, None)


def _number(value: Any, definition: FieldDef, ctx: CreateContext) -> tuple[str | None, Any]:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    return (None, value) if ok else (NOT_NUMBER, None)


def _string_array(value: Any, definition: FieldDef, ctx: CreateContext) -> tuple[str | None, Any]:
    ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    return (None, list(value)) if ok else (NOT_ARRAY, None)


def _option(value: Any, definition: FieldDef, ctx: CreateContext) -> tuple[str | None, Any]:
    custom = ctx.tenant.custom_fields[definition.id]
    if not isinstance(value, dict) or not ("value" in value or "id" in value):
        return BAD_OPTION_SHAPE.format(definition.name), None
    for index, allowed in enumerate(custom.allowed_values, start=10000):
        if value.get("value") == allowed or str(value.get("id")) == str(index):
            return None, {"value": allowed, "id": str(index)}
    return BAD_OPTION.format(value.get("value", value.get("id"))), None


_VALUE_CHECKS: dict[str, Check] = {
    "rich_text": _rich_text,
    "labels": _labels,
    "priority": _priority,
    "user": _user,
    "components": _objects,
    "objects": _objects,
    "date": _date,
    "custom_string": _string,
    "custom_number": _number,
    "custom_option": _option,
    "custom_array": _string_array,
    "custom_date": _date,
    "custom_datetime": _datetime,
    "custom_user": _user,
}
