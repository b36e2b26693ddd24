"""Connect JWTs: decoded with PyJWT and checked claim by claim."""

from __future__ import annotations

import jwt
import pytest

from jira_connect.qsh import query_string_hash
from jira_connect.token import DEFAULT_TTL_SECONDS, authorization_header, encode_token

SECRET = "a-shared-secret-of-at-least-32-bytes!!"
APP_KEY = "com.example.issue-creator"
BASE_URL = "https://example.atlassian.net"
NOW = 1_750_000_000


def _decode(token: str) -> dict[str, object]:
    return jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})


def test_claims_are_iss_app_key_iat_exp_and_request_qsh() -> None:
    token = encode_token(
        "post", "/rest/api/3/issue?updateHistory=false", app_key=APP_KEY, shared_secret=SECRET, now=NOW
    )
    claims = _decode(token)
    assert claims == {
        "iss": APP_KEY,
        "iat": NOW,
        "exp": NOW + DEFAULT_TTL_SECONDS,
        "qsh": query_string_hash("POST", "/rest/api/3/issue?updateHistory=false"),
    }
    assert DEFAULT_TTL_SECONDS == 180


def test_header_is_hs256_jwt() -> None:
    token = encode_token("GET", "/rest/api/3/project", app_key=APP_KEY, shared_secret=SECRET, now=NOW)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}


def test_qsh_drops_the_context_path_of_the_base_url() -> None:
    token = encode_token(
        "GET",
        "https://example.atlassian.net/wiki/rest/api/space?limit=5",
        app_key=APP_KEY,
        shared_secret=SECRET,
        base_url="https://example.atlassian.net/wiki",
        now=NOW,
    )
    assert _decode(token)["qsh"] == query_string_hash("GET", "/rest/api/space?limit=5")


def test_ttl_sets_expiry() -> None:
    token = encode_token("GET", "/", app_key=APP_KEY, shared_secret=SECRET, ttl=60, now=NOW)
    assert _decode(token)["exp"] == NOW + 60


def test_token_signed_with_another_secret_does_not_verify() -> None:
    token = encode_token("GET", "/", app_key=APP_KEY, shared_secret=SECRET, now=NOW)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "another-secret-another-secret-1234", algorithms=["HS256"])


def test_authorization_header_uses_jwt_scheme_never_bearer() -> None:
    value = authorization_header("GET", "/rest/api/3/project", app_key=APP_KEY, shared_secret=SECRET, now=NOW)
    scheme, token = value.split(" ", 1)
    assert scheme == "JWT"
    assert _decode(token)["iss"] == APP_KEY


@pytest.mark.parametrize(
    ("app_key", "secret", "ttl", "message"),
    [("", SECRET, 180, "app_key"), (APP_KEY, "", 180, "shared_secret"), (APP_KEY, SECRET, 0, "ttl")],
)
def test_bad_arguments_are_refused_with_the_argument_named(
    app_key: str, secret: str, ttl: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        encode_token("GET", "/", app_key=app_key, shared_secret=secret, ttl=ttl, now=NOW)


def test_token_is_byte_identical_to_pyjwt_encode_of_the_same_claims() -> None:
    token = encode_token("GET", "/rest/api/3/project?x=1", app_key=APP_KEY, shared_secret=SECRET, now=NOW)
    claims = _decode(token)
    assert token == jwt.encode(claims, SECRET, algorithm="HS256")


def test_a_pem_key_is_refused_as_an_hmac_secret() -> None:
    pem = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n-----END PUBLIC KEY-----\n"
    with pytest.raises(jwt.InvalidKeyError):
        encode_token("GET", "/", app_key=APP_KEY, shared_secret=pem, now=NOW)
