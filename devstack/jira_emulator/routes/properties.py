"""Issue entity properties (spec E7): list, get, put (201 when created, 200 when updated)."""

from __future__ import annotations

from devstack.jira_emulator.pipeline import Call
from devstack.jira_emulator.replies import JiraError, Reply, json_reply
from devstack.jira_emulator.routes.common import visible_issue
from devstack.jira_emulator.shapes import api_url
from devstack.jira_emulator.validation import check_property_key, check_property_value

__all__ = ["get_property", "list_properties", "put_property"]

NO_EDIT_PERMISSION = "You do not have permission to edit issue properties."


async def list_properties(call: Call) -> Reply:
    issue = visible_issue(call, call.request.match_info["issueIdOrKey"])
    keys = [
        {"self": api_url(call.tenant, call.version, f"issue/{issue.id}/properties/{key}"), "key": key}
        for key in issue.properties
    ]
    call.read_objects = 1
    return json_reply(200, {"keys": keys})


async def get_property(call: Call) -> Reply:
    issue = visible_issue(call, call.request.match_info["issueIdOrKey"])
    key = call.request.match_info["propertyKey"]
    if key not in issue.properties:
        raise JiraError(404, [f"The property with key '{key}' does not exist."])
    call.read_objects = 1
    return json_reply(200, {"key": key, "value": issue.properties[key]})


async def put_property(call: Call) -> Reply:
    issue = visible_issue(call, call.request.match_info["issueIdOrKey"])
    if not call.principal.can(issue.project, "EDIT_ISSUES"):
        raise JiraError(403, [NO_EDIT_PERMISSION])
    key = call.request.match_info["propertyKey"]
    value = await call.json_body()
    problem = check_property_key(key) or check_property_value(value)
    if problem is not None:
        raise JiraError(400, [problem])
    created = key not in issue.properties
    issue.properties[key] = value
    issue.reindex(call.now + call.config.search.index_lag_ms / 1000)
    return Reply(201 if created else 200, b"", None)
