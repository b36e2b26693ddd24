"""The path of every Jira request, in Jira's order (spec E1, E3 step 1, E8), and its bookkeeping:

1. the tenant from the ``/t/<slug>`` prefix (unknown: 404);
2. the principal (``auth.authenticate``; a rejected token is a 401);
3. the Connect scope the route needs (403 without it);
4. injected latency and faults that act before the request is processed;
5. rate limits (429), for authenticated app or user traffic;
6. the route's handler; points are charged whatever it answers;
7. faults that act after the commit (an error answer, or a dropped connection);
8. stats by owner, route template and status; E2's common headers.
Errors become responses here and nowhere else.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from devstack.jira_emulator.auth import ANONYMOUS, authenticate
from devstack.jira_emulator.config import EmulatorConfig
from devstack.jira_emulator.faults import Fault
from devstack.jira_emulator.model import Principal, Tenant
from devstack.jira_emulator.ratelimit import rate_limited
from devstack.jira_emulator.replies import JiraError, Reply
from devstack.jira_emulator.state import EmulatorState
from devstack.jira_emulator.stats import ANONYMOUS_OWNER, DROPPED

__all__ = ["STATE", "Call", "Handler", "RouteSpec", "render", "run_root_route", "run_tenant_route"]

STATE: web.AppKey[EmulatorState] = web.AppKey("emulator_state", EmulatorState)
COSMETIC_HEADERS = {
    "Server": "AtlassianEdge",
    "Cache-Control": "no-cache, no-store, no-transform",
    "X-Content-Type-Options": "nosniff",
    "X-Xss-Protection": "1; mode=block",
}
_random_bits = random.getrandbits


@dataclass(slots=True)
class Call:
    """One request on its way through the pipeline."""

    request: web.Request
    spec: RouteSpec
    state: EmulatorState
    tenant: Tenant
    version: str
    principal: Principal = ANONYMOUS
    #: Core objects the answer returned (quota cost of a read is 1 + this; identity objects count 2).
    read_objects: int = 0
    #: Quota cost of a write (bulk create may count one per issue).
    write_points: int = 1

    @property
    def config(self) -> EmulatorConfig:
        return self.state.config

    @property
    def now(self) -> float:
        return self.state.clock.now()

    async def json_body(self) -> Any:
        """The request body as JSON; a 400 in Jira's shape if it is empty or malformed."""
        raw = await self.request.read()
        if not raw.strip():
            raise JiraError(400, ["No content to map due to end-of-input"])
        try:
            return json.loads(raw)
        except ValueError as error:  # json.JSONDecodeError and UnicodeDecodeError
            raise JiraError(400, [f"Unexpected content in the JSON body: {error}"]) from None


Handler = Callable[[Call], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """A Jira route: ``template`` is relative to the tenant (or the root for root routes)."""

    name: str
    method: str
    template: str
    #: None for routes that run their own work through :func:`run_root_route`.
    handler: Handler | None = None
    #: Connect scope needed (READ or WRITE); None: none.
    scope: str | None = None
    #: ``match_info`` key naming an existing issue this route writes to (per-issue write limits).
    issue_param: str | None = None
    #: Further names faults can use for this route (e.g. "createmeta" for all three createmeta routes).
    groups: tuple[str, ...] = ()
    route_key: str = field(init=False)
    names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        key = f"{self.method} {self.template}"
        object.__setattr__(self, "route_key", key)
        object.__setattr__(self, "names", frozenset({self.name, self.template, key, *self.groups}))


class _Dropped(Exception):
    """The connection was aborted on purpose after the commit."""


def _unsent_response() -> web.Response:
    # Never written: aiohttp finds the transport closed and drops the answer quietly.
    return web.Response(status=500)


async def run_tenant_route(request: web.Request, spec: RouteSpec) -> web.StreamResponse:
    state = request.app[STATE]
    tenant = state.tenants.by_slug.get(request.match_info["slug"])
    if tenant is None:
        state.stats.record(ANONYMOUS_OWNER, spec.route_key, "404")
        return render(JiraError(404, ["No emulated Jira site at this path."]).to_reply(), state.config)
    state.stats.record_connection(request.transport)
    call = Call(request, spec, state, tenant, request.match_info.get("v", "3"))
    try:
        reply = await _process(call)
    except JiraError as error:
        reply = error.to_reply()
        if error.status == 429:
            state.stats.record_rate_limited(error.reason)
    except _Dropped:
        state.stats.record(_owner(call.principal), spec.route_key, DROPPED)
        return _unsent_response()
    state.stats.record(_owner(call.principal), spec.route_key, str(reply.status))
    return render(reply, state.config)


async def run_root_route(
    request: web.Request, spec: RouteSpec, work: Callable[[], Awaitable[tuple[Tenant | None, Reply]]]
) -> web.StreamResponse:
    """A route outside any tenant (the OAuth token endpoint): latency, faults and stats only."""
    state = request.app[STATE]
    state.stats.record_connection(request.transport)
    tenant: Tenant | None = None
    try:
        fault = await _before(state, None, spec)
        tenant, reply = await work()
        _after(request, fault, state.config, state.clock.now())
    except JiraError as error:
        reply = error.to_reply()
    except _Dropped:
        state.stats.record(ANONYMOUS_OWNER if tenant is None else tenant.client_key, spec.route_key, DROPPED)
        return _unsent_response()
    owner = tenant.client_key if tenant is not None else ANONYMOUS_OWNER
    state.stats.record(owner, spec.route_key, str(reply.status))
    return render(reply, state.config)


def render(reply: Reply, config: EmulatorConfig) -> web.Response:
    """The response, with the headers Jira puts on every response (spec E2)."""
    headers = reply.headers
    headers["X-Arequestid"] = f"{_random_bits(64):016x}"
    headers["Atl-Traceid"] = f"{_random_bits(128):032x}"
    if reply.content_type is not None:
        headers["Content-Type"] = reply.content_type
    if config.jira.cosmetic_headers:
        headers.update(COSMETIC_HEADERS)
    return web.Response(status=reply.status, body=reply.body, headers=headers)


async def _process(call: Call) -> Reply:
    state, request, spec, tenant = call.state, call.request, call.spec, call.tenant
    config = state.config
    now = state.clock.now()
    call.principal = authenticate(
        tenant=tenant,
        method=request.method,
        raw_path=request.rel_url.raw_path,
        raw_query=request.rel_url.raw_query_string,
        authorization=request.headers.get("Authorization"),
        access_tokens=state.access_tokens,
        config=config.auth,
        now=now,
    )
    _require_scope(call)
    fault = await _before(state, tenant.client_key, spec)
    principal = call.principal
    if principal.authenticated:
        issue_id = _target_issue_id(call)
        state.limits.check(
            client_key=tenant.client_key,
            method=spec.method,
            route=spec.route_key,
            issue_id=issue_id,
            config=config.rate_limits,
            now=state.clock.now(),  # after any injected latency
        )
    assert spec.handler is not None, f"{spec.name} has no handler"
    try:
        reply = await spec.handler(call)
    except JiraError:
        if principal.authenticated:
            _charge(call)
        raise
    if principal.authenticated:
        quota_headers = _charge(call)
        if reply.status < 300:
            reply.headers.update(quota_headers)
    _after(request, fault, config, now)
    return reply


def _require_scope(call: Call) -> None:
    scope = call.spec.scope
    principal = call.principal
    if scope is None or not principal.authenticated or scope in principal.scopes:
        return
    if call.config.jira.scope_error_body == "empty":
        raise JiraError(403, body=b"", content_type=None)
    raise JiraError(403, [f"{scope} scope required"])


async def _before(state: EmulatorState, client_key: str | None, spec: RouteSpec) -> Fault | None:
    """Sleep for configured and injected latency; raise a fault that acts before the commit."""
    config = state.config
    delay = config.latency_ms / 1000
    if config.jitter_ms:
        delay += random.uniform(0, config.jitter_ms) / 1000
    fault = None
    if state.faults:
        injected, fault = state.faults.draw(client_key, spec.names)
        delay += injected
    if delay > 0:
        await asyncio.sleep(delay)
    if fault is not None and fault.mode in ("error_before_commit", "rate_limit"):
        raise _fault_error(fault, config, state.clock.now())
    return fault


def _after(request: web.Request, fault: Fault | None, config: EmulatorConfig, now: float) -> None:
    if fault is None:
        return
    if fault.mode == "error_after_commit":
        raise _fault_error(fault, config, now)
    if fault.mode == "drop_after_commit":
        transport = request.transport
        if transport is not None:
            transport.abort()
        raise _Dropped


def _fault_error(fault: Fault, config: EmulatorConfig, now: float) -> JiraError:
    if fault.mode == "rate_limit":
        error = rate_limited(
            fault.rate_limit_reason(), fault.retry_after, fault.limit, config.rate_limits, now
        )
        error.status = fault.status or 429
        return error
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
    status = fault.status or 500
    message = fault.message or f"Injected fault: {fault.mode} ({status})"
    return JiraError(status, [message], headers=headers, reason=fault.mode)


def _target_issue_id(call: Call) -> str | None:
    param = call.spec.issue_param
    if param is None:
        return None
    issue = call.tenant.issue(call.request.match_info[param])
    return issue.id if issue is not None else None


def _charge(call: Call) -> dict[str, str]:
    """Charge the quota (reads: 1 + objects returned; writes: 1, or per issue for bulk)."""
    points = 1 + call.read_objects if call.spec.scope != "WRITE" else call.write_points
    state = call.state
    state.stats.record_points(call.tenant.client_key, points)
    return state.limits.charge(call.tenant.client_key, points, state.config.rate_limits, call.now)


def _owner(principal: Principal) -> str:
    return principal.tenant.client_key if principal.tenant is not None else ANONYMOUS_OWNER
