"""Who a request runs as, decided the way Jira decides it (spec E1; connect-jwt.md §3).

1. ``Authorization: JWT <token>`` (scheme case-insensitive), or ``?jwt=`` when the legacy toggle is on:
   the token must be HS256 (no other algorithm), its ``iss`` the tenant's app key, its signature made with
   the tenant's shared secret, ``exp`` not passed and ``iat`` not in the future (both with the configured
   leeway), and its ``qsh`` equal to the hash of the request as received, the tenant's context path
   dropped. Any failure is a 401 naming the reason. Success: the app's bot user.
2. ``Authorization: Bearer <token>`` where the token is an OAuth access token this emulator issued for
   this tenant and not yet expired: that user (connect-jwt.md §4).
3. Anything else (no header, ``Bearer <jwt>``, an ignored ``?jwt=``) is anonymous.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from devstack.jira_emulator.config import AuthConfig
from devstack.jira_emulator.model import Principal, Tenant, User
from devstack.jira_emulator.replies import HTML, JiraError
from jira_connect.qsh import CONTEXT_QSH, canonical_request, hash_canonical_request

__all__ = [
    "ANONYMOUS",
    "AccessToken",
    "AuthFailure",
    "authenticate",
    "decode_hs256",
    "scheme_and_token",
]

ANONYMOUS = Principal("anonymous")
ALLOWED_ALGORITHM = "HS256"
JWT_SCHEME = "jwt"
BEARER_SCHEME = "bearer"
QUERY_PARAMETER = "jwt"
GENERIC_401 = "Client must be authenticated to access this resource."
HTML_401 = (
    b"<!DOCTYPE html><html><head><title>Unauthorized (401)</title></head><body>"
    b"<h1>Unauthorized (401)</h1>"
    b"<p>Encountered a &quot;401 - Unauthorized&quot; error while loading this page.</p></body></html>"
)


_HEADERS: dict[str, Any] = {}
_MAX_HEADERS = 256


class AuthFailure(Exception):
    """A token was presented and rejected; the message says which check failed (never the token)."""


@dataclass(frozen=True, slots=True)
class AccessToken:
    """An OAuth 2.0 access token issued by ``POST /oauth2/token``."""

    tenant: Tenant
    user: User
    scopes: frozenset[str]
    expires_at: float


def scheme_and_token(header: str) -> tuple[str, str]:
    """``("jwt", token)`` for ``JWT <token>`` in any case (Jira compares the prefix case-insensitively)."""
    scheme, _, token = header.strip().partition(" ")
    return scheme.lower(), token.strip()


def authenticate(
    *,
    tenant: Tenant,
    method: str,
    raw_path: str,
    raw_query: str,
    authorization: str | None,
    access_tokens: Mapping[str, AccessToken],
    config: AuthConfig,
    now: float,
) -> Principal:
    """The principal of a request to ``tenant``; raises :class:`JiraError` 401 for a rejected token."""
    scheme, token = scheme_and_token(authorization) if authorization else ("", "")
    if config.accept_query_jwt and QUERY_PARAMETER in _query_names(raw_query):
        # Legacy Jira read the parameter before the header.
        scheme, token = JWT_SCHEME, _query_value(raw_query, QUERY_PARAMETER)
    try:
        if scheme == JWT_SCHEME and token:
            _verify_connect_jwt(
                token,
                tenant=tenant,
                method=method,
                raw_path=raw_path,
                raw_query=raw_query,
                config=config,
                now=now,
            )
            return Principal("app", tenant, tenant.bot, tenant.scopes)
        if scheme == BEARER_SCHEME and token in access_tokens:
            return _access_token_principal(access_tokens[token], tenant, now)
    except AuthFailure as failure:
        raise _unauthorized(str(failure), config) from None
    return ANONYMOUS


def decode_hs256(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    """Header, claims, signing input and signature of a compact JWS; nothing is verified yet."""
    parts = token.split(".")
    if len(parts) != 3:
        raise AuthFailure("JWT is malformed: expected three base64url parts separated by '.'")
    try:
        header = _header(parts[0])
        claims = json.loads(_b64decode(parts[1]).decode("utf-8"))
        signature = _b64decode(parts[2])
    except (ValueError, binascii.Error):
        raise AuthFailure("JWT is malformed: a part is not base64url-encoded JSON") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise AuthFailure("JWT is malformed: header and claims must be JSON objects")
    algorithm = header.get("alg")
    if algorithm != ALLOWED_ALGORITHM:
        raise AuthFailure(f"JWT algorithm '{algorithm}' is not accepted: only {ALLOWED_ALGORITHM}")
    return header, claims, f"{parts[0]}.{parts[1]}".encode("ascii"), signature


def verify_signature(signing_input: bytes, signature: bytes, secret: str) -> None:
    expected = hmac.digest(secret.encode("utf-8"), signing_input, hashlib.sha256)
    if not hmac.compare_digest(expected, signature):
        raise AuthFailure("JWT signature does not verify with the shared secret")


def check_times(claims: Mapping[str, Any], leeway: float, now: float) -> None:
    """``exp`` and ``iat`` are required numbers: not expired, not issued in the future (with leeway)."""
    for name in ("exp", "iat"):
        value = claims.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise AuthFailure(f"JWT lacks the numeric '{name}' claim")
    if now > claims["exp"] + leeway:
        raise AuthFailure(f"JWT expired at {claims['exp']} and time is now {int(now)} ({leeway:g} s leeway)")
    if claims["iat"] > now + leeway:
        raise AuthFailure(
            f"JWT issued in the future: iat {claims['iat']} and time is now {int(now)} ({leeway:g} s leeway)"
        )


def _verify_connect_jwt(
    token: str, *, tenant: Tenant, method: str, raw_path: str, raw_query: str, config: AuthConfig, now: float
) -> None:
    _, claims, signing_input, signature = decode_hs256(token)
    issuer = claims.get("iss")
    if not tenant.installed:
        raise AuthFailure(f"JWT issuer '{issuer}' is not an app installed on this site")
    if issuer != tenant.app_key and issuer not in config.extra_issuers:
        raise AuthFailure(f"JWT issuer '{issuer}' is not the key of the app installed on this site")
    verify_signature(signing_input, signature, tenant.shared_secret)
    check_times(claims, config.jwt_leeway_seconds, now)
    url = f"{raw_path}?{raw_query}" if raw_query else raw_path
    canonical = canonical_request(method, url, tenant.context_path)
    qsh = claims.get("qsh")
    if qsh == CONTEXT_QSH:
        raise AuthFailure(
            f"JWT qsh 'context-qsh' is not accepted here: expected canonical request '{canonical}'"
        )
    if not isinstance(qsh, str) or not hmac.compare_digest(qsh, hash_canonical_request(canonical)):
        raise AuthFailure(f"JWT qsh mismatch: expected canonical request '{canonical}'")


def _access_token_principal(access: AccessToken, tenant: Tenant, now: float) -> Principal:
    if access.tenant is not tenant:
        raise AuthFailure("OAuth access token was issued for another site")
    if now >= access.expires_at:
        raise AuthFailure("OAuth access token has expired")
    return Principal("user", tenant, access.user, access.scopes)


def _unauthorized(reason: str, config: AuthConfig) -> JiraError:
    mode = config.failure_body
    if mode == "html":
        return JiraError(401, body=HTML_401, content_type=HTML, reason=reason)
    if mode == "empty":
        return JiraError(401, body=b"", content_type=None, reason=reason)
    return JiraError(401, [reason if mode == "reason" else GENERIC_401], reason=reason)


def _header(part: str) -> Any:
    """The decoded JOSE header. Clients send the same few headers over and over, so they are kept."""
    header = _HEADERS.get(part)
    if header is None:
        header = json.loads(_b64decode(part).decode("utf-8"))
        if len(_HEADERS) < _MAX_HEADERS and isinstance(header, dict):
            _HEADERS[part] = header
    return header


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _query_names(raw_query: str) -> set[str]:
    return {pair.partition("=")[0] for pair in raw_query.split("&")} if raw_query else set()


def _query_value(raw_query: str, name: str) -> str:
    for pair in raw_query.split("&"):
        key, _, value = pair.partition("=")
        if key == name:
            return value
    return ""
