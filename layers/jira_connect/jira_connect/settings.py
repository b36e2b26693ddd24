"""Configuration, parsed once at the edge from the environment, typed, failing fast.

A function module calls ``Settings.from_env(os.environ)`` at cold start; the rest of the layer receives the
parsed values and never reads the environment itself. A bad value raises :class:`SettingsError` naming the
variable, so a misconfigured deployment fails its first invocation with a clear message instead of
misbehaving later.

| variable                   | type          | default                                   |
|----------------------------|---------------|-------------------------------------------|
| TENANT_SECRET_PREFIX       | non-empty str | required                                  |
| JIRA_API_VERSION           | 2 or 3        | 3                                         |
| JIRA_ALLOWED_HOSTS         | host patterns | ``*.atlassian.net,*.jira.com,*.jira-dev.com`` |
| JIRA_CONNECT_TIMEOUT       | seconds > 0   | 3.05                                      |
| JIRA_READ_TIMEOUT          | seconds > 0   | 10                                        |
| TENANT_CACHE_TTL_SECONDS   | seconds >= 0  | 300                                       |
| OAUTH_TOKEN_URL            | https URL     | Atlassian's production authorization server |
| MAX_ATTEMPTS               | int >= 1      | 5                                         |
| ISSUE_QUEUE_URL, DLQ_URL, IDEMPOTENCY_TABLE | str | None (each function needs its own)   |
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from jira_connect.host_guard import DEFAULT_ALLOWED_HOSTS, HostGuard, is_loopback_host

__all__ = [
    "DEFAULT_API_VERSION",
    "DEFAULT_CONNECT_TIMEOUT",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_OAUTH_TOKEN_URL",
    "DEFAULT_READ_TIMEOUT",
    "DEFAULT_TENANT_CACHE_TTL",
    "SUPPORTED_API_VERSIONS",
    "Settings",
    "SettingsError",
    "seconds_setting",
    "whole_number_setting",
]

DEFAULT_API_VERSION = 3
SUPPORTED_API_VERSIONS = (2, 3)
#: Slightly above a multiple of 3 s, the TCP retransmission window (the requests documentation's advice).
DEFAULT_CONNECT_TIMEOUT = 3.05
DEFAULT_READ_TIMEOUT = 10.0
DEFAULT_TENANT_CACHE_TTL = 300.0
DEFAULT_OAUTH_TOKEN_URL = "https://oauth-2-authorization-server.services.atlassian.com/oauth2/token"  # noqa: S105 (a URL)
DEFAULT_MAX_ATTEMPTS = 5
#: Read here but needed by some functions only: each function's settings module ``require``\s its own
#: (and declares them in its ``ENV_VARS``), so the template check asks for them only where they are used.
OPTIONAL_ENV_VARS = ("ISSUE_QUEUE_URL", "DLQ_URL", "IDEMPOTENCY_TABLE")


class SettingsError(ValueError):
    """A configuration variable is missing or invalid. The message names the variable."""


@dataclass(frozen=True)
class Settings:
    """Every setting the layer and its functions use, already validated."""

    tenant_secret_prefix: str
    jira_api_version: int = DEFAULT_API_VERSION
    jira_allowed_hosts: str = DEFAULT_ALLOWED_HOSTS
    jira_connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    jira_read_timeout: float = DEFAULT_READ_TIMEOUT
    tenant_cache_ttl_seconds: float = DEFAULT_TENANT_CACHE_TTL
    oauth_token_url: str = DEFAULT_OAUTH_TOKEN_URL
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    issue_queue_url: str | None = None
    dlq_url: str | None = None
    idempotency_table: str | None = None
    host_guard: HostGuard = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Parsed here so that Settings built in code are checked exactly as those read from the environment.
        try:
            guard = HostGuard.from_setting(self.jira_allowed_hosts)
        except ValueError as e:
            raise SettingsError(f"JIRA_ALLOWED_HOSTS: {e}") from e
        object.__setattr__(self, "host_guard", guard)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read and check every variable; raise :class:`SettingsError` on the first bad one."""
        return cls(
            tenant_secret_prefix=_required(environ, "TENANT_SECRET_PREFIX"),
            jira_api_version=_api_version(environ, "JIRA_API_VERSION"),
            jira_allowed_hosts=_optional(environ, "JIRA_ALLOWED_HOSTS") or DEFAULT_ALLOWED_HOSTS,
            jira_connect_timeout=seconds_setting(environ, "JIRA_CONNECT_TIMEOUT", DEFAULT_CONNECT_TIMEOUT),
            jira_read_timeout=seconds_setting(environ, "JIRA_READ_TIMEOUT", DEFAULT_READ_TIMEOUT),
            tenant_cache_ttl_seconds=seconds_setting(
                environ, "TENANT_CACHE_TTL_SECONDS", DEFAULT_TENANT_CACHE_TTL, allow_zero=True
            ),
            oauth_token_url=_token_url(environ, "OAUTH_TOKEN_URL"),
            max_attempts=whole_number_setting(environ, "MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS),
            issue_queue_url=_optional(environ, "ISSUE_QUEUE_URL"),
            dlq_url=_optional(environ, "DLQ_URL"),
            idempotency_table=_optional(environ, "IDEMPOTENCY_TABLE"),
        )

    def require(self, name: str) -> str:
        """The value of an optional setting this function cannot do without (``"dlq_url"``)."""
        value = getattr(self, name)
        if not isinstance(value, str) or not value:
            raise SettingsError(f"{name.upper()} is required by this function but is not set")
        return value


def _optional(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def _required(environ: Mapping[str, str], name: str) -> str:
    value = _optional(environ, name)
    if value is None:
        raise SettingsError(f"{name} is required but is not set")
    return value


def _api_version(environ: Mapping[str, str], name: str) -> int:
    raw = _optional(environ, name)
    if raw is None:
        return DEFAULT_API_VERSION
    if raw not in {str(v) for v in SUPPORTED_API_VERSIONS}:
        raise SettingsError(f"{name} must be one of {SUPPORTED_API_VERSIONS}, got {raw!r}")
    return int(raw)


def seconds_setting(
    environ: Mapping[str, str], name: str, default: float, *, allow_zero: bool = False
) -> float:
    """A finite number of seconds (> 0, or >= 0 with ``allow_zero``), ``default`` when unset."""
    raw = _optional(environ, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number of seconds, got {raw!r}") from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise SettingsError(f"{name} must be a finite number of seconds {bound}, got {raw!r}")
    return value


def whole_number_setting(environ: Mapping[str, str], name: str, default: int, *, minimum: int = 1) -> int:
    """A whole number of at least ``minimum``, ``default`` when unset."""
    raw = _optional(environ, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise SettingsError(f"{name} must be at least {minimum}, got {raw!r}")
    return value


def _token_url(environ: Mapping[str, str], name: str) -> str:
    url = _optional(environ, name) or DEFAULT_OAUTH_TOKEN_URL
    parts = urlsplit(url)
    host = parts.hostname or ""
    # The assertion it receives is signed with a tenant's shared secret: never over plain http off-machine.
    if parts.scheme == "https" and host:
        return url
    if parts.scheme == "http" and is_loopback_host(host):
        return url
    raise SettingsError(f"{name} must be an https URL (plain http only on loopback), got {url!r}")
