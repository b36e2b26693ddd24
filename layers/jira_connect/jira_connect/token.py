"""Connect JWTs for app -> Jira REST calls (../shared/spec/connect-jwt.md §3).

A token is HS256 (PyJWT's HMAC algorithm) over the tenant's ``sharedSecret`` with the claims ``iss``
(the app key from the descriptor, never the tenant's clientKey), ``iat``, ``exp`` and ``qsh`` (binds the
token to one request).
It travels as ``Authorization: JWT <token>``: sent as ``Bearer``, Jira does not recognise it and runs the
request as anonymous.

The same module builds the one other JWT the app signs: the OAuth 2.0 JWT-bearer *assertion* that trades
the tenant's shared secret for a user's access token (acting as a user, connect-jwt.md §4). That access
token, not a Connect JWT, is what travels as ``Authorization: Bearer``.
"""

from __future__ import annotations

import json
import threading
import time
from urllib.parse import urlsplit

from jwt.algorithms import HMACAlgorithm
from jwt.utils import base64url_encode

from jira_connect.qsh import query_string_hash

__all__ = [
    "ALGORITHM",
    "ASSERTION_TTL_SECONDS",
    "AUTH_SCHEME",
    "DEFAULT_TTL_SECONDS",
    "JWT_BEARER_GRANT_TYPE",
    "authorization_header",
    "authorization_server_audience",
    "encode_token",
    "encode_user_assertion",
]

ALGORITHM = "HS256"
#: The one scheme Jira accepts for a Connect JWT. `Bearer` is for OAuth 2.0 access tokens only.
AUTH_SCHEME = "JWT"
#: Three minutes, as atlassian-connect-express and Atlassian's own samples.
DEFAULT_TTL_SECONDS = 180
#: The OAuth 2.0 grant that exchanges an assertion for an access token (RFC 7523).
JWT_BEARER_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
#: As Atlassian's own OAuth 2.0 client; the authorization server refuses long-lived assertions.
ASSERTION_TTL_SECONDS = 60
CLIENT_ID_URN = "urn:atlassian:connect:clientid:"
ACCOUNT_ID_URN = "urn:atlassian:connect:useraccountid:"
#: How many tenants' prepared signing keys stay in memory.
PREPARED_KEYS_LIMIT = 1024
SEGMENT_SEPARATOR = b"."
#: The JOSE header never changes, so its encoded segment is computed once.
_HEADER_SEGMENT = base64url_encode(
    json.dumps({"alg": ALGORITHM, "typ": "JWT"}, separators=(",", ":")).encode()
)
_HS256 = HMACAlgorithm(HMACAlgorithm.SHA256)
_prepared_keys: dict[str, bytes] = {}
_prepared_keys_lock = threading.Lock()


def _signing_key(shared_secret: str) -> bytes:
    """PyJWT's HMAC key, prepared once per secret.

    PyJWT checks on every call that an HMAC secret is not a PEM, SSH, DER or JWK key, which is most of
    the cost of signing; a tenant's secret is the same for thousands of requests, so the check runs once.
    """
    key = _prepared_keys.get(shared_secret)
    if key is None:
        key = _HS256.prepare_key(shared_secret)
        with _prepared_keys_lock:
            if len(_prepared_keys) >= PREPARED_KEYS_LIMIT:
                _prepared_keys.clear()
            _prepared_keys[shared_secret] = key
    return key


def _sign(claims: dict[str, object], shared_secret: str) -> str:
    """A compact HS256 JWT of ``claims`` (the fixed header, the claims, the signature)."""
    payload = base64url_encode(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = _HEADER_SEGMENT + SEGMENT_SEPARATOR + payload
    signature = base64url_encode(_HS256.sign(signing_input, _signing_key(shared_secret)))
    return (signing_input + SEGMENT_SEPARATOR + signature).decode("ascii")


def encode_token(
    method: str,
    url: str,
    *,
    app_key: str,
    shared_secret: str,
    base_url: str | None = None,
    ttl: int = DEFAULT_TTL_SECONDS,
    now: float | None = None,
) -> str:
    """A Connect JWT for ``method`` on ``url`` (absolute, or a path with its query, as sent).

    ``app_key`` is the app descriptor's ``key`` (the ``iss``); ``base_url`` is the tenant's base URL,
    whose context path the qsh leaves out. ``now`` (epoch seconds) is for tests and tools.
    """
    if not app_key:
        raise ValueError("app_key is required: it is the JWT 'iss' (the app descriptor's key)")
    if not shared_secret:
        raise ValueError("shared_secret is required: the tenant's sharedSecret signs the token")
    if ttl <= 0:
        raise ValueError(f"ttl must be positive, got {ttl}")
    issued_at = int(time.time() if now is None else now)
    claims: dict[str, object] = {
        "iss": app_key,
        "iat": issued_at,
        "exp": issued_at + ttl,
        "qsh": query_string_hash(method, url, base_url),
    }
    return _sign(claims, shared_secret)


def authorization_header(
    method: str,
    url: str,
    *,
    app_key: str,
    shared_secret: str,
    base_url: str | None = None,
    ttl: int = DEFAULT_TTL_SECONDS,
    now: float | None = None,
) -> str:
    """The ``Authorization`` header value for a Connect request: always ``JWT <token>``."""
    token = encode_token(
        method, url, app_key=app_key, shared_secret=shared_secret, base_url=base_url, ttl=ttl, now=now
    )
    return f"{AUTH_SCHEME} {token}"


def encode_user_assertion(
    *,
    oauth_client_id: str,
    account_id: str,
    base_url: str,
    audience: str,
    shared_secret: str,
    ttl: int = ASSERTION_TTL_SECONDS,
    now: float | None = None,
) -> str:
    """The JWT-bearer assertion asking for an access token to act as ``account_id`` on one tenant.

    ``oauth_client_id`` is the tenant's ``oauthClientId`` (installed payload), ``base_url`` its base URL
    (the ``tnt`` claim), ``audience`` the authorization server (:func:`authorization_server_audience`).
    """
    if not oauth_client_id:
        raise ValueError("oauth_client_id is required: it is the assertion's 'iss'")
    if not account_id:
        raise ValueError("account_id is required: it is the assertion's 'sub'")
    if not shared_secret:
        raise ValueError("shared_secret is required: the tenant's sharedSecret signs the assertion")
    issued_at = int(time.time() if now is None else now)
    claims: dict[str, object] = {
        "iss": CLIENT_ID_URN + oauth_client_id,
        "sub": ACCOUNT_ID_URN + account_id,
        "tnt": base_url,
        "aud": audience,
        "iat": issued_at,
        "exp": issued_at + ttl,
    }
    return _sign(claims, shared_secret)


def authorization_server_audience(token_url: str) -> str:
    """The assertion's ``aud``: the authorization server's origin (scheme and authority of the token URL)."""
    parts = urlsplit(token_url)
    return f"{parts.scheme}://{parts.netloc}"
