"""Which Jira base URLs may receive a signed request (a guard against SSRF through a tenant record).

A base URL passes when its scheme is https and its host matches one of the allowed patterns (``*.`` matches
any number of labels below a domain, not the domain itself), or when its scheme is http and its host is a
loopback host named explicitly in the allow-list (the local stack). Everything else, link-local metadata
addresses and internal names included, is refused.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from jira_connect.errors import DisallowedBaseUrl

__all__ = ["DEFAULT_ALLOWED_HOSTS", "HostGuard"]

DEFAULT_ALLOWED_HOSTS = "*.atlassian.net,*.jira.com,*.jira-dev.com"
WILDCARD = "*."
_LOOPBACK_NAMES = frozenset({"localhost"})


@dataclass(frozen=True)
class HostGuard:
    """The allow-list, parsed once from ``JIRA_ALLOWED_HOSTS`` (comma-separated host patterns)."""

    patterns: tuple[str, ...]

    @classmethod
    def from_setting(cls, setting: str | None) -> HostGuard:
        raw = DEFAULT_ALLOWED_HOSTS if setting is None or not setting.strip() else setting
        patterns = tuple(p.strip().lower().rstrip(".") for p in raw.split(",") if p.strip())
        for pattern in patterns:
            if "*" in pattern.removeprefix(WILDCARD) or "/" in pattern:
                raise ValueError(f"JIRA_ALLOWED_HOSTS entry {pattern!r} is not a host or '*.domain' pattern")
        return cls(patterns)

    def check(self, base_url: str) -> None:
        """Raise :class:`DisallowedBaseUrl` unless signed requests may go to ``base_url``."""
        parts = urlsplit(base_url)
        host = (parts.hostname or "").lower().rstrip(".")
        if not host:
            raise DisallowedBaseUrl(f"base URL {base_url!r} has no host")
        if parts.username is not None or parts.password is not None:
            raise DisallowedBaseUrl(f"base URL {base_url!r} must not carry credentials")
        if parts.scheme == "https" and self._matches(host):
            return
        if parts.scheme == "http" and _is_loopback(host) and host in self.patterns:
            return
        if parts.scheme == "http":
            raise DisallowedBaseUrl(
                f"base URL {base_url!r} uses plain http; only https is allowed "
                "(http only for loopback hosts listed in JIRA_ALLOWED_HOSTS)"
            )
        if parts.scheme != "https":
            raise DisallowedBaseUrl(f"base URL {base_url!r} must use https")
        raise DisallowedBaseUrl(
            f"host {host!r} of base URL {base_url!r} is not in JIRA_ALLOWED_HOSTS ({','.join(self.patterns)})"
        )

    def _matches(self, host: str) -> bool:
        for pattern in self.patterns:
            if pattern.startswith(WILDCARD):
                if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                    return True
            elif host == pattern:
                return True
        return False


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
