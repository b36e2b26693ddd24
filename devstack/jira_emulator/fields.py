"""The fields of a create screen: the standard system fields plus the tenant's custom fields.

Used twice: createmeta describes them (FieldCreateMetadata), and create-issue validates values against
them (spec E3 steps 5-9).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from devstack.jira_emulator.model import DEFAULT_PRIORITIES, CustomField, IssueType, Project, Tenant
from devstack.jira_emulator.shapes import issue_type_json, priority_json, project_ref_json

__all__ = ["STANDARD_SCREEN", "FieldDef", "field_metadata", "screen_fields"]


@dataclass(frozen=True, slots=True)
class FieldDef:
    id: str
    name: str
    #: How values are checked: summary, issuetype, project, rich_text, labels, priority, user,
    #: components, date, parent, objects, and the custom field types.
    kind: str
    schema: dict[str, Any]
    required: bool = False
    has_default: bool = False
    operations: tuple[str, ...] = ("set",)


_SYSTEM_FIELDS = (
    FieldDef("summary", "Summary", "summary", {"type": "string", "system": "summary"}, required=True),
    FieldDef(
        "issuetype", "Issue Type", "issuetype", {"type": "issuetype", "system": "issuetype"}, required=True
    ),
    FieldDef("project", "Project", "project", {"type": "project", "system": "project"}, required=True),
    FieldDef("description", "Description", "rich_text", {"type": "string", "system": "description"}),
    FieldDef("environment", "Environment", "rich_text", {"type": "string", "system": "environment"}),
    FieldDef(
        "labels",
        "Labels",
        "labels",
        {"type": "array", "items": "string", "system": "labels"},
        operations=("add", "set", "remove"),
    ),
    FieldDef(
        "priority", "Priority", "priority", {"type": "priority", "system": "priority"}, has_default=True
    ),
    FieldDef("assignee", "Assignee", "user", {"type": "user", "system": "assignee"}),
    FieldDef("reporter", "Reporter", "user", {"type": "user", "system": "reporter"}, has_default=True),
    FieldDef(
        "components",
        "Components",
        "components",
        {"type": "array", "items": "component", "system": "components"},
        operations=("add", "set", "remove"),
    ),
    FieldDef("duedate", "Due date", "date", {"type": "date", "system": "duedate"}),
    FieldDef("parent", "Parent", "parent", {"type": "issuelink", "system": "parent"}),
    FieldDef(
        "fixVersions",
        "Fix versions",
        "objects",
        {"type": "array", "items": "version", "system": "fixVersions"},
        operations=("set", "add", "remove"),
    ),
    FieldDef(
        "versions",
        "Affects versions",
        "objects",
        {"type": "array", "items": "version", "system": "versions"},
        operations=("set", "add", "remove"),
    ),
)
_SYSTEM_BY_ID = {f.id: f for f in _SYSTEM_FIELDS}

#: Field ids of the standard create screen (every project unless it names its own ``fields``).
STANDARD_SCREEN = frozenset(_SYSTEM_BY_ID)

_CUSTOM_SCHEMA = {
    "string": ("string", "com.atlassian.jira.plugin.system.customfieldtypes:textfield"),
    "textarea": ("string", "com.atlassian.jira.plugin.system.customfieldtypes:textarea"),
    "number": ("number", "com.atlassian.jira.plugin.system.customfieldtypes:float"),
    "option": ("option", "com.atlassian.jira.plugin.system.customfieldtypes:select"),
    "array": ("array", "com.atlassian.jira.plugin.system.customfieldtypes:labels"),
    "date": ("date", "com.atlassian.jira.plugin.system.customfieldtypes:datepicker"),
    "datetime": ("datetime", "com.atlassian.jira.plugin.system.customfieldtypes:datetime"),
    "user": ("user", "com.atlassian.jira.plugin.system.customfieldtypes:userpicker"),
}


def _custom_def(custom: CustomField) -> FieldDef:
    json_type, custom_type = _CUSTOM_SCHEMA[custom.type]
    schema: dict[str, Any] = {"type": json_type, "custom": custom_type}
    if custom.id.startswith("customfield_") and custom.id[12:].isdigit():
        schema["customId"] = int(custom.id[12:])
    if custom.type == "array":
        schema["items"] = "string"
    kind = "rich_text" if custom.type == "textarea" else f"custom_{custom.type}"
    return FieldDef(custom.id, custom.name, kind, schema, required=custom.required)


def screen_fields(tenant: Tenant, project: Project, issue_type: IssueType) -> dict[str, FieldDef]:
    """The fields on the create screen of (project, issue type), by id (shared: do not mutate)."""
    cached: dict[str, FieldDef] | None = tenant.screen_cache.get((project.id, issue_type.id))
    if cached is None:
        cached = tenant.screen_cache[(project.id, issue_type.id)] = _screen(tenant, project)
    return cached


def _screen(tenant: Tenant, project: Project) -> dict[str, FieldDef]:
    ids = project.screen if project.screen is not None else STANDARD_SCREEN | set(tenant.custom_fields)
    fields: dict[str, FieldDef] = {}
    for field_id in ids:
        if field_id in _SYSTEM_BY_ID:
            fields[field_id] = _SYSTEM_BY_ID[field_id]
        elif field_id in tenant.custom_fields:
            fields[field_id] = _custom_def(tenant.custom_fields[field_id])
    for required in ("summary", "issuetype", "project"):
        fields.setdefault(required, _SYSTEM_BY_ID[required])
    return fields


def field_metadata(
    tenant: Tenant, version: str, project: Project, issue_type: IssueType, definition: FieldDef
) -> dict[str, Any]:
    """A FieldCreateMetadata object."""
    meta: dict[str, Any] = {
        "required": definition.required,
        "schema": definition.schema,
        "name": definition.name,
        "key": definition.id,
        "fieldId": definition.id,
        "hasDefaultValue": definition.has_default,
        "operations": list(definition.operations),
    }
    allowed = _allowed_values(tenant, version, project, issue_type, definition)
    if allowed is not None:
        meta["allowedValues"] = allowed
    if definition.kind in ("user", "custom_user"):
        meta["autoCompleteUrl"] = f"{tenant.base_url}/rest/api/{version}/user/search?query="
    if definition.id == "priority":
        meta["defaultValue"] = priority_json(tenant, version, DEFAULT_PRIORITIES[2])
    return meta


def _allowed_values(
    tenant: Tenant, version: str, project: Project, issue_type: IssueType, definition: FieldDef
) -> list[Any] | None:
    if definition.kind == "issuetype":
        return [issue_type_json(tenant, version, issue_type)]
    if definition.kind == "project":
        return [project_ref_json(tenant, version, project)]
    if definition.kind == "priority":
        return [priority_json(tenant, version, p) for p in DEFAULT_PRIORITIES]
    if definition.kind in ("components", "objects"):
        return []
    custom = tenant.custom_fields.get(definition.id)
    if custom is not None and custom.type == "option":
        return [
            {"self": f"{tenant.base_url}/rest/api/{version}/customFieldOption/{i}", "value": v, "id": str(i)}
            for i, v in enumerate(custom.allowed_values, start=10000)
        ]
    return None
