"""Issues: create (spec E3), bulk create (E4), get by id or key."""

from __future__ import annotations

from typing import Any

from devstack.jira_emulator.model import Issue
from devstack.jira_emulator.pipeline import Call
from devstack.jira_emulator.replies import JiraError, Reply, json_reply
from devstack.jira_emulator.routes.common import create_context, list_param, selected_fields, visible_issue
from devstack.jira_emulator.shapes import api_url, issue_json
from devstack.jira_emulator.validation import CreateContext, CreatePlan, plan_create, stored_fields

__all__ = ["MAX_BULK", "bulk_create", "create_issue", "get_issue"]

MAX_BULK = 50
EMPTY_BULK = "Issue updates list must not be empty."


async def create_issue(call: Call) -> Reply:
    body = await call.json_body()
    ctx = create_context(call)
    issue = _commit(call, ctx, plan_create(body, ctx))
    return json_reply(201, _created(call, issue, body))


async def bulk_create(call: Call) -> Reply:
    body = await call.json_body()
    updates = body.get("issueUpdates") if isinstance(body, dict) else None
    if not isinstance(updates, list) or not updates:
        raise JiraError(400, [EMPTY_BULK])
    if len(updates) > MAX_BULK:
        raise JiraError(400, [call.config.jira.bulk_too_many_message])
    if call.config.rate_limits.quota.bulk_cost == "issue":
        call.write_points = len(updates)
    ctx = create_context(call)
    issues: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    for index, element in enumerate(updates):
        try:
            plan = plan_create(element, ctx)
        except JiraError as error:
            errors.append(_element_error(index, error))
            continue
        issues.append(_created(call, _commit(call, ctx, plan), element))
    return json_reply(201 if issues else 400, {"issues": issues, "errors": errors})


async def get_issue(call: Call) -> Reply:
    issue = visible_issue(call, call.request.match_info["issueIdOrKey"])
    query = call.request.query
    fields = selected_fields(list_param(query, "fields"), issue.fields, None)
    call.read_objects = 1
    body = issue_json(
        call.tenant, call.version, issue, fields=fields, properties=list_param(query, "properties")
    )
    return json_reply(200, body)


def _commit(call: Call, ctx: CreateContext, plan: CreatePlan) -> Issue:
    """Store the issue and its properties in one step, and queue it for search after the index lag."""
    now = call.now
    issue = call.tenant.add_issue(
        plan.project,
        plan.issue_type,
        stored_fields(plan, ctx, now),
        plan.properties,
        now=now,
        visible_from=now + call.config.search.index_lag_ms / 1000,
    )
    call.state.stats.record_created(call.tenant.client_key)
    return issue


def _created(call: Call, issue: Issue, body: Any) -> dict[str, Any]:
    """CreatedIssue; ``transition`` only when one was requested."""
    created: dict[str, Any] = {
        "id": issue.id,
        "key": issue.key,
        "self": api_url(call.tenant, call.version, f"issue/{issue.id}"),
    }
    if isinstance(body, dict) and body.get("transition"):
        created["transition"] = {"status": 200, "errorCollection": {"errorMessages": [], "errors": {}}}
    return created


def _element_error(index: int, error: JiraError) -> dict[str, Any]:
    return {
        "status": error.status,
        "failedElementNumber": index,
        "elementErrors": {"errorMessages": list(error.messages), "errors": dict(error.errors)},
    }
