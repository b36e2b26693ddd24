"""Which Jira base URLs may receive a signed request (a guard against SSRF through a tenant record).

A base URL passes when its scheme is https and its host matches one of the allowed patterns (``*.`` matches
any number of labels below a domain, not the domain itself), or when its scheme is http and its host is a
loopback host named explicitly in the allow-list (the local stack). Everything else, link-local metadata
addresses and internal names included, is refused.

The host is read with the standard URL parser, so the URL must be one that every parser reads the same
way: a base URL with a backslash, whitespace, a control character or a percent sign in its authority, a
query or a fragment is refused before the host is even looked at (``https://evil.com\\.atlassian.net``
ends in ``.atlassian.net`` for ``urlsplit`` but reaches ``evil.com`` through urllib3).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from jira_connect.errors import DisallowedBaseUrl

__all__ = ["DEFAULT_ALLOWED_HOSTS", "HostGuard", "is_loopback_host"]

DEFAULT_ALLOWED_HOSTS = "*.atlassian.net,*.jira.com,*.jira-dev.com"
WILDCARD = "*."
_LOOPBACK_NAMES = frozenset({"localhost"})
# Host names as DNS has them: dot-separated labels of letters, digits and inner hyphens.
_DNS_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*")
# Characters URL parsers disagree about (WHATWG treats "\\" as "/"; tabs and newlines are stripped).
_AMBIGUOUS_CHARACTER = re.compile(r"[\\\s\x00-\x1f\x7f]")


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
        if _AMBIGUOUS_CHARACTER.search(base_url):
            raise DisallowedBaseUrl(
                f"base URL {base_url!r} contains a backslash, whitespace or a control character"
            )
        parts = urlsplit(base_url)
        host = (parts.hostname or "").lower().rstrip(".")
        if not host:
            raise DisallowedBaseUrl(f"base URL {base_url!r} has no host")
        if parts.username is not None or parts.password is not None:
            raise DisallowedBaseUrl(f"base URL {base_url!r} must not carry credentials")
        if parts.query or parts.fragment or base_url.endswith(("?", "#")):
            raise DisallowedBaseUrl(f"base URL {base_url!r} must not carry a query or a fragment")
        if not _is_host_name_or_ip(host):
            raise DisallowedBaseUrl(f"base URL {base_url!r} has an invalid host {host!r}")
        if parts.scheme == "https" and self._matches(host):
            return
        if parts.scheme == "http" and is_loopback_host(host) and host in self.patterns:
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


def _is_host_name_or_ip(host: str) -> bool:
    if _DNS_NAME.fullmatch(host):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP literals (127.0.0.0/8, ::1)."""
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
