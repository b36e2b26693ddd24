"""What is wrong with a Connect JWT for a given request: the engine behind ``python -m jira_connect explain``.

Each check mirrors a way Jira refuses (401) or ignores (anonymous) a request, and each finding says what
Jira does about it and what to change. The checks:

1. scheme: the ``Authorization`` scheme must be ``JWT``; ``Bearer`` makes Jira treat the request as
   anonymous (create-issue then fails with the misleading "Field 'summary' cannot be set").
2. structure: three base64url parts with JSON header and claims.
3. alg: exactly HS256.
4. signature: HMAC-SHA256 with the tenant's sharedSecret (only when the secret is given).
5. iss: the app key from the descriptor, not the tenant's clientKey.
6. qsh: present, not the fixed ``context-qsh``, and equal to the hash of this request.
7. time: ``exp`` and ``iat`` present and numeric; not expired; not issued in the future.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import jwt

from jira_connect.qsh import CONTEXT_QSH, canonical_request, hash_canonical_request
from jira_connect.token import ALGORITHM, AUTH_SCHEME

__all__ = ["Diagnosis", "Finding", "diagnose", "split_authorization"]

#: How far a machine clock may drift before a time claim is reported. Jira's own leeway is undocumented;
#: Atlassian's product library allows 30 s.
CLOCK_LEEWAY_SECONDS = 30
BEARER = "bearer"


@dataclass(frozen=True)
class Finding:
    """One thing that makes Jira refuse or ignore the token. ``check`` names the check that failed."""

    check: str
    detail: str


@dataclass(frozen=True)
class Diagnosis:
    canonical_request: str
    query_string_hash: str
    claims: Mapping[str, Any] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    notes: tuple[str, ...] = ()


def split_authorization(value: str) -> tuple[str | None, str]:
    """``(scheme, token)`` from a bare token or a whole ``Authorization`` header value."""
    value = value.strip()
    scheme, _, rest = value.partition(" ")
    if rest and "." not in scheme:
        return scheme, rest.strip()
    return None, value


def diagnose(
    method: str,
    url: str,
    authorization: str | None = None,
    *,
    base_url: str | None = None,
    shared_secret: str | None = None,
    app_key: str | None = None,
    now: float | None = None,
) -> Diagnosis:
    """Canonical request and qsh of ``method`` ``url``; with ``authorization``, every problem of its token."""
    canonical = canonical_request(method, url, base_url)
    expected_qsh = hash_canonical_request(canonical)
    if authorization is None:
        return Diagnosis(canonical, expected_qsh)
    findings: list[Finding] = []
    notes: list[str] = []
    scheme, token = split_authorization(authorization)
    findings.extend(_check_scheme(scheme, token))
    if token.lower().startswith("token="):
        token = token[len("token=") :]
    try:
        header = jwt.get_unverified_header(token)
        claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as e:
        findings.append(Finding("structure", f"the token cannot be decoded as a JWT ({type(e).__name__})"))
        return Diagnosis(canonical, expected_qsh, {}, tuple(findings))
    findings.extend(_check_alg(header))
    if shared_secret is None:
        notes.append("signature not checked: give --secret (or CONNECT_SHARED_SECRET) to check it")
    elif header.get("alg") == ALGORITHM:
        findings.extend(_check_signature(token, shared_secret))
    findings.extend(_check_issuer(claims, app_key))
    findings.extend(_check_qsh(claims, canonical, expected_qsh))
    findings.extend(_check_time(claims, time.time() if now is None else now))
    return Diagnosis(canonical, expected_qsh, claims, tuple(findings), tuple(notes))


def _check_scheme(scheme: str | None, token: str) -> list[Finding]:
    if scheme is None or (scheme.upper() == AUTH_SCHEME and not token.lower().startswith("token=")):
        return []
    if scheme.lower() == BEARER:
        return [
            Finding(
                "scheme",
                "the token is sent as 'Bearer'. Jira does not recognise a Connect JWT under that scheme and "
                "runs the request as anonymous: create-issue answers 400 \"Field 'summary' cannot be set. "
                'It is not on the appropriate screen, or unknown." and project lists come back empty. '
                "Send 'Authorization: JWT <token>' ('Bearer' is only for OAuth 2.0 access tokens).",
            )
        ]
    if scheme.upper() == AUTH_SCHEME:
        return [Finding("scheme", "the header reads 'JWT token=<jwt>'; Jira expects 'JWT <jwt>'")]
    return [Finding("scheme", f"the scheme is {scheme!r}; Jira expects 'Authorization: JWT <token>'")]


def _check_alg(header: Mapping[str, Any]) -> list[Finding]:
    alg = header.get("alg")
    if alg == ALGORITHM:
        return []
    return [
        Finding("alg", f"alg is {alg!r}; Jira accepts only {ALGORITHM} signed with the tenant's sharedSecret")
    ]


def _check_signature(token: str, shared_secret: str) -> list[Finding]:
    try:
        jwt.decode(
            token,
            shared_secret,
            algorithms=[ALGORITHM],
            options={"verify_exp": False, "verify_iat": False, "verify_nbf": False, "verify_aud": False},
        )
    except jwt.InvalidSignatureError:
        return [
            Finding(
                "signature",
                "the signature does not verify with the given shared secret: the token was signed with "
                "another secret (a re-install rotates sharedSecret; use the one from the latest 'installed')",
            )
        ]
    except jwt.PyJWTError as e:
        return [Finding("signature", f"the token cannot be verified ({type(e).__name__})")]
    return []


def _check_issuer(claims: Mapping[str, Any], app_key: str | None) -> list[Finding]:
    iss = claims.get("iss")
    if not isinstance(iss, str) or not iss:
        return [Finding("iss", "the 'iss' claim is missing; it must be the app key from the app descriptor")]
    if app_key is not None and iss != app_key:
        return [
            Finding(
                "iss",
                f"iss is {iss!r} but must be the app key {app_key!r} (the descriptor's 'key'); "
                "using the tenant's clientKey as iss is a classic cause of a bare 401",
            )
        ]
    return []


def _check_qsh(claims: Mapping[str, Any], canonical: str, expected: str) -> list[Finding]:
    qsh = claims.get("qsh")
    if qsh is None:
        return [
            Finding("qsh", f"the 'qsh' claim is missing; expected {expected} for canonical {canonical!r}")
        ]
    if qsh == CONTEXT_QSH:
        return [
            Finding("qsh", "qsh is the fixed 'context-qsh': context tokens do not authenticate REST calls")
        ]
    if qsh != expected:
        return [
            Finding(
                "qsh",
                f"qsh mismatch: the token carries {qsh} but this request hashes to {expected}, "
                f"from the canonical request {canonical!r}. Sign exactly the method, path and query "
                "you send, relative to the tenant's base URL",
            )
        ]
    return []


def _check_time(claims: Mapping[str, Any], now: float) -> list[Finding]:
    findings: list[Finding] = []
    exp, iat = claims.get("exp"), claims.get("iat")
    for name, value in (("exp", exp), ("iat", iat)):
        if value is None:
            findings.append(Finding(name, f"the '{name}' claim is missing; Jira requires it"))
        elif not isinstance(value, int | float) or isinstance(value, bool):
            findings.append(Finding(name, f"'{name}' must be a number of seconds since the epoch"))
    if isinstance(exp, int | float) and not isinstance(exp, bool) and now > exp:
        findings.append(
            Finding("exp", f"the token expired {now - exp:.0f} s ago (exp {exp:.0f}, now {now:.0f})")
        )
    if isinstance(iat, int | float) and not isinstance(iat, bool) and iat > now + CLOCK_LEEWAY_SECONDS:
        findings.append(
            Finding(
                "iat",
                f"the token is not valid yet: iat is {iat - now:.0f} s in the future "
                "(the signing machine's clock is ahead)",
            )
        )
    return findings
