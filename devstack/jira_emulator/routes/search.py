"""``search/jql`` (spec E7) and the removed legacy ``search`` (410).

Search sees each issue as it was indexed: a created or changed issue shows up after the index lag,
except issues listed in ``reconcileIssues`` (at most 50 ids), which are read as committed.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from devstack.jira_emulator.jql import JqlError, parse_jql
from devstack.jira_emulator.model import Issue
from devstack.jira_emulator.pipeline import Call
from devstack.jira_emulator.replies import JiraError, Reply, json_reply
from devstack.jira_emulator.routes.common import list_param
from devstack.jira_emulator.shapes import issue_json

__all__ = ["LEGACY_SEARCH_GONE", "legacy_search", "search_jql"]

LEGACY_SEARCH_GONE = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
MAX_RECONCILE = 50
DEFAULT_MAX_RESULTS = 50
_CURSOR_PREFIX = "offset:"


@dataclass(frozen=True, slots=True)
class _Search:
    jql: str
    max_results: int
    offset: int
    fields: list[str]
    properties: list[str]
    reconcile: frozenset[str]


async def search_jql(call: Call) -> Reply:
    search = await _parse(call)
    try:
        query = parse_jql(search.jql, call.tenant)
    except JqlError as error:
        raise JiraError(400, [str(error)]) from None
    now = call.now
    matched = []
    for issue in call.tenant.issues.values():
        if not call.principal.can(issue.project, "BROWSE"):
            continue
        view = issue.current_view(now) if issue.id in search.reconcile else issue.view_at(now)
        if view is not None and query.matches(issue, view):
            matched.append(issue)
    ordered = query.sort(matched)
    page = ordered[search.offset : search.offset + search.max_results]
    call.read_objects = len(page)
    body: dict[str, Any] = {"issues": [_issue(call, issue, search) for issue in page]}
    body["isLast"] = search.offset + search.max_results >= len(ordered)
    if not body["isLast"]:
        body["nextPageToken"] = _token(search.offset + search.max_results)
    return json_reply(200, body)


async def legacy_search(call: Call) -> Reply:
    if call.config.jira.legacy_search_gone:
        raise JiraError(410, [LEGACY_SEARCH_GONE])
    return await search_jql(call)


async def _parse(call: Call) -> _Search:
    if call.request.method == "POST":
        body = await call.json_body()
        if not isinstance(body, Mapping):
            raise JiraError(400, ["The search request must be a JSON object."])
        return _search(
            call,
            jql=body.get("jql"),
            max_results=body.get("maxResults"),
            token=body.get("nextPageToken"),
            fields=_list(body.get("fields")),
            properties=_list(body.get("properties")),
            reconcile=_list(body.get("reconcileIssues")),
        )
    query = call.request.query
    return _search(
        call,
        jql=query.get("jql"),
        max_results=query.get("maxResults"),
        token=query.get("nextPageToken"),
        fields=list_param(query, "fields"),
        properties=list_param(query, "properties"),
        reconcile=list_param(query, "reconcileIssues"),
    )


def _search(
    call: Call,
    *,
    jql: Any,
    max_results: Any,
    token: Any,
    fields: list[str],
    properties: list[str],
    reconcile: list[str],
) -> _Search:
    if jql is not None and not isinstance(jql, str):
        raise JiraError(400, ["'jql' must be a string."])
    if len(reconcile) > MAX_RECONCILE:
        raise JiraError(400, [f"'reconcileIssues' accepts at most {MAX_RECONCILE} issue ids."])
    try:
        limit = DEFAULT_MAX_RESULTS if max_results in (None, "") else int(max_results)
    except (TypeError, ValueError):
        raise JiraError(400, ["'maxResults' must be a number."]) from None
    if limit < 0:
        raise JiraError(400, ["'maxResults' must not be negative."])
    limit = min(limit, call.config.search.max_results_limit)
    return _Search(jql or "", limit, _offset(token), fields or ["id"], properties, frozenset(reconcile))


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    if isinstance(value, list):
        return [str(v) for v in value]
    raise JiraError(400, ["Expected a list of values."])


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{offset}".encode()).decode("ascii")


def _offset(token: Any) -> int:
    if token in (None, ""):
        return 0
    try:
        text = base64.urlsafe_b64decode(str(token)).decode("ascii")
    except (binascii.Error, ValueError):
        text = ""
    if not text.startswith(_CURSOR_PREFIX) or not text[len(_CURSOR_PREFIX) :].isdigit():
        raise JiraError(400, ["The nextPageToken is invalid or has expired."])
    return int(text[len(_CURSOR_PREFIX) :])


def _issue(call: Call, issue: Issue, search: _Search) -> dict[str, Any]:
    wanted = set(search.fields)
    fields = None if wanted & {"*all", "*navigable"} else {f for f in wanted if f != "id"}
    body = issue_json(call.tenant, call.version, issue, fields=fields, properties=search.properties)
    body.pop("expand", None)
    return body
