"""``serverInfo`` (anonymous; the pycontribs ``jira`` client asks for it first) and ``myself``."""

from __future__ import annotations

from devstack.jira_emulator.pipeline import Call
from devstack.jira_emulator.replies import JiraError, Reply, json_reply
from devstack.jira_emulator.shapes import jira_time, user_json

__all__ = ["myself", "server_info"]

IDENTITY_OBJECT_POINTS = 2


async def server_info(call: Call) -> Reply:
    return json_reply(
        200,
        {
            "baseUrl": call.tenant.base_url,
            "displayUrl": call.tenant.display_url,
            "version": "1001.0.0-SNAPSHOT",
            "versionNumbers": [1001, 0, 0],
            "deploymentType": "Cloud",
            "buildNumber": 100270,
            "buildDate": "2026-03-02T00:00:00.000+0000",
            "serverTime": jira_time(call.now),
            "scmInfo": "jira-emulator",
            "serverTitle": "Jira",
        },
    )


async def myself(call: Call) -> Reply:
    """Not anonymous-accessible: the way to tell valid credentials from anonymous (spec S6)."""
    user = call.principal.user
    if user is None:
        raise JiraError(401, ["Client must be authenticated to access this resource."])
    call.read_objects = IDENTITY_OBJECT_POINTS
    return json_reply(200, user_json(call.tenant, call.version, user))
