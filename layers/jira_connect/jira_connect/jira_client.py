"""Adapter: Jira Cloud's REST API for one app and many tenants, over ``requests``.

``JiraClients`` is built once per execution environment (Lambda cold start) and hands out a ``JiraClient``
per tenant (clientKey). Everything that should outlive one invocation lives in it: one pooled keep-alive
``requests.Session`` per tenant, the tenant store and its TTL cache, the pause board that remembers Jira's
rate-limit answers, cached user access tokens and create metadata.

Every request, in this order:

1. The tenant record comes from the store (cached per TTL); its base URL passes the host guard, and the
   URL about to be sent is checked to reach that same host (the guard runs before anything leaves).
2. Pauses recorded from earlier 429s that cover this request (app, tenant, endpoint, issue) are waited
   out, or, when they outlast the caller's deadline, the request is not sent and ``RateLimited`` is raised
   with the wait in ``retry_after``.
3. The path and query are encoded here, once; that exact string is both hashed into the qsh and sent.
4. ``Authorization: JWT <Connect JWT>`` for the app, or ``Bearer <access token>`` from the OAuth 2.0
   JWT-bearer grant for a client made by ``as_user``. A Connect JWT is only ever sent with ``JWT``.
5. The answer is mapped onto :mod:`jira_connect.errors`. A 401 re-reads the tenant once (a re-install
   rotates ``sharedSecret``) and retries once. Retryable outcomes are retried by Atlassian's algorithm
   (:mod:`jira_connect.retry_policy`) while the delay fits before the deadline; ambiguous ones never are.

Redirects are not followed (a 3xx could point a signed request anywhere) and the environment's proxy and
netrc settings are ignored. Nothing logged or raised contains a secret, a JWT or an access token.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from jira_connect import __version__
from jira_connect.adf import issue_for_api_version
from jira_connect.errors import (
    ConnectionFailed,
    ConnectionLost,
    DisallowedBaseUrl,
    IssueCreatorError,
    JiraServerError,
    JiraUnavailable,
    RateLimited,
    ResponseTimeout,
)
from jira_connect.host_guard import HostGuard
from jira_connect.jira_answers import (
    CreatedIssue,
    SentRequest,
    bulk_results,
    error_for_answer,
    field_names,
    is_bulk_result,
)
from jira_connect.qsh import percent_encode
from jira_connect.retry_policy import (
    Deadline,
    PauseBoard,
    RetryPolicy,
    Uniform,
    parse_retry_after,
    pause_scope,
    remaining_seconds,
    scopes_of_request,
)
from jira_connect.settings import (
    DEFAULT_API_VERSION,
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_OAUTH_TOKEN_URL,
    DEFAULT_READ_TIMEOUT,
    SUPPORTED_API_VERSIONS,
    Settings,
)
from jira_connect.tenant import Tenant
from jira_connect.token import authorization_header
from jira_connect.user_tokens import UserTokens

__all__ = [
    "BULK_CHUNK_SIZE",
    "USER_AGENT",
    "CreatedIssue",
    "JiraClient",
    "JiraClients",
    "SentRequest",
    "TenantSource",
    "Timeouts",
    "encode_query",
    "jira_error",
    "new_session",
]

logger = logging.getLogger(__name__)

USER_AGENT = f"jira-issue-creator/{__version__} (+python-requests)"
#: Jira's limit for POST /issue/bulk.
BULK_CHUNK_SIZE = 50
#: Jira's limits for project/search: at most 100 per page, at most 50 ``keys`` per request.
PROJECT_PAGE_LIMIT = 100
PROJECT_KEYS_PER_REQUEST = 50
CREATE_META_PAGE_SIZE = 200
DEFAULT_CREATE_META_TTL = 60.0
SEARCH_PAGE_SIZE = 100
RECONCILE_LIMIT = 50
DEFAULT_POOL_SIZE = 10
# JQL entity-property references: plain names only, so nothing needs quoting inside the brackets.
_PROPERTY_KEY = re.compile(r"[A-Za-z0-9_.-]+")
_PROPERTY_PATH = re.compile(r"[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*")
_JSON_CONTENT = "application/json"
_STALE_CONNECTION_RETRY = 0.0


@dataclass(frozen=True)
class Timeouts:
    """Seconds to open a connection and to wait between bytes of the answer."""

    connect: float = DEFAULT_CONNECT_TIMEOUT
    read: float = DEFAULT_READ_TIMEOUT

    def as_tuple(self) -> tuple[float, float]:
        return (self.connect, self.read)


DEFAULT_TIMEOUTS = Timeouts()
DEFAULT_RETRY_POLICY = RetryPolicy()


class TenantSource(Protocol):
    """Where tenants come from (:class:`~jira_connect.tenant_store.SecretsManagerTenantStore`)."""

    def get(self, client_key: str) -> Tenant: ...

    def refresh(self, client_key: str) -> Tenant: ...


def new_session(pool_size: int = DEFAULT_POOL_SIZE) -> requests.Session:
    """A keep-alive session with one connection pool per host, no transport retries and no env config.

    Transport retries are off because only this module may decide whether a request is safe to resend.
    """
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.trust_env = False  # no proxy or ~/.netrc credentials picked up from the environment
    session.headers.update({"User-Agent": USER_AGENT, "Accept": _JSON_CONTENT})
    return session


# --- one request, described --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Call:
    method: str
    #: The endpoint's template with the API version filled in: the burst-limit scope.
    route: str
    #: The concrete, percent-encoded path relative to the tenant's base URL.
    path: str
    query: tuple[tuple[str, str], ...] = ()
    body: Any = None
    #: Safe to send twice (reads, including POST search/jql). Creates are not.
    idempotent: bool = True
    #: The issue a write targets (per-issue rate limits).
    issue: str | None = None
    #: For creates: the fields sent, to tell an anonymous 400 from a real field error.
    sent_fields: frozenset[str] | None = None

    def path_with_query(self) -> str:
        # Encoded once, here: this exact string is hashed into the qsh and sent on the wire.
        return f"{self.path}?{encode_query(self.query)}" if self.query else self.path


def encode_query(pairs: Sequence[tuple[str, str]]) -> str:
    """The query string for ``pairs``, in order, each name and value RFC 3986 percent-encoded.

    Only unreserved characters stay literal, so requests sends it unchanged and the qsh decodes it back to
    exactly these pairs.
    """
    return "&".join(f"{percent_encode(name)}={percent_encode(value)}" for name, value in pairs)


def _endpoint(template: str, api_version: int, **params: str) -> tuple[str, str]:
    """(route, path) for ``template``: ``/rest/api/{version}/project/{projectIdOrKey}``."""
    route = template.replace("{version}", str(api_version))
    path = route
    for name, value in params.items():
        # safe="": a "/" inside a key or id must not become a path separator.
        path = path.replace("{" + name + "}", percent_encode(value))
    return route, path


# --- authentication ----------------------------------------------------------------------------------


class _Auth(Protocol):
    account_id: str | None

    def header(self, tenant: Tenant, method: str, url: str) -> str: ...

    def after_unauthorized(self, tenant: Tenant) -> None: ...

    def retry_unchanged_tenant(self) -> bool: ...


@dataclass
class _AppAuth:
    """The app itself: a Connect JWT, always with the ``JWT`` scheme (token.authorization_header)."""

    wall_clock: Callable[[], float]
    account_id: str | None = None

    def header(self, tenant: Tenant, method: str, url: str) -> str:
        return authorization_header(
            method,
            url,
            app_key=tenant.app_key,
            shared_secret=tenant.shared_secret,
            base_url=tenant.base_url,
            now=self.wall_clock(),
        )

    def after_unauthorized(self, tenant: Tenant) -> None:
        """Nothing cached here: the new token comes from the re-read tenant record."""

    def retry_unchanged_tenant(self) -> bool:
        return False  # the same record signs the same token: Jira would refuse it again


@dataclass
class _UserAuth:
    """A user of the tenant: an OAuth 2.0 access token, sent as ``Bearer``."""

    tokens: UserTokens
    account_id: str | None

    def header(self, tenant: Tenant, method: str, url: str) -> str:
        assert self.account_id is not None
        return "Bearer " + self.tokens.get(tenant, self.account_id)

    def after_unauthorized(self, tenant: Tenant) -> None:
        assert self.account_id is not None
        self.tokens.forget(tenant.client_key, self.account_id)

    def retry_unchanged_tenant(self) -> bool:
        return True  # a new access token is worth one more try even if the record did not change


# --- state shared by every client of an execution environment ----------------------------------------


@dataclass
class _Context:
    tenants: TenantSource
    host_guard: HostGuard
    api_version: int
    timeouts: Timeouts
    oauth_token_url: str
    policy: RetryPolicy
    pauses: PauseBoard
    clock: Callable[[], float]
    wall_clock: Callable[[], float]
    sleep: Callable[[float], None]
    uniform: Uniform
    session_factory: Callable[[], requests.Session]
    create_meta_ttl: float
    sessions: dict[str, requests.Session] = field(default_factory=dict)
    create_meta: dict[tuple[object, ...], tuple[float, list[dict[str, Any]]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    access_tokens: UserTokens = field(init=False)

    def __post_init__(self) -> None:
        self.access_tokens = UserTokens(
            self.oauth_token_url,
            session_factory=self.session_factory,
            timeouts=self.timeouts.as_tuple(),
            clock=self.clock,
            wall_clock=self.wall_clock,
        )

    def session(self, client_key: str) -> requests.Session:
        with self.lock:
            session = self.sessions.get(client_key)
            if session is None:
                session = self.sessions[client_key] = self.session_factory()
            return session


class JiraClients:
    """Jira clients for every tenant of one app, built once per execution environment."""

    def __init__(
        self,
        tenants: TenantSource,
        *,
        host_guard: HostGuard | None = None,
        api_version: int = DEFAULT_API_VERSION,
        timeouts: Timeouts = DEFAULT_TIMEOUTS,
        oauth_token_url: str = DEFAULT_OAUTH_TOKEN_URL,
        retry_policy: RetryPolicy = DEFAULT_RETRY_POLICY,
        pause_board: PauseBoard | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        uniform: Uniform = random.uniform,
        session_factory: Callable[[], requests.Session] = new_session,
        create_meta_ttl: float = DEFAULT_CREATE_META_TTL,
    ) -> None:
        """``clock`` (monotonic) times caches, pauses and deadlines; ``wall_clock`` (epoch) stamps JWTs
        and reads HTTP-date ``Retry-After``. ``sleep`` and ``uniform`` (jitter) are injectable so that tests
        never wait for a real backoff."""
        _check_api_version(api_version)
        self._ctx = _Context(
            tenants=tenants,
            host_guard=host_guard or HostGuard.from_setting(None),
            api_version=api_version,
            timeouts=timeouts,
            oauth_token_url=oauth_token_url,
            policy=retry_policy,
            pauses=pause_board or PauseBoard(clock),
            clock=clock,
            wall_clock=wall_clock,
            sleep=sleep,
            uniform=uniform,
            session_factory=session_factory,
            create_meta_ttl=create_meta_ttl,
        )

    @classmethod
    def from_settings(cls, settings: Settings, tenants: TenantSource, **overrides: Any) -> JiraClients:
        """Clients configured from :class:`~jira_connect.settings.Settings`; ``overrides`` win."""
        options: dict[str, Any] = {
            "host_guard": settings.host_guard,
            "api_version": settings.jira_api_version,
            "timeouts": Timeouts(settings.jira_connect_timeout, settings.jira_read_timeout),
            "oauth_token_url": settings.oauth_token_url,
        }
        options.update(overrides)
        return cls(tenants, **options)

    @property
    def pause_board(self) -> PauseBoard:
        return self._ctx.pauses

    def for_tenant(self, client_key: str) -> JiraClient:
        """The client for one tenant. Cheap: the tenant record is read when a request needs it."""
        return JiraClient(self._ctx, client_key, _AppAuth(self._ctx.wall_clock))

    def session(self, client_key: str) -> requests.Session:
        """The pooled session of one tenant (created on first use)."""
        return self._ctx.session(client_key)

    def close(self) -> None:
        with self._ctx.lock:
            sessions = list(self._ctx.sessions.values())
            self._ctx.sessions.clear()
        for session in sessions:
            session.close()
        self._ctx.access_tokens.close()


# --- the client ---------------------------------------------------------------------------------------


class JiraClient:
    """Jira operations on one tenant, as the app (or as a user, from :meth:`as_user`).

    Every operation takes ``deadline`` (see :data:`~jira_connect.retry_policy.Deadline`): a retry or a
    pause that would end after it is not started, and the retryable error is raised with the delay in
    ``retry_after`` instead.
    """

    def __init__(self, context: _Context, client_key: str, auth: _Auth) -> None:
        self._ctx = context
        self.client_key = client_key
        self._auth = auth

    @property
    def account_id(self) -> str | None:
        """The user this client acts as, or None for the app itself."""
        return self._auth.account_id

    def as_user(self, account_id: str) -> JiraClient:
        """The same operations, run as the Atlassian user ``account_id`` (needs the ACT_AS_USER scope)."""
        if not account_id:
            raise ValueError("account_id is required to act as a user")
        return JiraClient(self._ctx, self.client_key, _UserAuth(self._ctx.access_tokens, account_id))

    def tenant(self) -> Tenant:
        """The tenant record, from the store's cache, after the host guard has accepted its base URL."""
        tenant = self._ctx.tenants.get(self.client_key)
        self._ctx.host_guard.check(tenant.base_url)
        return tenant

    # --- issues ---

    def create_issue(
        self, issue: Mapping[str, Any], *, api_version: int | None = None, deadline: Deadline = None
    ) -> CreatedIssue:
        """Create one issue. ``issue`` is Jira's create body (``fields``, ``update``, ``properties`` ...);
        on v3 a plain-string description becomes ADF. Never re-sent after an ambiguous outcome."""
        version = self._version(api_version)
        route, path = _endpoint("/rest/api/{version}/issue", version)
        call = _Call(
            "POST",
            route,
            path,
            body=issue_for_api_version(issue, version),
            idempotent=False,
            sent_fields=field_names(issue),
        )
        response = self._execute(call, deadline)
        try:
            return CreatedIssue.from_json(_json_or_none(response))
        except ValueError as e:
            raise JiraServerError(
                f"Jira answered {response.status_code} to create issue but its body is not a CreatedIssue; "
                "the issue may exist",
                status=response.status_code,
            ) from e

    def create_issues(
        self,
        issues: Sequence[Mapping[str, Any]],
        *,
        api_version: int | None = None,
        deadline: Deadline = None,
    ) -> list[CreatedIssue | IssueCreatorError]:
        """Create many issues with the bulk API, 50 per request. The result has one entry per input, in
        input order: the created issue, or the error for that element. A request that fails as a whole
        gives its error to each of its elements; later chunks are still attempted. Nothing is raised for
        Jira's answers, so no created issue is ever lost from the result."""
        version = self._version(api_version)
        results: list[CreatedIssue | IssueCreatorError] = []
        for start in range(0, len(issues), BULK_CHUNK_SIZE):
            chunk = issues[start : start + BULK_CHUNK_SIZE]
            results.extend(self._create_chunk(chunk, version, deadline))
        return results

    def find_issues_by_property(
        self,
        property_key: str,
        path: str,
        value: str,
        *,
        reconcile_ids: Collection[str | int] = (),
        deadline: Deadline = None,
    ) -> list[str]:
        """Keys of issues whose entity property ``property_key`` has ``value`` at ``path`` (JQL
        ``issue.property[key].path = "value"``). Only properties the app's descriptor indexes are
        searchable. Search lags behind writes; issue ids in ``reconcile_ids`` (at most 50) are read
        consistently."""
        if not _PROPERTY_KEY.fullmatch(property_key):
            raise ValueError(f"property key {property_key!r} must match {_PROPERTY_KEY.pattern}")
        if not _PROPERTY_PATH.fullmatch(path):
            raise ValueError(f"property path {path!r} must match {_PROPERTY_PATH.pattern}")
        reconcile = [_issue_id(i) for i in reconcile_ids]
        if len(reconcile) > RECONCILE_LIMIT:
            raise ValueError(f"at most {RECONCILE_LIMIT} issue ids can be reconciled, got {len(reconcile)}")
        route, url_path = _endpoint("/rest/api/{version}/search/jql", self._version(None))
        body: dict[str, Any] = {
            "jql": f"issue.property[{property_key}].{path} = {_jql_string(value)}",
            "maxResults": SEARCH_PAGE_SIZE,
        }
        if reconcile:
            body["reconcileIssues"] = reconcile
        keys: list[str] = []
        while True:
            page = self._json(self._execute(_Call("POST", route, url_path, body=body), deadline))
            for found in page.get("issues") or []:
                identifier = found.get("key") or found.get("id") if isinstance(found, Mapping) else None
                if isinstance(identifier, str):
                    keys.append(identifier)
            token = page.get("nextPageToken")
            if page.get("isLast", True) or not isinstance(token, str) or not token:
                return keys
            body = {**body, "nextPageToken": token}

    # --- projects and metadata ---

    def project_page(
        self,
        start_at: int = 0,
        max_results: int = 50,
        *,
        query: str | None = None,
        keys: Sequence[str] | None = None,
        deadline: Deadline = None,
    ) -> dict[str, Any]:
        """One page of ``project/search`` (ordered by key), as Jira returns it (``values``, ``isLast`` ...).
        ``max_results`` above 100 is capped by Jira; at most 50 ``keys``."""
        if start_at < 0 or max_results < 1:
            raise ValueError("start_at must be >= 0 and max_results >= 1")
        if keys is not None and len(keys) > PROJECT_KEYS_PER_REQUEST:
            raise ValueError(f"at most {PROJECT_KEYS_PER_REQUEST} keys per page request")
        route, path = _endpoint("/rest/api/{version}/project/search", self._version(None))
        params: list[tuple[str, str]] = [
            ("startAt", str(start_at)),
            ("maxResults", str(max_results)),
            ("orderBy", "key"),
        ]
        if query:
            params.append(("query", query))
        params.extend(("keys", key) for key in keys or ())
        return self._json(self._execute(_Call("GET", route, path, tuple(params)), deadline))

    def iter_projects(
        self,
        *,
        query: str | None = None,
        keys: Sequence[str] | None = None,
        page_size: int = 50,
        deadline: Deadline = None,
    ) -> Iterator[dict[str, Any]]:
        """Every project the caller may see, page by page, optionally filtered by ``query`` (substring of
        key or name) and ``keys`` (any number; sent 50 at a time)."""
        if keys is not None and not keys:
            return
        key_groups: list[Sequence[str] | None] = (
            [None]
            if keys is None
            else [
                keys[i : i + PROJECT_KEYS_PER_REQUEST] for i in range(0, len(keys), PROJECT_KEYS_PER_REQUEST)
            ]
        )
        for group in key_groups:
            start = 0
            while True:
                page = self.project_page(start, page_size, query=query, keys=group, deadline=deadline)
                values = page.get("values") or []
                yield from values
                # An empty page ends the walk even if isLast is wrong: never loop forever.
                if page.get("isLast", True) or not values:
                    break
                start += len(values)

    def get_project(self, key_or_id: str, *, deadline: Deadline = None) -> dict[str, Any]:
        """One project by key (case-sensitive) or id."""
        route, path = _endpoint(
            "/rest/api/{version}/project/{projectIdOrKey}", self._version(None), projectIdOrKey=key_or_id
        )
        return self._json(self._execute(_Call("GET", route, path), deadline))

    def create_meta(
        self, project_key_or_id: str, issue_type_id: str, *, deadline: Deadline = None
    ) -> list[dict[str, Any]]:
        """The fields of the create screen for a project and issue type (``FieldCreateMetadata``, every
        page), cached briefly per tenant, principal and API version."""
        version = self._version(None)
        cache_key = (self.client_key, self.account_id, version, project_key_or_id, issue_type_id)
        now = self._ctx.clock()
        with self._ctx.lock:
            cached = self._ctx.create_meta.get(cache_key)
        if cached is not None and now - cached[0] < self._ctx.create_meta_ttl:
            return copy.deepcopy(cached[1])
        route, path = _endpoint(
            "/rest/api/{version}/issue/createmeta/{projectIdOrKey}/issuetypes/{issueTypeId}",
            version,
            projectIdOrKey=project_key_or_id,
            issueTypeId=issue_type_id,
        )
        fields: list[dict[str, Any]] = []
        while True:
            query = (("startAt", str(len(fields))), ("maxResults", str(CREATE_META_PAGE_SIZE)))
            page = self._json(self._execute(_Call("GET", route, path, query), deadline))
            batch = [f for f in page.get("fields") or [] if isinstance(f, dict)]
            fields.extend(batch)
            total = page.get("total")
            if not batch or not isinstance(total, int) or len(fields) >= total:
                break
        with self._ctx.lock:
            self._ctx.create_meta[cache_key] = (now, fields)
        return copy.deepcopy(fields)

    # --- the request pipeline ---

    def _execute(
        self, call: _Call, deadline: Deadline, *, passthrough: Collection[int] = ()
    ) -> requests.Response:
        """Send ``call`` until it succeeds, fails for good, or no retry fits before ``deadline``.

        Returns the response for 2xx and for ``passthrough`` statuses; raises the mapped error otherwise.
        """
        retries = 0
        reauthenticated = False
        while True:
            tenant = self.tenant()
            self._wait_for_pauses(tenant, call, deadline)
            from_jira = False
            try:
                response = self._send(tenant, call)
            except (ConnectionFailed, ConnectionLost, RateLimited, JiraUnavailable) as error:
                failure: IssueCreatorError = error  # transport, or the authorization server
            else:
                status = response.status_code
                if 200 <= status < 300 or status in passthrough:
                    return response
                if status == 401 and not reauthenticated:
                    reauthenticated = True
                    if self._reauthenticate(tenant):
                        continue
                failure = self._error(response, call, tenant)
                from_jira = True
            delay = self._retry_delay(failure, call, retries)
            if from_jira and isinstance(failure, RateLimited):
                self._record_pause(tenant, call, failure, delay, retries)
            if delay is None:
                raise failure
            left = remaining_seconds(deadline, self._ctx.clock)
            if delay > left:
                failure.retry_after = delay
                raise failure
            retries += 1
            logger.info(
                "retrying Jira request",
                extra={
                    "clientKey": self.client_key,
                    "method": call.method,
                    "route": call.route,
                    "status": failure.status,
                    "errorType": failure.error_type,
                    "rateLimitReason": failure.rate_limit_reason,
                    "delaySeconds": round(delay, 3),
                    "retry": retries,
                },
            )
            self._ctx.sleep(delay)

    def _send(self, tenant: Tenant, call: _Call) -> requests.Response:
        url = tenant.base_url + call.path_with_query()
        _check_wire_host(url, tenant)
        headers = {"Authorization": self._auth.header(tenant, call.method, url)}
        data: bytes | None = None
        if call.body is not None:
            data = json.dumps(call.body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = _JSON_CONTENT
        session = self._ctx.session(self.client_key)
        started = self._ctx.clock()
        try:
            response = session.request(
                call.method,
                url,
                data=data,
                headers=headers,
                timeout=self._ctx.timeouts.as_tuple(),
                allow_redirects=False,
            )
        except requests.RequestException as e:
            raise _transport_error(e, call, url) from e
        logger.debug(
            "jira request",
            extra={
                "clientKey": self.client_key,
                "method": call.method,
                "route": call.route,
                "status": response.status_code,
                "elapsedMs": round((self._ctx.clock() - started) * 1000, 1),
            },
        )
        return response

    def _wait_for_pauses(self, tenant: Tenant, call: _Call, deadline: Deadline) -> None:
        scopes = scopes_of_request(
            app_key=tenant.app_key,
            client_key=self.client_key,
            method=call.method,
            route=call.route,
            issue=call.issue,
        )
        wait, pause = self._ctx.pauses.longest(scopes)
        if pause is None:
            return
        if wait > remaining_seconds(deadline, self._ctx.clock):
            raise RateLimited(
                f"{call.method} {call.route} not sent: Jira asked to pause {pause.scope.kind} "
                f"requests for {wait:.1f} s more ({pause.reason or 'no reason given'})",
                retry_after=wait,
                rate_limit_reason=pause.reason,
            )
        logger.info(
            "waiting out a Jira rate-limit pause",
            extra={"clientKey": self.client_key, "route": call.route, "delaySeconds": round(wait, 3)},
        )
        self._ctx.sleep(wait)

    def _record_pause(
        self, tenant: Tenant, call: _Call, error: RateLimited, delay: float | None, retries: int
    ) -> None:
        # The jittered delay itself, so that this request's retry does not wait twice.
        if delay is not None:
            seconds = delay
        elif error.retry_after is not None:
            seconds = error.retry_after
        else:
            seconds = self._ctx.policy.backoff(retries)
        scope = pause_scope(
            error.rate_limit_reason,
            app_key=tenant.app_key,
            client_key=self.client_key,
            method=call.method,
            route=call.route,
            issue=call.issue,
        )
        self._ctx.pauses.pause(scope, seconds, error.rate_limit_reason)

    def _retry_delay(self, failure: IssueCreatorError, call: _Call, retries: int) -> float | None:
        if call.idempotent and isinstance(failure, ConnectionLost) and retries == 0:
            # Most often a pooled keep-alive connection the server had closed; a read is safe to resend.
            return _STALE_CONNECTION_RETRY
        return self._ctx.policy.delay(failure, retries, self._ctx.uniform)

    def _reauthenticate(self, tenant: Tenant) -> bool:
        """After a 401: re-read the tenant (a re-install rotates the secret). True if a retry is worth it."""
        self._auth.after_unauthorized(tenant)
        fresh = self._ctx.tenants.refresh(self.client_key)
        changed = fresh != tenant
        logger.info(
            "Jira answered 401; tenant record re-read",
            extra={"clientKey": self.client_key, "recordChanged": changed},
        )
        return changed or self._auth.retry_unchanged_tenant()

    def _error(self, response: requests.Response, call: _Call, tenant: Tenant) -> IssueCreatorError:
        return jira_error(response, self._sent(call, tenant), now=self._ctx.wall_clock())

    def _sent(self, call: _Call, tenant: Tenant) -> SentRequest:
        return SentRequest(
            method=call.method,
            url=tenant.base_url + call.path_with_query(),
            idempotent=call.idempotent,
            sent_fields=call.sent_fields,
            account_id=self.account_id,
            base_url=tenant.base_url,
        )

    def _create_chunk(
        self, chunk: Sequence[Mapping[str, Any]], version: int, deadline: Deadline
    ) -> list[CreatedIssue | IssueCreatorError]:
        route, path = _endpoint("/rest/api/{version}/issue/bulk", version)
        body = {"issueUpdates": [issue_for_api_version(issue, version) for issue in chunk]}
        call = _Call("POST", route, path, body=body, idempotent=False)
        try:
            response = self._execute(call, deadline, passthrough=(400,))
            tenant = self.tenant()
            payload = _json_or_none(response)
            if not is_bulk_result(payload):
                if response.status_code == 400:
                    raise self._error(response, call, tenant)
                raise JiraServerError(
                    f"Jira answered {response.status_code} to a bulk create without a CreatedIssues body; "
                    "its issues may exist",
                    status=response.status_code,
                )
        except IssueCreatorError as error:
            # One error for the whole request: every element shares its fate.
            return [error] * len(chunk)
        return bulk_results(chunk, payload, response.status_code, self._sent(call, tenant))

    def _version(self, api_version: int | None) -> int:
        if api_version is None:
            return self._ctx.api_version
        _check_api_version(api_version)
        return api_version

    @staticmethod
    def _json(response: requests.Response) -> dict[str, Any]:
        payload = _json_or_none(response)
        if not isinstance(payload, dict):
            raise JiraUnavailable(
                f"Jira answered {response.status_code} with a body that is not a JSON object",
                status=response.status_code,
            )
        return payload


# --- mapping Jira's answers ---------------------------------------------------------------------------


def jira_error(
    response: requests.Response, request: SentRequest, *, now: float | None = None
) -> IssueCreatorError:
    """The taxonomy error for a Jira answer that is not a success (see :mod:`jira_connect.jira_answers`).

    Public so that a test can map an answer it provoked by hand, e.g. a Connect JWT deliberately sent
    as ``Bearer``, which this client itself can never send.
    """
    return error_for_answer(
        response.status_code,
        _json_or_none(response),
        request,
        retry_after=parse_retry_after(
            response.headers.get("Retry-After"), now=time.time() if now is None else now
        ),
        rate_limit_reason=response.headers.get("RateLimit-Reason"),
    )


# --- small helpers ------------------------------------------------------------------------------------


def _transport_error(error: requests.RequestException, call: _Call, url: str) -> IssueCreatorError:
    """Was anything sent? Nothing: retryable. Maybe: ambiguous (never re-POST blindly)."""
    where = f"{call.method} {urlsplit(url).path}"
    name = type(error).__name__
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return ConnectionFailed(f"{where}: connection timed out, nothing sent ({name})")
    if isinstance(error, requests.exceptions.ReadTimeout):
        return ResponseTimeout(f"{where}: sent, no answer in time; the request may have been applied")
    if isinstance(error, requests.exceptions.InvalidURL):
        return DisallowedBaseUrl(f"{where}: the URL is not valid ({name})")
    if isinstance(error, requests.exceptions.ConnectionError) and _failed_before_sending(error):
        return ConnectionFailed(f"{where}: could not connect, nothing sent ({name})")
    return ConnectionLost(f"{where}: the connection broke after sending ({name}); it may have been applied")


def _failed_before_sending(error: requests.exceptions.ConnectionError) -> bool:
    reason = error.args[0] if error.args else None
    if isinstance(reason, urllib3.exceptions.MaxRetryError):
        reason = reason.reason
    # NewConnectionError covers refused connections and DNS failures (NameResolutionError).
    if isinstance(reason, urllib3.exceptions.NewConnectionError | urllib3.exceptions.ConnectTimeoutError):
        return True
    # The TLS handshake and proxy tunnel come before the request is written.
    return isinstance(error, requests.exceptions.SSLError | requests.exceptions.ProxyError)


def _check_wire_host(url: str, tenant: Tenant) -> None:
    # Belt and braces for the host guard: the HTTP stack must reach the host the guard approved.
    wire = (urllib3.util.parse_url(url).host or "").lower().rstrip(".").strip("[]")
    approved = (urlsplit(tenant.base_url).hostname or "").lower().rstrip(".")
    if wire != approved:
        raise DisallowedBaseUrl(
            f"request URL for tenant {tenant.client_key!r} reaches host {wire!r}, not {approved!r}"
        )


def _json_or_none(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _jql_string(value: str) -> str:
    # JQL string literal: backslash and double quote are the characters that need escaping.
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _issue_id(value: str | int) -> int:
    text = str(value)
    if not text.isdigit():
        raise ValueError(f"reconcile_ids takes numeric issue ids, not keys: {value!r}")
    return int(text)


def _check_api_version(version: int) -> None:
    if version not in SUPPORTED_API_VERSIONS:
        raise ValueError(f"Jira REST API version must be one of {SUPPORTED_API_VERSIONS}, got {version!r}")
