"""Projects (spec E5): the deprecated list, the paginated search, one project by id or key."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from devstack.jira_emulator.model import Project
from devstack.jira_emulator.pipeline import Call
from devstack.jira_emulator.replies import JiraError, Reply, json_reply
from devstack.jira_emulator.routes.common import int_param, list_param
from devstack.jira_emulator.shapes import project_json

__all__ = ["get_project", "list_projects", "search_projects"]

MAX_PAGE = 100
MAX_FILTER_VALUES = 50
MAX_RECENT = 20
_ORDER_BY = re.compile(
    r"^([+-]?)(category|key|name|owner|issueCount|lastIssueUpdatedDate|archivedDate|deletedDate)$"
)
_SORT_KEYS: dict[str, Callable[[Project], Any]] = {
    "key": lambda p: p.key,
    "name": lambda p: p.name.lower(),
    "issueCount": lambda p: p.issue_count,
    "lastIssueUpdatedDate": lambda p: p.issue_count,
}


def not_found(id_or_key: str) -> JiraError:
    kind = "id" if id_or_key.isdigit() else "key"
    return JiraError(404, [f"No project could be found with {kind} '{id_or_key}'."])


async def list_projects(call: Call) -> Reply:
    query = call.request.query
    projects = _browsable(call)
    recent = query.get("recent")
    if recent is not None and recent.isdigit():
        projects = projects[: min(int(recent), MAX_RECENT)]
    call.read_objects = len(projects)
    expand = list_param(query, "expand")
    return json_reply(200, [project_json(call.tenant, call.version, p, expand=expand) for p in projects])


async def search_projects(call: Call) -> Reply:
    query = call.request.query
    start_at = int_param(query, "startAt", 0)
    max_results = min(int_param(query, "maxResults", 50), MAX_PAGE)  # Jira lowers it silently
    order = _ORDER_BY.match(query.get("orderBy", "key"))
    if order is None:
        raise JiraError(400, [f"Invalid orderBy value: '{query.get('orderBy')}'."])
    keys, ids = list_param(query, "keys"), list_param(query, "id")
    if len(keys) > MAX_FILTER_VALUES or len(ids) > MAX_FILTER_VALUES:
        raise JiraError(400, [f"At most {MAX_FILTER_VALUES} values of 'keys' and of 'id' are allowed."])
    if not call.principal.authenticated and call.config.anonymous.project_search == "401":
        raise JiraError(401, ["Client must be authenticated to access this resource."])
    projects = [p for p in _browsable(call) if _matches(p, call, keys, ids)]
    if (keys or ids) and not projects and call.config.jira.project_search_not_found_404:
        raise JiraError(404, ["No projects matching the search criteria were found."])
    projects.sort(key=_SORT_KEYS.get(order.group(2), _SORT_KEYS["key"]), reverse=order.group(1) == "-")
    page = projects[start_at : start_at + max_results]
    call.read_objects = len(page)
    return json_reply(200, _page(call, page, start_at, max_results, len(projects)))


async def get_project(call: Call) -> Reply:
    id_or_key = call.request.match_info["projectIdOrKey"]
    project = call.tenant.project(id_or_key)
    # Bad credentials are anonymous, and anonymous sees no project: 404, never 401 (spec §1.5).
    if project is None or not call.principal.can(project, "BROWSE"):
        raise not_found(id_or_key)
    call.read_objects = 1
    expand = list_param(call.request.query, "expand")
    return json_reply(200, project_json(call.tenant, call.version, project, expand=expand, full=True))


def _browsable(call: Call) -> list[Project]:
    return [p for p in call.tenant.projects if call.principal.can(p, "BROWSE")]


def _matches(project: Project, call: Call, keys: list[str], ids: list[str]) -> bool:
    query = call.request.query
    text = (query.get("query") or "").lower()
    type_keys = list_param(query, "typeKey")
    return (
        (not keys or project.key in keys)
        and (not ids or project.id in ids)
        and (not text or text in project.key.lower() or text in project.name.lower())
        and (not type_keys or project.project_type_key in type_keys)
        and (query.get("action") != "create" or call.principal.can(project, "CREATE_ISSUES"))
    )


def _page(call: Call, page: list[Project], start_at: int, max_results: int, total: int) -> dict[str, Any]:
    """PageBeanProject; ``nextPage`` only when there is one."""
    request_url = call.request.rel_url
    root = call.state.root
    is_last = start_at + max_results >= total
    body: dict[str, Any] = {"self": root + str(request_url)}
    if not is_last:
        next_url = request_url.update_query(startAt=start_at + max_results, maxResults=max_results)
        body["nextPage"] = root + str(next_url)
    expand = list_param(call.request.query, "expand")
    body.update(
        {
            "maxResults": max_results,
            "startAt": start_at,
            "total": total,
            "isLast": is_last,
            "values": [project_json(call.tenant, call.version, p, expand=expand) for p in page],
        }
    )
    return body
