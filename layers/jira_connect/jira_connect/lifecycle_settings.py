"""The lifecycle function's configuration: read once from the environment, typed, failing fast.

==================================  ========================================================================
``APP_KEY``                         the descriptor ``key`` (required)
``APP_BASE_URL``                    the descriptor ``baseUrl`` (required): the URL Atlassian appends
                                    ``/installed`` to, exactly as deployed. With API Gateway's default URL it
                                    is ``https://<api-id>.execute-api.<region>.amazonaws.com`` for the
                                    ``$default`` stage, plus ``/<stage>`` for a named stage; with a custom
                                    domain it is that domain (API mapping key empty). Its path is the prefix
                                    requests arrive under, which the qsh leaves out. https only (http only
                                    for a loopback host: the local stack).
``TENANT_SECRET_PREFIX``            the prefix of every tenant secret's name (required)
``CONNECT_INSTALL_KEYS_URL``        where install keys are published (default Atlassian's CDN)
``JIRA_ALLOWED_HOSTS``              the host guard for the payload's ``baseUrl`` (default Atlassian's domains)
``UNINSTALL_RECOVERY_WINDOW_DAYS``  days a tenant secret stays restorable after an uninstall (7-30, default 7)
==================================  ========================================================================
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from jira_connect.host_guard import HostGuard
from jira_connect.install_keys import DEFAULT_INSTALL_KEYS_URL
from jira_connect.tenant_store import DEFAULT_RECOVERY_WINDOW_DAYS

__all__ = ["LifecycleSettings", "SettingsError"]

#: Secrets Manager's bounds for ``RecoveryWindowInDays``.
RECOVERY_WINDOW_RANGE = range(7, 31)
_SECRET_NAME_CHARACTERS = re.compile(r"[A-Za-z0-9/_+=.@-]+")


class SettingsError(ValueError):
    """A configuration variable is missing or invalid; the message names it."""


@dataclass(frozen=True)
class LifecycleSettings:
    app_key: str
    app_base_url: str
    tenant_secret_prefix: str
    install_keys_url: str
    host_guard: HostGuard
    uninstall_recovery_window_days: int

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> LifecycleSettings:
        """Parse every variable now; the first problem raises :class:`SettingsError` naming it."""
        prefix = _required(environ, "TENANT_SECRET_PREFIX")
        if not _SECRET_NAME_CHARACTERS.fullmatch(prefix):
            raise SettingsError(
                f"TENANT_SECRET_PREFIX {prefix!r} may only contain letters, digits and /_+=.@- (secret names)"
            )
        try:
            host_guard = HostGuard.from_setting(environ.get("JIRA_ALLOWED_HOSTS"))
        except ValueError as e:
            raise SettingsError(str(e)) from e
        return cls(
            app_key=_required(environ, "APP_KEY"),
            app_base_url=_service_url(environ, "APP_BASE_URL", None),
            tenant_secret_prefix=prefix,
            install_keys_url=_service_url(environ, "CONNECT_INSTALL_KEYS_URL", DEFAULT_INSTALL_KEYS_URL),
            host_guard=host_guard,
            uninstall_recovery_window_days=_recovery_window(environ),
        )


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise SettingsError(f"{name} is not set")
    return value


def _service_url(environ: Mapping[str, str], name: str, default: str | None) -> str:
    """An absolute https URL without query or fragment (http for loopback hosts), no trailing ``/``."""
    value = environ.get(name, "").strip() or default
    if value is None:
        raise SettingsError(f"{name} is not set")
    parts = urlsplit(value)
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise SettingsError(f"{name} {value!r} must be an absolute https URL")
    if parts.scheme == "http" and not _is_loopback(host):
        raise SettingsError(f"{name} {value!r} must use https (http only for a loopback host)")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise SettingsError(f"{name} {value!r} must not have a query, a fragment or credentials")
    return value.rstrip("/")


def _recovery_window(environ: Mapping[str, str]) -> int:
    raw = environ.get("UNINSTALL_RECOVERY_WINDOW_DAYS", "").strip()
    if not raw:
        return DEFAULT_RECOVERY_WINDOW_DAYS
    try:
        days = int(raw)
    except ValueError:
        days = -1
    if days not in RECOVERY_WINDOW_RANGE:
        raise SettingsError(
            f"UNINSTALL_RECOVERY_WINDOW_DAYS {raw!r} must be a whole number of days from "
            f"{RECOVERY_WINDOW_RANGE.start} to {RECOVERY_WINDOW_RANGE.stop - 1}"
        )
    return days


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
