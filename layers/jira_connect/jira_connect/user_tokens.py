"""Adapter: the OAuth 2.0 authorization server, for access tokens that act as a user (connect-jwt.md §4).

The app signs a JWT-bearer assertion with the tenant's shared secret (:func:`token.encode_user_assertion`)
and trades it at the token endpoint for an access token, sent to Jira as ``Authorization: Bearer``.
Tokens are cached per (tenant, account) until ``expires_in`` minus a margin, per execution environment.

Failures: no ``oauthClientId`` in the tenant record, or a refused grant (the app lacks ACT_AS_USER) ->
``ActAsUserUnavailable`` (permanent); 429/5xx/transport trouble -> retryable (a token request creates
nothing, so it is always safe to send again). Tokens and assertions are never logged or put in messages.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

import requests

from jira_connect.errors import ActAsUserUnavailable, ConnectionFailed, JiraUnavailable, RateLimited
from jira_connect.retry_policy import parse_retry_after
from jira_connect.tenant import Tenant
from jira_connect.token import JWT_BEARER_GRANT_TYPE, authorization_server_audience, encode_user_assertion

__all__ = ["RENEWAL_MARGIN_SECONDS", "UserTokens"]

#: A token is renewed this long before it expires, so it never expires on its way to Jira.
RENEWAL_MARGIN_SECONDS = 30.0
_FORM_CONTENT = "application/x-www-form-urlencoded"
_JSON_CONTENT = "application/json"


class UserTokens:
    """Access tokens per (tenant, account) from one authorization server; thread-safe."""

    def __init__(
        self,
        token_url: str,
        *,
        session_factory: Callable[[], requests.Session],
        timeouts: tuple[float, float],
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
    ) -> None:
        self._token_url = token_url
        self._audience = authorization_server_audience(token_url)
        self._session_factory = session_factory
        self._timeouts = timeouts
        self._clock = clock
        self._wall_clock = wall_clock
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}
        self._lock = threading.Lock()
        self._session: requests.Session | None = None

    def get(self, tenant: Tenant, account_id: str) -> str:
        """A valid access token to act as ``account_id`` on ``tenant`` (cached, or fetched now)."""
        key = (tenant.client_key, account_id)
        with self._lock:
            cached = self._tokens.get(key)
        if cached is not None and self._clock() < cached[1]:
            return cached[0]
        token, expires_in = self._fetch(tenant, account_id)
        renew_at = self._clock() + max(0.0, expires_in - RENEWAL_MARGIN_SECONDS)
        with self._lock:
            self._tokens[key] = (token, renew_at)
        return token

    def forget(self, client_key: str, account_id: str) -> None:
        """Drop a cached token (Jira refused it)."""
        with self._lock:
            self._tokens.pop((client_key, account_id), None)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    def _fetch(self, tenant: Tenant, account_id: str) -> tuple[str, float]:
        if not tenant.oauth_client_id:
            raise ActAsUserUnavailable(
                f"cannot act as a user on tenant {tenant.client_key!r}: its installation record has no "
                "oauthClientId (the app needs the ACT_AS_USER scope in its descriptor, then a re-install)"
            )
        assertion = encode_user_assertion(
            oauth_client_id=tenant.oauth_client_id,
            account_id=account_id,
            base_url=tenant.base_url,
            audience=self._audience,
            shared_secret=tenant.shared_secret,
            now=self._wall_clock(),
        )
        if self._session is None:
            self._session = self._session_factory()
        try:
            response = self._session.post(
                self._token_url,
                data={"grant_type": JWT_BEARER_GRANT_TYPE, "assertion": assertion},
                headers={"Content-Type": _FORM_CONTENT, "Accept": _JSON_CONTENT},
                timeout=self._timeouts,
                allow_redirects=False,
            )
        except requests.RequestException as e:
            raise ConnectionFailed(
                f"authorization server {self._token_url} unreachable ({type(e).__name__})"
            ) from e
        return self._token_from(response, tenant)

    def _token_from(self, response: requests.Response, tenant: Tenant) -> tuple[str, float]:
        status = response.status_code
        if status == 429 or status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), now=self._wall_clock())
            leaf = RateLimited if status == 429 else JiraUnavailable
            raise leaf(
                f"authorization server {self._token_url} answered {status}",
                status=status,
                retry_after=retry_after,
            )
        payload = _json_object(response)
        if status != 200:
            # RFC 6749 §5.2 error codes are safe to show; they never echo the assertion.
            said = " ".join(str(payload.get(k, "")) for k in ("error", "error_description")).strip()
            raise ActAsUserUnavailable(
                f"the authorization server refused to let the app act as a user on tenant "
                f"{tenant.client_key!r} ({status}{': ' + said if said else ''}); "
                "the app needs the ACT_AS_USER scope",
                status=status,
            )
        token = payload.get("access_token")
        expires_in = payload.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int | float):
            raise JiraUnavailable(
                f"authorization server {self._token_url} answered 200 without a usable token"
            )
        return token, float(expires_in)


def _json_object(response: requests.Response) -> Mapping[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
