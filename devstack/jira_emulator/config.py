"""Every knob of the emulator, typed, with its default; parsed once at the edge and fails fast.

A config is a tree of frozen dataclasses. Its JSON form (``--config file.json``, ``--set a.b=JSON``,
``POST /__emu/config``) uses the camelCase of each field name; a partial JSON object is merged into the
current config, and an unknown key or a wrong type is rejected with a message naming the key. devstack/
README.md lists every knob.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

__all__ = [
    "AnonymousConfig",
    "AuthConfig",
    "BurstConfig",
    "ConfigError",
    "EmulatorConfig",
    "InstallConfig",
    "JiraBehaviourConfig",
    "OAuthConfig",
    "PerIssueWriteConfig",
    "QuotaConfig",
    "RateLimitConfig",
    "SearchConfig",
    "config_to_json",
    "merge_config",
    "parse_assignment",
]

AuthFailureBody = Literal["reason", "json", "html", "empty"]
QuotaMode = Literal["off", "global", "tenant"]


class ConfigError(ValueError):
    """A config value is unknown or has the wrong type; the message names the key."""


@dataclass(frozen=True, slots=True)
class AuthConfig:
    """How ``Authorization: JWT`` is checked (spec E1)."""

    #: Seconds of clock skew allowed on ``exp`` and ``iat``. Jira's own value is undocumented.
    jwt_leeway_seconds: int = 0
    #: 401 body: ``reason`` (JSON naming the check that failed), ``json`` (Jira's generic text),
    #: ``html`` (a bare HTML page, as reported from Jira Cloud) or ``empty``.
    failure_body: AuthFailureBody = "reason"
    #: Accept the pre-2022 ``?jwt=`` query parameter. Off: the parameter is ignored (anonymous).
    accept_query_jwt: bool = False
    #: ``iss`` values accepted for every tenant besides its app key (e.g. to be lenient about clientKey).
    extra_issuers: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AnonymousConfig:
    """What an anonymous caller (no header, ``Bearer <jwt>``, ignored ``?jwt=``) sees (spec E1)."""

    #: ``field_errors`` (observed on Cloud), ``server_style`` (Jira Server wording) or ``401``.
    create_mode: Literal["field_errors", "server_style", "401"] = "field_errors"
    #: ``empty`` (200 with no projects) or ``401``.
    project_search: Literal["empty", "401"] = "empty"


@dataclass(frozen=True, slots=True)
class JiraBehaviourConfig:
    """Wordings and modes where Jira's behaviour is unverified or has changed over time (spec §8)."""

    #: ``cloud``: "Specify a valid project ID or key"; ``legacy``: "project is required".
    project_missing_wording: Literal["cloud", "legacy"] = "cloud"
    #: errors.issuetype for a type not in the project's scheme.
    invalid_issue_type_message: str = "Specify a valid issue type"
    #: When the caller may browse but not create: ``field_errors`` (400) or ``403``.
    no_create_permission_mode: Literal["field_errors", "403"] = "field_errors"
    #: A missing required custom field: ``errors`` ("<Name> is required.") or ``errorMessages``.
    required_field_style: Literal["errors", "errorMessages"] = "errors"
    #: Reject summaries containing a newline (third-party report).
    reject_summary_newlines: bool = True
    #: 403 body on a missing Connect scope: ``json`` ("<SCOPE> scope required", synthetic) or ``empty``.
    scope_error_body: Literal["json", "empty"] = "json"
    #: errorMessages[0] when a bulk create has more than 50 elements (real text unknown).
    bulk_too_many_message: str = "Bulk create is limited to 50 issues per request."
    #: The removed ``/rest/api/{2,3}/search`` answers 410; off: it behaves as ``search/jql``.
    legacy_search_gone: bool = True
    #: 404 from project/search when a ``keys``/``id`` filter matches nothing (documented, rarely seen).
    project_search_not_found_404: bool = False
    #: Add Jira's cosmetic headers (``Server: AtlassianEdge``, ``Cache-Control``, ...).
    cosmetic_headers: bool = True


@dataclass(frozen=True, slots=True)
class SearchConfig:
    """``search/jql`` (spec E7)."""

    #: Milliseconds before a created or changed issue is visible to search (``reconcileIssues`` skips it).
    index_lag_ms: int = 0
    #: ``maxResults`` above this is lowered to it.
    max_results_limit: int = 5000


@dataclass(frozen=True, slots=True)
class OAuthConfig:
    """``POST /oauth2/token``, the JWT-bearer grant used to act as a user (connect-jwt.md §4)."""

    #: ``expires_in`` of issued access tokens, in seconds.
    token_lifetime_seconds: int = 900
    #: Longest accepted assertion lifetime (``exp - iat``), in seconds.
    max_assertion_lifetime_seconds: int = 120


@dataclass(frozen=True, slots=True)
class InstallConfig:
    """The signed ``installed``/``uninstalled`` requests returned by the control surface."""

    #: Lifetime of the RS256 lifecycle token (``exp - iat``), in seconds.
    token_lifetime_seconds: int = 180
    #: Send ``aud`` as ``[appBaseUrl]`` instead of the plain string.
    aud_as_list: bool = False
    server_version: str = "100270"
    plugins_version: str = "1001.0.0-SNAPSHOT"


@dataclass(frozen=True, slots=True)
class BurstConfig:
    """Token bucket per tenant x method x route (``RateLimit-Reason: jira-burst-based``)."""

    enabled: bool = False
    #: Refill rate (tokens per second) by HTTP method; other methods use ``POST``'s.
    rate_per_second: Mapping[str, float] = field(
        default_factory=lambda: {"GET": 100.0, "POST": 100.0, "PUT": 50.0, "DELETE": 50.0}
    )
    #: Bucket size; null means equal to the refill rate.
    bucket_size: float | None = None
    #: Refill rate by "<METHOD> <route template>", e.g. {"GET /rest/api/{v}/issue/{issueIdOrKey}": 150}.
    overrides: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PerIssueWriteConfig:
    """Sliding windows per issue for writes to an existing issue (``jira-per-issue-on-write``)."""

    enabled: bool = False
    #: [[max writes, window seconds], ...].
    windows: tuple[tuple[int, float], ...] = ((20, 2.0), (100, 30.0))


@dataclass(frozen=True, slots=True)
class QuotaConfig:
    """The hourly points quota (``jira-quota-global-based`` / ``jira-quota-tenant-based``)."""

    #: ``off``, ``global`` (one pool for every tenant) or ``tenant`` (a pool per tenant).
    mode: QuotaMode = "off"
    points_per_hour: int = 65000
    #: Per-tenant pool size by clientKey in ``tenant`` mode (others get ``pointsPerHour``).
    tenant_points_per_hour: Mapping[str, int] = field(default_factory=dict)
    #: Cost of a bulk create: ``call`` (1 point) or ``issue`` (1 per element).
    bulk_cost: Literal["call", "issue"] = "call"
    #: ``X-RateLimit-NearLimit: true`` on successes once less than this share of the quota is left.
    near_limit_ratio: float = 0.2
    #: Also send the ``RateLimit-Policy`` and ``RateLimit`` structured headers.
    policy_headers: bool = False


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    """The three Jira Cloud limits (spec E8); each is off unless enabled."""

    burst: BurstConfig = field(default_factory=BurstConfig)
    per_issue_write: PerIssueWriteConfig = field(default_factory=PerIssueWriteConfig)
    quota: QuotaConfig = field(default_factory=QuotaConfig)
    #: 429 body: ``empty`` or ``json`` ("Rate limit exceeded.", synthetic). Clients must not parse it.
    body: Literal["empty", "json"] = "empty"


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    """The whole configuration. ``EmulatorConfig()`` is the documented default."""

    #: Root URL announced in tenant base URLs, ``self`` links and OAuth ``aud``; null: http://host:port.
    public_url: str | None = None
    #: Fixed latency added to every Jira route, in milliseconds, plus up to ``jitterMs`` at random.
    latency_ms: int = 0
    jitter_ms: int = 0
    #: Log every request (aiohttp access log) to stderr.
    access_log: bool = False
    auth: AuthConfig = field(default_factory=AuthConfig)
    anonymous: AnonymousConfig = field(default_factory=AnonymousConfig)
    jira: JiraBehaviourConfig = field(default_factory=JiraBehaviourConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    oauth: OAuthConfig = field(default_factory=OAuthConfig)
    install: InstallConfig = field(default_factory=InstallConfig)
    rate_limits: RateLimitConfig = field(default_factory=RateLimitConfig)


_T = TypeVar("_T")


def merge_config(config: _T, patch: Mapping[str, Any], *, path: str = "") -> _T:
    """``config`` with the values of the (partial, camelCase) JSON object ``patch`` applied."""
    if not isinstance(patch, Mapping):
        raise ConfigError(f"{path or 'config'} must be a JSON object")
    hints = get_type_hints(type(config))
    names = {_camel(f.name): f.name for f in dataclasses.fields(config)}  # type: ignore[arg-type]
    changes: dict[str, Any] = {}
    for key, value in patch.items():
        name = names.get(key)
        where = f"{path}{key}"
        if name is None:
            raise ConfigError(f"unknown setting '{where}' (known: {', '.join(sorted(names))})")
        current = getattr(config, name)
        if dataclasses.is_dataclass(current):
            changes[name] = merge_config(current, value, path=where + ".")
        else:
            changes[name] = _coerce(value, hints[name], where)
    return dataclasses.replace(config, **changes)  # type: ignore[type-var]


def config_to_json(config: object) -> dict[str, Any]:
    """The camelCase JSON form of a config (the shape ``merge_config`` accepts)."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(config):  # type: ignore[arg-type]
        value = getattr(config, f.name)
        if dataclasses.is_dataclass(value):
            out[_camel(f.name)] = config_to_json(value)
        elif isinstance(value, Mapping):
            out[_camel(f.name)] = dict(value)
        elif isinstance(value, tuple):
            out[_camel(f.name)] = [list(v) if isinstance(v, tuple) else v for v in value]
        else:
            out[_camel(f.name)] = value
    return out


def parse_assignment(text: str) -> dict[str, Any]:
    """``a.b.c=JSON`` (a value that is not JSON is taken as a string) as a nested patch."""
    dotted, sep, raw = text.partition("=")
    if not sep or not dotted:
        raise ConfigError(f"--set expects KEY=VALUE, got {text!r}")
    try:
        value: Any = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    for part in reversed(dotted.split(".")):
        value = {part: value}
    result: dict[str, Any] = value
    return result


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.capitalize() for part in rest)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    origin = get_origin(hint)
    if origin is Literal:
        allowed = get_args(hint)
        if value not in allowed:
            raise ConfigError(f"{where} must be one of {', '.join(map(json.dumps, allowed))}")
        return value
    if origin in (Union, types.UnionType):
        return _coerce_optional(value, hint, where)
    if origin is tuple:
        return _coerce_tuple(value, hint, where)
    if origin in (Mapping, dict, typing.Mapping):
        _, value_type = get_args(hint)
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where} must be a JSON object")
        return {str(k): _coerce(v, value_type, f"{where}.{k}") for k, v in value.items()}
    return _coerce_scalar(value, hint, where)


def _coerce_optional(value: Any, hint: Any, where: str) -> Any:
    options = [a for a in get_args(hint) if a is not type(None)]
    if value is None:
        return None
    return _coerce(value, options[0], where)


def _coerce_tuple(value: Any, hint: Any, where: str) -> tuple[Any, ...]:
    if not isinstance(value, list | tuple):
        raise ConfigError(f"{where} must be a JSON array")
    args = get_args(hint)
    if len(args) == 2 and args[1] is Ellipsis:
        return tuple(_coerce(v, args[0], f"{where}[{i}]") for i, v in enumerate(value))
    if len(value) != len(args):
        raise ConfigError(f"{where} must be an array of {len(args)} values")
    return tuple(_coerce(v, a, f"{where}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True)))


def _coerce_scalar(value: Any, hint: Any, where: str) -> Any:
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where} must be true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{where} must be a non-negative integer")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"{where} must be a non-negative number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string")
        return value
    raise ConfigError(f"{where}: unsupported setting type {hint!r}")
