"""The control surface under ``/__emu`` (not reachable through Jira routes). Other tools and tests depend
on these shapes; devstack/README.md documents each with an example.

Errors are answered as ``{"errorMessages": [...], "errors": {}}`` with 400 (or 404/409).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from devstack.jira_emulator.config import ConfigError, config_to_json, merge_config
from devstack.jira_emulator.faults import FaultError
from devstack.jira_emulator.model import Tenant
from devstack.jira_emulator.pipeline import STATE, render
from devstack.jira_emulator.replies import TEXT, JiraError, Reply, json_reply
from devstack.jira_emulator.state import EmulatorState
from devstack.jira_emulator.tenants import TenantError

__all__ = ["PREFIX", "add_control_routes"]

PREFIX = "/__emu"
ControlHandler = Callable[[web.Request, EmulatorState], Awaitable[Reply]]


def add_control_routes(app: web.Application) -> None:
    routes: tuple[tuple[str, str, ControlHandler], ...] = (
        ("POST", "/tenants", _add_tenant),
        ("GET", "/tenants", _list_tenants),
        ("POST", "/tenants/{clientKey}/uninstall", _uninstall),
        ("GET", "/install-keys/{kid}", _install_key),
        ("GET", "/issues", _issues),
        ("GET", "/faults", _faults),
        ("POST", "/faults", _add_fault),
        ("DELETE", "/faults", _clear_faults),
        ("POST", "/reset", _reset),
        ("GET", "/stats", _stats),
        ("GET", "/clock", _clock),
        ("POST", "/clock", _set_clock),
        ("GET", "/config", _config),
        ("POST", "/config", _set_config),
        ("GET", "/health", _health),
    )
    for method, path, handler in routes:
        app.router.add_route(method, PREFIX + path, _wrap(handler))


def _wrap(handler: ControlHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def route(request: web.Request) -> web.StreamResponse:
        state = request.app[STATE]
        try:
            reply = await handler(request, state)
        except (ConfigError, FaultError) as error:
            reply = JiraError(400, [str(error)]).to_reply()
        except TenantError as error:
            reply = JiraError(error.status, [str(error)]).to_reply()
        except JiraError as error:
            reply = error.to_reply()
        return render(reply, state.config)

    return route


async def _json(request: web.Request, *, default: Any = None) -> Any:
    raw = await request.read()
    if not raw.strip():
        if default is not None:
            return default
        raise JiraError(400, ["A JSON body is required."])
    try:
        return json.loads(raw)
    except ValueError as error:
        raise JiraError(400, [f"Malformed JSON: {error}"]) from None


def _tenant_json(tenant: Tenant) -> dict[str, Any]:
    return {
        "clientKey": tenant.client_key,
        "key": tenant.app_key,
        "slug": tenant.slug,
        "baseUrl": tenant.base_url,
        "displayUrl": tenant.display_url,
        "oauthClientId": tenant.oauth_client_id,
        "scopes": sorted(tenant.scopes),
        "installed": tenant.installed,
        "appBaseUrl": tenant.app_base_url,
        "botAccountId": tenant.bot.account_id,
        "projects": [{"id": p.id, "key": p.key, "name": p.name} for p in tenant.projects],
        "indexedProperties": {k: sorted(v) for k, v in tenant.indexed_properties.items()},
    }


def _tenant(state: EmulatorState, client_key: str) -> Tenant:
    tenant = state.tenants.by_client_key.get(client_key)
    if tenant is None:
        raise JiraError(404, [f"No tenant with clientKey '{client_key}'."])
    return tenant


async def _add_tenant(request: web.Request, state: EmulatorState) -> Reply:
    tenant, created = state.tenants.install(await _json(request), state.root)
    body = _tenant_json(tenant)
    if tenant.app_base_url is not None:
        body["install"] = state.signer.lifecycle_request(
            tenant, "installed", state.config.install, state.clock.now()
        )
    return json_reply(201 if created else 200, body)


async def _list_tenants(request: web.Request, state: EmulatorState) -> Reply:
    return json_reply(200, {"tenants": [_tenant_json(t) for t in state.tenants.by_client_key.values()]})


async def _uninstall(request: web.Request, state: EmulatorState) -> Reply:
    """Mark the app uninstalled (its JWTs now fail) and answer the signed ``uninstalled`` request."""
    tenant = _tenant(state, request.match_info["clientKey"])
    body = await _json(request, default={})
    app_base_url = body.get("appBaseUrl") if isinstance(body, dict) else None
    if isinstance(app_base_url, str) and app_base_url:
        tenant.app_base_url = app_base_url.rstrip("/")
    if tenant.app_base_url is None:
        raise JiraError(400, ["The tenant has no appBaseUrl: give one in the body to sign the request."])
    tenant.installed = False
    return json_reply(
        200, state.signer.lifecycle_request(tenant, "uninstalled", state.config.install, state.clock.now())
    )


async def _install_key(request: web.Request, state: EmulatorState) -> Reply:
    pem = state.signer.public_key(request.match_info["kid"])
    if pem is None:
        return Reply(404, b"Key not found", TEXT)
    return Reply(200, pem.encode("ascii"), TEXT)


async def _issues(request: web.Request, state: EmulatorState) -> Reply:
    client_key = request.query.get("clientKey")
    tenants = [_tenant(state, client_key)] if client_key else list(state.tenants.by_client_key.values())
    issues = [
        {"clientKey": t.client_key, "id": i.id, "key": i.key, "fields": i.fields, "properties": i.properties}
        for t in tenants
        for i in t.issues.values()
    ]
    return json_reply(200, {"issues": issues})


async def _faults(request: web.Request, state: EmulatorState) -> Reply:
    return json_reply(200, {"faults": state.faults.to_json()})


async def _add_fault(request: web.Request, state: EmulatorState) -> Reply:
    return json_reply(201, state.faults.add(await _json(request)).to_json())


async def _clear_faults(request: web.Request, state: EmulatorState) -> Reply:
    state.faults.clear()
    return json_reply(200, {"faults": []})


async def _reset(request: web.Request, state: EmulatorState) -> Reply:
    state.reset()
    return json_reply(200, {"reset": True})


async def _stats(request: web.Request, state: EmulatorState) -> Reply:
    body = state.stats.to_json(state.tenants.by_client_key.values())
    body["connectionsActive"] = state.active_connections()
    body["quota"] = state.limits.quota_json(state.config.rate_limits, state.clock.now())
    return json_reply(200, body)


async def _clock(request: web.Request, state: EmulatorState) -> Reply:
    return json_reply(200, state.clock.to_json())


async def _set_clock(request: web.Request, state: EmulatorState) -> Reply:
    """``{"freeze": bool, "advance": seconds}``: freezing happens before advancing."""
    body = await _json(request)
    if not isinstance(body, dict):
        raise JiraError(400, ["The clock request must be a JSON object."])
    freeze, advance = body.get("freeze"), body.get("advance", 0)
    if freeze is not None and not isinstance(freeze, bool):
        raise JiraError(400, ["freeze must be true or false"])
    if isinstance(advance, bool) or not isinstance(advance, int | float):
        raise JiraError(400, ["advance must be a number of seconds"])
    if freeze is True:
        state.clock.freeze()
    elif freeze is False:
        state.clock.unfreeze()
    state.clock.advance(advance)
    return json_reply(200, state.clock.to_json())


async def _config(request: web.Request, state: EmulatorState) -> Reply:
    return json_reply(200, config_to_json(state.config))


async def _set_config(request: web.Request, state: EmulatorState) -> Reply:
    state.config = merge_config(state.config, await _json(request))
    return json_reply(200, config_to_json(state.config))


async def _health(request: web.Request, state: EmulatorState) -> Reply:
    return json_reply(
        200, {"status": "ok", "rootUrl": state.root, "tenants": len(state.tenants.by_client_key)}
    )
