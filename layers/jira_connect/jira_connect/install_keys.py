"""Adapter: the public keys of signed lifecycle callbacks, fetched by ``kid`` (connect-jwt.md §5.2).

``GET <CONNECT_INSTALL_KEYS_URL>/<kid>`` answers the PEM public key. A rotated key always gets a new
``kid``, so a key is cached for the life of the execution environment once fetched. Only keys are cached:
an unknown ``kid`` is asked again next time (and cannot fill the cache).

Outcomes: the PEM; :class:`UnknownInstallKey` when the CDN says the key does not exist (404, or 403/410 as
object stores answer for a missing object) -- the callback fails verification (401);
:class:`InstallKeysUnavailable` when the CDN fails, times out, redirects or answers something that is not a
PEM key -- nothing can be verified yet (503).
"""

from __future__ import annotations

import threading

import requests

from jira_connect.errors import InstallKeysUnavailable, UnknownInstallKey
from jira_connect.signed_install import check_kid

__all__ = [
    "DEFAULT_INSTALL_KEYS_URL",
    "DEFAULT_TIMEOUT_SECONDS",
    "MAX_KEY_BYTES",
    "InstallKeyFetcher",
]

DEFAULT_INSTALL_KEYS_URL = "https://connect-install-keys.atlassian.com"
#: (connect, read) seconds: a lifecycle callback must answer quickly, and API Gateway gives up at 30 s.
DEFAULT_TIMEOUT_SECONDS = (3.05, 5.0)
#: A 4096-bit RSA public key is about 800 bytes of PEM.
MAX_KEY_BYTES = 16 * 1024
PEM_MARKER = "-----BEGIN PUBLIC KEY-----"
_MISSING_STATUSES = frozenset({403, 404, 410})


class InstallKeyFetcher:
    """``kid -> PEM``, the key lookup of :class:`~jira_connect.signed_install.SignedInstallVerifier`."""

    def __init__(
        self,
        base_url: str = DEFAULT_INSTALL_KEYS_URL,
        *,
        session: requests.Session | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._session = session or requests.Session()
        self._timeout = timeout
        self._keys: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, kid: str) -> str:
        """The PEM public key published under ``kid``."""
        # The verifier checked kid already; checking again keeps this adapter safe on its own.
        check_kid(kid)
        with self._lock:
            cached = self._keys.get(kid)
        if cached is not None:
            return cached
        pem = self._fetch(kid)
        with self._lock:
            self._keys[kid] = pem
        return pem

    def _fetch(self, kid: str) -> str:
        url = f"{self._base_url}/{kid}"
        try:
            with self._session.get(
                url, timeout=self._timeout, allow_redirects=False, stream=True
            ) as response:
                status = response.status_code
                content = _bounded_body(response) if status == 200 else b""
        except requests.RequestException as e:
            raise InstallKeysUnavailable(
                f"install key {kid!r} could not be fetched ({type(e).__name__})"
            ) from e
        if status in _MISSING_STATUSES:
            raise UnknownInstallKey(f"no install key is published under kid {kid!r} (HTTP {status})")
        if status != 200:
            raise InstallKeysUnavailable(f"install-keys service answered HTTP {status} for kid {kid!r}")
        pem = content.decode("ascii", errors="replace")
        if len(content) > MAX_KEY_BYTES or PEM_MARKER not in pem:
            raise InstallKeysUnavailable(
                f"install-keys service answered something other than a PEM key for {kid!r}"
            )
        return pem


def _bounded_body(response: requests.Response) -> bytes:
    """At most ``MAX_KEY_BYTES + 1`` bytes of the body: enough to tell a key from something too big."""
    body = bytearray()
    for chunk in response.iter_content(chunk_size=4096):
        body.extend(chunk)
        if len(body) > MAX_KEY_BYTES:
            break
    return bytes(body[: MAX_KEY_BYTES + 1])
