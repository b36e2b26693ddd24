"""JSON shapes of Jira Cloud resources (jira-cloud-openapi-subset.json): Project, IssueTypeDetails,
UserDetails, Priority, Status, IssueBean. ``self`` links echo the API version of the request.

The small shapes nested in every issue (user, issue type, priority, status, project reference) are built
once per (site, API version, object) and shared, which keeps a create cheap and the heap small: callers
must never mutate what these functions return (copy first).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable
from typing import Any

from devstack.jira_emulator.model import Issue, IssueType, Priority, Project, Tenant, User

__all__ = [
    "PROJECT_EXPAND",
    "api_url",
    "issue_json",
    "issue_type_json",
    "jira_time",
    "priority_json",
    "project_json",
    "project_ref_json",
    "status_json",
    "user_json",
]

_ICON = "{base}/rest/api/2/universal_avatar/view/type/issuetype/avatar/{id}"
PROJECT_EXPAND = "description,lead,issueTypes,url,projectKeys,permissions,insight"
#: Shared shapes kept (sites x versions x objects); more are rebuilt, never wrong.
_SHARED_SHAPES = 4096
_AVATAR_SIZES = {"48x48": "large", "24x24": "small", "16x16": "xsmall", "32x32": "medium"}


def api_url(tenant: Tenant, version: str, path: str) -> str:
    return f"{tenant.base_url}/rest/api/{version}/{path}"


def jira_time(epoch: float) -> str:
    """Jira's timestamp format, e.g. ``2026-03-02T10:15:30.000+0000``."""
    millis = int(epoch * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(epoch)) + f".{millis:03d}+0000"


def _avatars(base_url: str, query: str) -> dict[str, str]:
    return {
        size: f"{base_url}/secure/projectavatar?size={name}&{query}" for size, name in _AVATAR_SIZES.items()
    }


def user_json(tenant: Tenant, version: str, user: User) -> dict[str, Any]:
    return _user_json(tenant.base_url, version, user)


def issue_type_json(tenant: Tenant, version: str, issue_type: IssueType) -> dict[str, Any]:
    return _issue_type_json(tenant.base_url, version, issue_type)


def priority_json(tenant: Tenant, version: str, priority: Priority) -> dict[str, Any]:
    return _priority_json(tenant.base_url, version, priority)


def status_json(tenant: Tenant, version: str) -> dict[str, Any]:
    return _status_json(tenant.base_url, version)


def project_ref_json(tenant: Tenant, version: str, project: Project) -> dict[str, Any]:
    """The short project object found inside issues."""
    return _project_ref_json(
        tenant.base_url,
        version,
        project_id=project.id,
        key=project.key,
        name=project.name,
        type_key=project.project_type_key,
    )


@functools.lru_cache(maxsize=_SHARED_SHAPES)
def _user_json(base_url: str, version: str, user: User) -> dict[str, Any]:
    return {
        "self": f"{base_url}/rest/api/{version}/user?accountId={user.account_id}",
        "accountId": user.account_id,
        "accountType": user.account_type,
        "displayName": user.display_name,
        "active": True,
        "timeZone": "Etc/UTC",
        "avatarUrls": _avatars(base_url, f"accountId={user.account_id}"),
    }


@functools.lru_cache(maxsize=_SHARED_SHAPES)
def _issue_type_json(base_url: str, version: str, issue_type: IssueType) -> dict[str, Any]:
    return {
        "self": f"{base_url}/rest/api/{version}/issuetype/{issue_type.id}",
        "id": issue_type.id,
        "description": issue_type.description,
        "iconUrl": _ICON.format(base=base_url, id=issue_type.id),
        "name": issue_type.name,
        "subtask": issue_type.subtask,
        "avatarId": int(issue_type.id),
        "hierarchyLevel": issue_type.hierarchy_level,
    }


@functools.lru_cache(maxsize=_SHARED_SHAPES)
def _priority_json(base_url: str, version: str, priority: Priority) -> dict[str, Any]:
    return {
        "self": f"{base_url}/rest/api/{version}/priority/{priority.id}",
        "iconUrl": f"{base_url}/images/icons/priorities/{priority.name.lower()}.svg",
        "name": priority.name,
        "id": priority.id,
    }


@functools.lru_cache(maxsize=_SHARED_SHAPES)
def _status_json(base_url: str, version: str) -> dict[str, Any]:
    return {
        "self": f"{base_url}/rest/api/{version}/status/10000",
        "description": "",
        "iconUrl": f"{base_url}/",
        "name": "To Do",
        "id": "10000",
        "statusCategory": {
            "self": f"{base_url}/rest/api/{version}/statuscategory/2",
            "id": 2,
            "key": "new",
            "colorName": "blue-gray",
            "name": "To Do",
        },
    }


@functools.lru_cache(maxsize=_SHARED_SHAPES)
def _project_ref_json(
    base_url: str, version: str, *, project_id: str, key: str, name: str, type_key: str
) -> dict[str, Any]:
    return {
        "self": f"{base_url}/rest/api/{version}/project/{project_id}",
        "id": project_id,
        "key": key,
        "name": name,
        "projectTypeKey": type_key,
        "simplified": False,
        "avatarUrls": _avatars(base_url, f"pid={project_id}"),
    }


def project_json(
    tenant: Tenant, version: str, project: Project, *, expand: Iterable[str] = (), full: bool = False
) -> dict[str, Any]:
    """A Project. ``full`` (GET project/{k}) includes description, lead and issue types, as Jira does."""
    wanted = set(expand)
    body: dict[str, Any] = {
        "expand": PROJECT_EXPAND,
        "self": api_url(tenant, version, f"project/{project.id}"),
        "id": project.id,
        "key": project.key,
        "name": project.name,
        "avatarUrls": _avatars(tenant.base_url, f"pid={project.id}"),
        "projectTypeKey": project.project_type_key,
        "simplified": False,
        "style": "classic",
        "isPrivate": False,
        "properties": {},
    }
    if full or "description" in wanted:
        body["description"] = project.description
    if full or "lead" in wanted:
        body["lead"] = user_json(tenant, version, project.lead)
    if full or "issueTypes" in wanted:
        body["issueTypes"] = [issue_type_json(tenant, version, t) for t in project.issue_types]
    if "insight" in wanted:
        body["insight"] = {"totalIssueCount": project.issue_count}
    return body


def issue_json(
    tenant: Tenant,
    version: str,
    issue: Issue,
    *,
    fields: Iterable[str] | None = None,
    properties: Iterable[str] = (),
) -> dict[str, Any]:
    """An IssueBean. ``fields``: ids to include (None: all); ``properties``: property keys to include."""
    wanted = None if fields is None else set(fields)
    body: dict[str, Any] = {
        "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
        "id": issue.id,
        "self": api_url(tenant, version, f"issue/{issue.id}"),
        "key": issue.key,
    }
    body["fields"] = (
        dict(issue.fields) if wanted is None else {k: v for k, v in issue.fields.items() if k in wanted}
    )
    keys = list(properties)
    if keys:
        include_all = "*all" in keys
        body["properties"] = {k: v for k, v in issue.properties.items() if include_all or k in keys}
    return body
