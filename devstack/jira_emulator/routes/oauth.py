"""``POST /oauth2/token`` at the emulator root: the JWT-bearer grant (see ``oauth``)."""

from __future__ import annotations

from aiohttp import web

from devstack.jira_emulator.model import Tenant
from devstack.jira_emulator.oauth import ATLASSIAN_AUTHORIZATION_SERVER, issue_access_token
from devstack.jira_emulator.pipeline import STATE, run_root_route
from devstack.jira_emulator.replies import Reply
from devstack.jira_emulator.routes import OAUTH_TOKEN

__all__ = ["oauth_token"]


async def oauth_token(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]

    async def work() -> tuple[Tenant | None, Reply]:
        form = await request.post()
        audiences = (state.root, f"{request.scheme}://{request.host}", ATLASSIAN_AUTHORIZATION_SERVER)
        return issue_access_token(
            {name: str(value) for name, value in form.items()},
            tenants=state.tenants,
            tokens=state.access_tokens,
            audiences=audiences,
            config=state.config.oauth,
            now=state.clock.now(),
        )

    return await run_root_route(request, OAUTH_TOKEN, work)
