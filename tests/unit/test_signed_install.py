"""Signed-install verification (connect-jwt.md §5.2): every attack on a lifecycle callback is refused.

Atlassian is played by an RSA key generated here; ``PublishedKeys`` is the install-keys CDN.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import posixpath
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given
from hypothesis import strategies as st

from jira_connect.errors import InstallVerificationFailed, UnknownInstallKey
from jira_connect.host_guard import HostGuard
from jira_connect.qsh import CONTEXT_QSH, query_string_hash
from jira_connect.signed_install import (
    LEEWAY_SECONDS,
    MAX_KID_LENGTH,
    LifecycleEvent,
    SignedInstallVerifier,
    check_kid,
)

APP_KEY = "com.example.jira-issue-creator"
# A named API Gateway stage: requests arrive under /prod, and the qsh leaves it out.
APP_BASE_URL = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
CLIENT_KEY = "jira:6f1c3b0e-8d3a-4c2f-9b7e-1a2b3c4d5e6f"
SHARED_SECRET = "a-shared-secret-that-must-never-appear-in-messages"
TENANT_BASE_URL = "https://acme.atlassian.net"
KID = "connect/prod/2026-05-key.1"
NOW = 1_800_000_000
INSTALLED_PATH = "/prod/installed"
UNINSTALLED_PATH = "/prod/uninstalled"


def _private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _public_pem(key: rsa.RSAPrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def atlassian_key() -> rsa.RSAPrivateKey:
    return _private_key()


@pytest.fixture(scope="module")
def attacker_key() -> rsa.RSAPrivateKey:
    return _private_key()


class PublishedKeys:
    """The install-keys CDN: ``kid -> PEM``, remembering what was asked."""

    def __init__(self, keys: dict[str, str]) -> None:
        self.keys = keys
        self.asked: list[str] = []

    def __call__(self, kid: str) -> str:
        self.asked.append(kid)
        if kid not in self.keys:
            raise UnknownInstallKey(f"no install key is published under kid {kid!r} (HTTP 404)")
        return self.keys[kid]


@pytest.fixture
def published(atlassian_key: rsa.RSAPrivateKey) -> PublishedKeys:
    return PublishedKeys({KID: _public_pem(atlassian_key)})


@pytest.fixture
def verifier(published: PublishedKeys) -> SignedInstallVerifier:
    return SignedInstallVerifier(
        app_key=APP_KEY,
        app_base_url=APP_BASE_URL,
        public_key=published,
        host_guard=HostGuard.from_setting(None),
        clock=lambda: float(NOW),
    )


def payload(event: LifecycleEvent = "installed", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "key": APP_KEY,
        "clientKey": CLIENT_KEY,
        "sharedSecret": SHARED_SECRET,
        "baseUrl": TENANT_BASE_URL,
        "displayUrl": TENANT_BASE_URL,
        "productType": "jira",
        "description": "Atlassian JIRA at https://acme.atlassian.net",
        "eventType": event,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def claims_for(path: str = INSTALLED_PATH, method: str = "POST", **overrides: Any) -> dict[str, Any]:
    """What Atlassian signs for a callback to ``path`` (None drops a claim)."""
    claims: dict[str, Any] = {
        "iss": CLIENT_KEY,
        "aud": [APP_BASE_URL],
        "iat": NOW - 5,
        "exp": NOW + 175,
        "qsh": query_string_hash(method, path, APP_BASE_URL),
        "sub": "557058:0f0f0f0f",
        "context": {},
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def rs256(key: rsa.RSAPrivateKey, claims: dict[str, Any], kid: str | None = KID) -> str:
    headers = {"kid": kid} if kid is not None else {}
    return jwt.encode(claims, key, algorithm="RS256", headers=headers)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    """A JWT built by hand, as an attacker would (PyJWT refuses to build some of these)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    return f"{signing_input}.{_b64(sign(signing_input.encode()))}"


def call(
    verifier: SignedInstallVerifier,
    token: str,
    *,
    event: LifecycleEvent = "installed",
    path: str = INSTALLED_PATH,
    body: dict[str, Any] | None = None,
    scheme: str = "JWT",
) -> dict[str, Any]:
    return verifier.verify(
        event,
        method="POST",
        path_with_query=path,
        authorization=f"{scheme} {token}",
        body=payload(event) if body is None else body,
    )


def refused(check: str, attempt: Callable[[], object]) -> InstallVerificationFailed:
    with pytest.raises(InstallVerificationFailed) as caught:
        attempt()
    assert caught.value.check == check, str(caught.value)
    return caught.value


# -- the valid callbacks ------------------------------------------------------------------------------


def test_valid_installed_callback_returns_the_verified_claims(
    verifier: SignedInstallVerifier, atlassian_key: rsa.RSAPrivateKey
) -> None:
    claims = call(verifier, rs256(atlassian_key, claims_for()))
    assert claims["iss"] == CLIENT_KEY
    assert claims["qsh"] == hashlib.sha256(b"POST&/installed&").hexdigest()


def test_valid_uninstalled_callback_needs_no_shared_secret(
    verifier: SignedInstallVerifier, atlassian_key: rsa.RSAPrivateKey
) -> None:
    token = rs256(atlassian_key, claims_for(UNINSTALLED_PATH))
    body = payload("uninstalled", sharedSecret=None)
    assert call(verifier, token, event="uninstalled", path=UNINSTALLED_PATH, body=body)["iss"] == CLIENT_KEY


@pytest.mark.parametrize("scheme", ["JWT", "jwt", "Jwt"])
def test_authorization_scheme_is_case_insensitive(
    verifier: SignedInstallVerifier, atlassian_key: rsa.RSAPrivateKey, scheme: str
) -> None:
    call(verifier, rs256(atlassian_key, claims_for()), scheme=scheme)


@pytest.mark.parametrize(
    "aud", [APP_BASE_URL, APP_BASE_URL + "/", [APP_BASE_URL], [APP_BASE_URL + "/", "https://other.example"]]
)
def test_audience_is_the_app_base_url_as_a_string_or_first_list_entry(
    verifier: SignedInstallVerifier, atlassian_key: rsa.RSAPrivateKey, aud: object
) -> None:
    call(verifier, rs256(atlassian_key, claims_for(aud=aud)))


def test_token_expired_within_the_leeway_is_accepted(
    verifier: SignedInstallVerifier, atlassian_key: rsa.RSAPrivateKey
) -> None:
    call(verifier, rs256(atlassian_key, claims_for(exp=NOW - LEEWAY_SECONDS + 1)))


def test_query_string_of_the_callback_is_bound_by_the_qsh(
    verifier: SignedInstallVerifier, atlassian_key: rsa.RSAPrivateKey
) -> None:
    path = INSTALLED_PATH + "?user_key=admin&b=2"
    call(verifier, rs256(atlassian_key, claims_for(path)), path=path)


# -- attacks on the token ------------------------------------------------------------------------------


def test_missing_authorization_header_is_refused(verifier: SignedInstallVerifier) -> None:
    refused(
        "token",
        lambda: verifier.verify(
            "installed", method="POST", path_with_query=INSTALLED_PATH, authorization=None, body=payload()
        ),
    )


def test_bearer_scheme_is_refused(verifier: SignedInstallVerifier, atlassian_key: rsa.RSAPrivateKey) -> None:
    refused("token", lambda: call(verifier, rs256(atlassian_key, claims_for()), scheme="Bearer"))


def test_garbage_instead_of_a_jwt_is_refused(verifier: SignedInstallVerifier) -> None:
    refused("token", lambda: call(verifier, "not.a-jwt"))


def test_forged_signature_with_another_key_is_refused(
    verifier: SignedInstallVerifier, attacker_key: rsa.RSAPrivateKey
) -> None:
    refused("signature", lambda: call(verifier, rs256(attacker_key, claims_for())))


def test_tampered_claims_under_a_genuine_signature_are_refused(
    verifier: SignedInstallVerifier, atlassian_key: rsa.RSAPrivateKey
) -> None:
    header, _, signature = rs256(atlassian_key, claims_for()).split(".")
    evil_claims = _b64(json.dumps(claims_for(iss="jira:victim")).encode())
    refused("signature", lambda: call(verifier, f"{header}.{evil_claims}.{signature}"))


def test_hs256_token_signed_with_the_public_key_is_refused_before_any_key_lookup(
    verifier: SignedInstallVerifier, published: PublishedKeys
) -> None:
    # Algorithm confusion: the public key is public, so an HMAC over it is forgeable by anyone.
    public_pem = published.keys[KID].encode()
    token = hand_made(
        {"alg": "HS256", "typ": "JWT", "kid": KID},
        claims_for(),
        lambda data: hmac.new(public_pem, data, hashlib.sha256).digest(),
    )
    refused("alg", lambda: call(verifier, token))
    assert published.asked == []


def test_alg_none_token_is_refused(verifier: SignedInstallVerifier, published: PublishedKeys) -> None:
    token = hand_made({"alg": "none", "typ": "JWT", "kid": KID}, claims_for(), lambda _: b"")
    refused("alg", lambda: call(verifier, token))
    assert published.asked == []


@pytest.mark.parametrize("alg", ["rs256", "RS512", "PS256", "ES256", "HS512", "", None])
def test_any_algorithm_but_rs256_is_refused(
    verifier: SignedInstallVerifier, published: PublishedKeys, alg: str | None
) -> None:
    token = hand_made({"alg": alg, "kid": KID}, claims_for(), lambda _: b"sig")
    refused("alg", lambda: call(verifier, token))
    assert published.asked == []


def test_token_without_kid_is_refused(
    verifier: SignedInstallVerifier, atlassian_key: rsa.RSAPrivateKey
) -> None:
    refused("kid", lambda: call(verifier, rs256(atlassian_key, claims_for(), kid=None)))


def test_unknown_kid_is_refused(verifier: SignedInstallVerifier, attacker_key: rsa.RSAPrivateKey) -> None:
    error = refused("kid", lambda: call(verifier, rs256(attacker_key, claims_for(), kid="attacker/own-key")))
    assert isinstance(error, UnknownInstallKey)


TRICK_KIDS = [
    "../../../etc/passwd",
    "keys/../../admin",
    "/etc/passwd",
    "//evil.example/key",
    "https://evil.example/key",
    "evil.example:443/key",
    "key?x=1",
    "key#fragment",
    "%2e%2e/%2e%2e/admin",
    "a//b",
    "./key",
    "key/",
    "key/.",
    "..",
    "a..b",
    "a b",
    "key\n",
    "k" * (MAX_KID_LENGTH + 1),
]


@pytest.mark.parametrize("kid", TRICK_KIDS)
def test_kid_with_path_tricks_is_refused_before_any_key_lookup(
    verifier: SignedInstallVerifier, published: PublishedKeys, atlassian_key: rsa.RSAPrivateKey, kid: str
) -> None:
    refused("kid", lambda: call(verifier, rs256(atlassian_key, claims_for(), kid=kid)))
    assert published.asked == []


@pytest.mark.parametrize("kid", [KID, "0e50fccb-239d-4991-a5db-dc850ba3f236", "a", "a.b_c-d/.e.f"])
def test_plain_kid_names_are_accepted(kid: str) -> None:
    assert check_kid(kid) == kid


@given(st.text(min_size=1, max_size=40))
def test_every_accepted_kid_stays_below_the_install_keys_url(kid: str) -> None:
    try:
        check_kid(kid)
    except InstallVerificationFailed:
        return
    assert posixpath.normpath("/keys/" + kid) == "/keys/" + kid
    assert not any(ch in kid for ch in ":?#%\\ ")


def test_published_key_that_is_not_rsa_is_refused(
    verifier: SignedInstallVerifier, published: PublishedKeys, atlassian_key: rsa.RSAPrivateKey
) -> None:
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    published.keys[KID] = ec_pem.decode()
    refused("key", lambda: call(verifier, rs256(atlassian_key, claims_for())))


def test_published_rsa_key_shorter_than_2048_bits_is_refused(
    verifier: SignedInstallVerifier, published: PublishedKeys
) -> None:
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 (the attack)
    published.keys[KID] = _public_pem(weak)
    refused("key", lambda: call(verifier, rs256(weak, claims_for())))


def test_published_key_that_is_not_pem_is_refused(
    verifier: SignedInstallVerifier, published: PublishedKeys, atlassian_key: rsa.RSAPrivateKey
) -> None:
    published.keys[KID] = "<html>not a key</html>"
    refused("key", lambda: call(verifier, rs256(atlassian_key, claims_for())))


@pytest.mark.parametrize(
    "aud",
    [
        "https://attacker.example",
        APP_BASE_URL + "//",
        APP_BASE_URL.removesuffix("/prod"),
        APP_BASE_URL.upper(),
        ["https://attacker.example", APP_BASE_URL],
        [],
        None,
        42,
    ],
)
def test_wrong_audience_is_refused(
    verifier: SignedInstallVerifier, atlassian_key: rsa.RSAPrivateKey, aud: object
) -> None:
    # A token Atlassian issued for another app (or another deployment of this one) is not ours.
    refused("aud", lambda: call(verifier, rs256(atlassian_key, claims_for(aud=aud))))


def test_token_for_uninstalled_sent_to_installed_is_refused(
    verifier: SignedInstallVerifier, atlassian_key: rsa.RSAPrivateKey
) -> None:
    refused("qsh", lambda: call(verifier, rs256(atlassian_key, claims_for(UNINSTALLED_PATH))))


def test_token_for_another_query_string_is_refused(
    verifier: SignedInstallVerifier, atlassian_key: rsa.RSAPrivateKey
) -> None:
    token = rs256(atlassian_key, claims_for(INSTALLED_PATH + "?a=1"))
    refused("qsh", lambda: call(verifier, token, path=INSTALLED_PATH + "?a=2"))


def test_token_for_another_method_is_refused(
    verifier: SignedInstallVerifier, atlassian_key: rsa.RSAPrivateKey
) -> None:
    refused("qsh", lambda: call(verifier, rs256(atlassian_key, claims_for(method="GET"))))


def test_qsh_that_includes_the_stage_prefix_is_refused(
    verifier: SignedInstallVerifier, atlassian_key: rsa.RSAPrivateKey
) -> None:
    # Atlassian hashes the path relative to the descriptor's baseUrl, so "/prod" is never in it.
    qsh = hashlib.sha256(b"POST&/prod/installed&").hexdigest()
    error = refused("qsh", lambda: call(verifier, rs256(atlassian_key, claims_for(qsh=qsh))))
    assert "POST&/installed&" in error.message


@pytest.mark.parametrize("qsh", [CONTEXT_QSH, "", None, 7])
def test_context_or_missing_qsh_is_refused(
    verifier: SignedInstallVerifier, atlassian_key: rsa.RSAPrivateKey, qsh: object
) -> None:
    refused("qsh", lambda: call(verifier, rs256(atlassian_key, claims_for(qsh=qsh))))


def test_expired_token_is_refused(verifier: SignedInstallVerifier, atlassian_key: rsa.RSAPrivateKey) -> None:
    refused("exp", lambda: call(verifier, rs256(atlassian_key, claims_for(exp=NOW - LEEWAY_SECONDS - 1))))


@pytest.mark.parametrize("exp", [None, "1800000100", True, [NOW + 100]])
def test_token_without_a_numeric_exp_is_refused(
    verifier: SignedInstallVerifier, atlassian_key: rsa.RSAPrivateKey, exp: object
) -> None:
    # A token without exp would stay valid forever once leaked.
    refused("exp", lambda: call(verifier, rs256(atlassian_key, claims_for(exp=exp))))


def test_token_without_iat_is_refused(
    verifier: SignedInstallVerifier, atlassian_key: rsa.RSAPrivateKey
) -> None:
    refused("iat", lambda: call(verifier, rs256(atlassian_key, claims_for(iat=None))))


def test_token_not_yet_valid_is_refused(
    verifier: SignedInstallVerifier, atlassian_key: rsa.RSAPrivateKey
) -> None:
    token = rs256(atlassian_key, claims_for(nbf=NOW + LEEWAY_SECONDS + 60))
    refused("nbf", lambda: call(verifier, token))


def test_token_without_issuer_is_refused(
    verifier: SignedInstallVerifier, atlassian_key: rsa.RSAPrivateKey
) -> None:
    refused("iss", lambda: call(verifier, rs256(atlassian_key, claims_for(iss=None))))


# -- attacks on the payload ----------------------------------------------------------------------------


def test_client_key_that_is_not_the_issuer_is_refused(
    verifier: SignedInstallVerifier, atlassian_key: rsa.RSAPrivateKey
) -> None:
    # A genuine tenant trying to overwrite another tenant's record with its own signed callback.
    body = payload(clientKey="jira:victim-tenant")
    refused("iss", lambda: call(verifier, rs256(atlassian_key, claims_for()), body=body))


def test_payload_for_another_app_is_refused(
    verifier: SignedInstallVerifier, atlassian_key: rsa.RSAPrivateKey
) -> None:
    body = payload(key="com.example.some-other-app")
    refused("app_key", lambda: call(verifier, rs256(atlassian_key, claims_for()), body=body))


@pytest.mark.parametrize("field", ["key", "clientKey", "sharedSecret", "baseUrl"])
@pytest.mark.parametrize("value", [None, "", 42])
def test_installed_payload_without_a_required_field_is_refused(
    verifier: SignedInstallVerifier, atlassian_key: rsa.RSAPrivateKey, field: str, value: object
) -> None:
    body = payload(**{field: value})
    refused("body", lambda: call(verifier, rs256(atlassian_key, claims_for()), body=body))


def test_uninstalled_event_type_sent_to_installed_is_refused(
    verifier: SignedInstallVerifier, atlassian_key: rsa.RSAPrivateKey
) -> None:
    # Stored, such a record would read as uninstalled.
    body = payload(eventType="uninstalled")
    refused("event_type", lambda: call(verifier, rs256(atlassian_key, claims_for()), body=body))


@pytest.mark.parametrize(
    "base_url",
    [
        "http://169.254.169.254",
        "https://169.254.169.254/latest/meta-data",
        "http://acme.atlassian.net",
        "https://attacker.example",
        "https://atlassian.net.attacker.example",
        "https://user:pass@acme.atlassian.net",
        "file:///etc/passwd",
    ],
)
def test_base_url_failing_the_host_guard_is_refused(
    verifier: SignedInstallVerifier, atlassian_key: rsa.RSAPrivateKey, base_url: str
) -> None:
    body = payload(baseUrl=base_url)
    refused("base_url", lambda: call(verifier, rs256(atlassian_key, claims_for()), body=body))


# -- hygiene -------------------------------------------------------------------------------------------


def _failures(atlassian_key: rsa.RSAPrivateKey, attacker_key: rsa.RSAPrivateKey) -> Iterator[tuple[str, str]]:
    yield rs256(attacker_key, claims_for()), INSTALLED_PATH
    yield rs256(atlassian_key, claims_for(aud="https://x.example")), INSTALLED_PATH
    yield rs256(atlassian_key, claims_for(UNINSTALLED_PATH)), INSTALLED_PATH
    yield rs256(atlassian_key, claims_for(exp=NOW - 3600)), INSTALLED_PATH
    yield rs256(atlassian_key, claims_for(iss="jira:other")), INSTALLED_PATH
    yield "garbage-" + SHARED_SECRET, INSTALLED_PATH


def test_failure_messages_never_contain_the_token_or_the_shared_secret(
    verifier: SignedInstallVerifier, atlassian_key: rsa.RSAPrivateKey, attacker_key: rsa.RSAPrivateKey
) -> None:
    for token, path in _failures(atlassian_key, attacker_key):
        with pytest.raises(InstallVerificationFailed) as caught:
            call(verifier, token, path=path)
        text = caught.value.describe()
        assert SHARED_SECRET not in text
        assert token not in text
        assert token.split(".")[-1] not in text
