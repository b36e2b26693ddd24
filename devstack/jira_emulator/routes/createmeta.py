"""Create metadata (spec E6): issue types of a project, fields of an issue type, and the deprecated
``issue/createmeta``. Callers without CREATE_ISSUES (anonymous included) get empty lists."""

from __future__ import annotations

from typing import Any

from devstack.jira_emulator.fields import field_metadata, screen_fields
from devstack.jira_emulator.model import IssueType, Project
from devstack.jira_emulator.pipeline import Call
from devstack.jira_emulator.replies import JiraError, Reply, json_reply
from devstack.jira_emulator.routes.common import int_param, list_param
from devstack.jira_emulator.routes.projects import not_found
from devstack.jira_emulator.shapes import api_url, issue_type_json, project_ref_json

__all__ = ["createmeta", "createmeta_fields", "createmeta_issue_types"]

MAX_PAGE = 200
_TOO_MANY = {
    "errorMessages": [f"Parameter 'maxResults' must not exceed the limit '{MAX_PAGE}'"],
    "errors": {},
    "httpStatusCode": {"empty": False, "present": True},
}


async def createmeta_issue_types(call: Call) -> Reply:
    project = _project(call)
    start_at, max_results = _paging(call)
    types = list(project.issue_types) if call.principal.can(project, "CREATE_ISSUES") else []
    page = types[start_at : start_at + max_results]
    values = [issue_type_json(call.tenant, call.version, t) for t in page]
    return json_reply(
        200, {"issueTypes": values, "maxResults": max_results, "startAt": start_at, "total": len(types)}
    )


async def createmeta_fields(call: Call) -> Reply:
    project = _project(call)
    start_at, max_results = _paging(call)
    type_id = call.request.match_info["issueTypeId"]
    issue_type = project.issue_type({"id": type_id})
    if issue_type is None:
        raise JiraError(404, [f"The issue type with id '{type_id}' does not exist in project {project.key}."])
    fields = _fields(call, project, issue_type) if call.principal.can(project, "CREATE_ISSUES") else []
    page = fields[start_at : start_at + max_results]
    return json_reply(
        200, {"fields": page, "maxResults": max_results, "startAt": start_at, "total": len(fields)}
    )


async def createmeta(call: Call) -> Reply:
    """The deprecated form: unknown projects and issue types are left out, never an error."""
    query = call.request.query
    keys, ids = list_param(query, "projectKeys"), list_param(query, "projectIds")
    type_names, type_ids = list_param(query, "issuetypeNames"), list_param(query, "issuetypeIds")
    with_fields = "projects.issuetypes.fields" in list_param(query, "expand")
    projects = []
    for project in call.tenant.projects:
        if (keys or ids) and project.key not in keys and project.id not in ids:
            continue
        if not call.principal.can(project, "CREATE_ISSUES"):
            continue
        types = [
            t
            for t in project.issue_types
            if (not type_names and not type_ids) or t.name in type_names or t.id in type_ids
        ]
        projects.append(_legacy_project(call, project, types, with_fields))
    return json_reply(200, {"expand": "projects", "projects": projects})


def _project(call: Call) -> Project:
    id_or_key = call.request.match_info["projectIdOrKey"]
    project = call.tenant.project(id_or_key)
    if project is None:
        raise not_found(id_or_key)
    return project


def _paging(call: Call) -> tuple[int, int]:
    query = call.request.query
    max_results = int_param(query, "maxResults", 50)
    if max_results > MAX_PAGE:
        raise JiraError(400, body=json_reply(400, _TOO_MANY).body)
    return int_param(query, "startAt", 0), max_results


def _fields(call: Call, project: Project, issue_type: IssueType) -> list[dict[str, Any]]:
    screen = screen_fields(call.tenant, project, issue_type)
    return [field_metadata(call.tenant, call.version, project, issue_type, d) for d in screen.values()]


def _legacy_project(
    call: Call, project: Project, types: list[IssueType], with_fields: bool
) -> dict[str, Any]:
    ref = project_ref_json(call.tenant, call.version, project)
    issue_types = []
    for issue_type in types:
        entry = dict(issue_type_json(call.tenant, call.version, issue_type))  # shared: copy before adding
        entry["expand"] = "fields"
        if with_fields:
            entry["fields"] = {f["fieldId"]: f for f in _fields(call, project, issue_type)}
        issue_types.append(entry)
    return {
        "self": api_url(call.tenant, call.version, f"project/{project.id}"),
        "id": project.id,
        "key": project.key,
        "name": project.name,
        "avatarUrls": ref["avatarUrls"],
        "issuetypes": issue_types,
    }
