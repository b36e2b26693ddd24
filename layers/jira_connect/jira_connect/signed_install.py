"""Signed install: verify an ``installed``/``uninstalled`` callback from Atlassian (connect-jwt.md §5.2).

With ``"apiMigrations": {"signed-install": true}`` Atlassian signs every lifecycle callback with RS256 and
publishes the public key under the token's ``kid``. The callback is trusted only when every step passes,
in this order (cheap checks on the unverified token first, so a forged token costs no key fetch):

1. ``Authorization`` is ``JWT <token>`` (scheme case-insensitive).
2. The unverified header says ``alg`` ``RS256`` exactly: ``HS256`` (the public key used as an HMAC
   secret), ``none`` and everything else are refused.
3. ``kid`` is present and a plain key name: ``[A-Za-z0-9._/-]``, no ``..`` anywhere, no ``.`` or empty
   segment (so no leading ``/``), at most :data:`MAX_KID_LENGTH` characters (it becomes part of the key URL).
4. The public key for ``kid`` is looked up (``kid -> PEM``); an unknown ``kid`` fails verification, and
   so does a key that is not RSA of at least :data:`MIN_RSA_KEY_BITS` bits.
5. The signature verifies with that key, RS256 only.
6. ``exp`` is present and not passed, ``nbf`` (if any) is reached, with :data:`LEEWAY_SECONDS` of
   leeway either way; ``iat`` is present.
7. ``aud`` (a string, or a list whose first entry counts) equals the app's base URL, each with one
   trailing ``/`` removed.
8. ``qsh`` equals the query string hash of this request, relative to the app's base URL.
9. ``iss`` is present; it is the tenant's clientKey.
10. The body has ``key``, ``clientKey``, ``baseUrl`` (and ``sharedSecret`` for ``installed``) as
    non-empty strings; ``key`` is this app's key; ``eventType``, when given, is this callback's.
11. The body's ``clientKey`` equals ``iss``: a tenant can only write its own record.
12. The body's ``baseUrl`` passes the host guard: no signed request will ever go anywhere else.

Every failure raises :class:`~jira_connect.errors.InstallVerificationFailed` whose ``check`` names the
step; messages never contain the token or the shared secret. The clock is injectable for tests.
"""

from __future__ import annotations

import hmac
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt.types import Options

from jira_connect.errors import DisallowedBaseUrl, InstallVerificationFailed
from jira_connect.host_guard import HostGuard
from jira_connect.qsh import canonical_request, hash_canonical_request

__all__ = [
    "ALGORITHM",
    "AUTH_SCHEME",
    "LEEWAY_SECONDS",
    "MAX_KID_LENGTH",
    "MIN_RSA_KEY_BITS",
    "KeyLookup",
    "LifecycleEvent",
    "SignedInstallVerifier",
    "check_kid",
]

#: The only algorithm signed-install tokens may use.
ALGORITHM = "RS256"
AUTH_SCHEME = "JWT"
#: Clock skew allowed on ``exp`` and ``nbf``: Atlassian's own library allows 30 s (TIME_CLAIM_LEEWAY_SECONDS).
LEEWAY_SECONDS = 30
MAX_KID_LENGTH = 256
#: Smaller RSA keys are refused (PyJWT only warns).
MIN_RSA_KEY_BITS = 2048
KID_SEGMENT_SEPARATOR = "/"
PARENT_SEGMENT = ".."

LifecycleEvent = Literal["installed", "uninstalled"]
#: ``kid -> PEM`` public key. Raises ``UnknownInstallKey`` for a kid nobody published.
KeyLookup = Callable[[str], str]

_KID_CHARACTERS = re.compile(r"[A-Za-z0-9._/-]+")
_EMPTY_OR_DOT = frozenset({"", "."})
_REQUIRED_BODY_FIELDS: dict[LifecycleEvent, tuple[str, ...]] = {
    "installed": ("key", "clientKey", "sharedSecret", "baseUrl"),
    "uninstalled": ("key", "clientKey", "baseUrl"),
}
# Time claims are checked here against the injected clock, aud/iss by the rules above: PyJWT only
# verifies the signature (and that the algorithm is on the allow-list).
_SIGNATURE_ONLY: Options = {
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
    "verify_sub": False,
    "verify_jti": False,
}


@dataclass(frozen=True)
class SignedInstallVerifier:
    """Verifies lifecycle callbacks for one app (``app_key`` at ``app_base_url``)."""

    app_key: str
    #: The descriptor's ``baseUrl``: the ``aud`` Atlassian signs for, and the root the qsh is relative to.
    app_base_url: str
    public_key: KeyLookup = field(repr=False)
    host_guard: HostGuard
    clock: Callable[[], float] = field(default=time.time, repr=False)

    def verify(
        self,
        event: LifecycleEvent,
        *,
        method: str,
        path_with_query: str,
        authorization: str | None,
        body: Mapping[str, Any],
    ) -> dict[str, Any]:
        """The verified claims of a lifecycle callback, or :class:`InstallVerificationFailed`.

        ``path_with_query`` is the request path as received (with its query, if any), including any
        prefix that the app's base URL has (an API Gateway stage): the qsh drops the base URL's path.
        """
        token = bearer_token(authorization)
        kid = self._checked_header(token)
        claims = self._checked_signature(token, kid)
        check_times(claims, now=self.clock())
        check_audience(claims, self.app_base_url)
        check_qsh(claims, method, path_with_query, self.app_base_url)
        issuer = check_issuer(claims)
        check_body(event, body, app_key=self.app_key, issuer=issuer, host_guard=self.host_guard)
        return claims

    def _checked_header(self, token: str) -> str:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as e:
            raise InstallVerificationFailed("the Authorization token is not a JWT", check="token") from e
        alg = header.get("alg")
        if alg != ALGORITHM:
            raise InstallVerificationFailed(
                f"token algorithm {_shown(alg)} is not allowed: lifecycle callbacks must be signed "
                f"with {ALGORITHM} (signed install)",
                check="alg",
            )
        return check_kid(header.get("kid"))

    def _checked_signature(self, token: str, kid: str) -> dict[str, Any]:
        key = _rsa_public_key(self.public_key(kid), kid)
        try:
            claims = jwt.decode(token, key=key, algorithms=[ALGORITHM], options=_SIGNATURE_ONLY)
        except jwt.InvalidSignatureError as e:
            raise InstallVerificationFailed(
                f"token signature does not verify with the install key {kid!r}", check="signature"
            ) from e
        except jwt.InvalidTokenError as e:
            raise InstallVerificationFailed(f"token is malformed ({type(e).__name__})", check="token") from e
        return dict(claims)


def bearer_token(authorization: str | None) -> str:
    """Step 1: the token of an ``Authorization: JWT <token>`` header."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if not scheme:
        raise InstallVerificationFailed(
            "no Authorization header (a signed-install JWT is required)", check="token"
        )
    if scheme.upper() != AUTH_SCHEME or not token.strip():
        raise InstallVerificationFailed(
            f"Authorization scheme must be {AUTH_SCHEME!r} followed by the token", check="token"
        )
    return token.strip()


def check_kid(kid: object) -> str:
    """Step 3: ``kid`` is a plain key name, safe to append to the install-keys URL."""
    if not isinstance(kid, str) or not kid:
        raise InstallVerificationFailed("token header has no 'kid' (the install key id)", check="kid")
    if (
        len(kid) > MAX_KID_LENGTH
        or not _KID_CHARACTERS.fullmatch(kid)
        or PARENT_SEGMENT in kid
        or any(s in _EMPTY_OR_DOT for s in kid.split(KID_SEGMENT_SEPARATOR))
    ):
        raise InstallVerificationFailed(
            f"token 'kid' {_shown(kid)} is not a plain key name "
            "([A-Za-z0-9._/-], no '..', no empty or '.' segment)",
            check="kid",
        )
    return kid


def check_times(claims: Mapping[str, Any], *, now: float) -> None:
    """Step 6: ``exp`` present and not passed, ``nbf`` reached, ``iat`` present (leeway either way)."""
    exp = _numeric_claim(claims, "exp")
    _numeric_claim(claims, "iat")
    if now - LEEWAY_SECONDS >= exp:
        raise InstallVerificationFailed(
            f"token expired at {exp:.0f}; it is now {now:.0f} ({LEEWAY_SECONDS} s leeway allowed)",
            check="exp",
        )
    if "nbf" in claims and now + LEEWAY_SECONDS < _numeric_claim(claims, "nbf"):
        raise InstallVerificationFailed(
            f"token is not valid before {claims['nbf']}; it is now {now:.0f}", check="nbf"
        )


def check_audience(claims: Mapping[str, Any], app_base_url: str) -> None:
    """Step 7: ``aud`` (or its first entry) is the app's base URL, one trailing ``/`` aside."""
    aud = claims.get("aud")
    audience = aud[0] if isinstance(aud, list) and aud else aud
    if not isinstance(audience, str) or _without_one_slash(audience) != _without_one_slash(app_base_url):
        raise InstallVerificationFailed(
            f"token audience {_shown(audience)} is not this app's base URL {app_base_url!r} "
            "(APP_BASE_URL must be the descriptor's baseUrl)",
            check="aud",
        )


def check_qsh(claims: Mapping[str, Any], method: str, path_with_query: str, app_base_url: str) -> None:
    """Step 8: ``qsh`` is the hash of this request (so a token for one callback fits no other)."""
    qsh = claims.get("qsh")
    if not isinstance(qsh, str) or not qsh:
        raise InstallVerificationFailed("token has no 'qsh' claim", check="qsh")
    canonical = canonical_request(method, path_with_query, app_base_url)
    if not hmac.compare_digest(qsh.encode(), hash_canonical_request(canonical).encode()):
        raise InstallVerificationFailed(
            f"token 'qsh' is not the hash of this request ({canonical!r}): the token was issued for "
            "another request, or APP_BASE_URL's path is not the prefix this request arrived under",
            check="qsh",
        )


def check_issuer(claims: Mapping[str, Any]) -> str:
    """Step 9: ``iss`` is present (Atlassian sets it to the tenant's clientKey)."""
    iss = claims.get("iss")
    if not isinstance(iss, str) or not iss:
        raise InstallVerificationFailed("token has no 'iss' claim (the tenant's clientKey)", check="iss")
    return iss


def check_body(
    event: LifecycleEvent, body: Mapping[str, Any], *, app_key: str, issuer: str, host_guard: HostGuard
) -> None:
    """Steps 10-12: the payload is complete, for this app and event, from the issuer, for an allowed host."""
    for name in _REQUIRED_BODY_FIELDS[event]:
        value = body.get(name)
        if not isinstance(value, str) or not value:
            raise InstallVerificationFailed(
                f"{event} payload has no usable {name!r} (a non-empty string is required)", check="body"
            )
    if body["key"] != app_key:
        raise InstallVerificationFailed(
            f"{event} payload is for app {_shown(body['key'])}, not this app {app_key!r}", check="app_key"
        )
    if body.get("eventType", event) != event:
        raise InstallVerificationFailed(
            f"payload eventType {_shown(body.get('eventType'))} was sent to the {event} callback",
            check="event_type",
        )
    if body["clientKey"] != issuer:
        raise InstallVerificationFailed(
            f"payload clientKey {_shown(body['clientKey'])} is not the token's issuer {issuer!r}", check="iss"
        )
    try:
        host_guard.check(body["baseUrl"])
    except DisallowedBaseUrl as e:
        raise InstallVerificationFailed(f"payload baseUrl refused: {e.message}", check="base_url") from e


def _rsa_public_key(pem: str, kid: str) -> RSAPublicKey:
    try:
        key = load_pem_public_key(pem.encode())
    except ValueError as e:
        raise InstallVerificationFailed(f"install key {kid!r} is not a PEM public key", check="key") from e
    if not isinstance(key, RSAPublicKey):
        raise InstallVerificationFailed(f"install key {kid!r} is not an RSA key", check="key")
    if key.key_size < MIN_RSA_KEY_BITS:
        raise InstallVerificationFailed(
            f"install key {kid!r} has {key.key_size} bits; at least {MIN_RSA_KEY_BITS} are required",
            check="key",
        )
    return key


def _numeric_claim(claims: Mapping[str, Any], name: str) -> float:
    value = claims.get(name)
    # bool is an int to Python, never a time to JWT.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InstallVerificationFailed(f"token has no numeric {name!r} claim", check=name)
    return float(value)


def _without_one_slash(url: str) -> str:
    return url.removesuffix("/")


def _shown(value: object, limit: int = 80) -> str:
    """A claim or header value for an error message: repr, shortened."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
