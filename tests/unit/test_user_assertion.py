"""The OAuth 2.0 JWT-bearer assertion used to act as a user (connect-jwt.md §4), claim by claim."""

from __future__ import annotations

import jwt
import pytest

from jira_connect.token import (
    ASSERTION_TTL_SECONDS,
    authorization_server_audience,
    encode_user_assertion,
)

SECRET = "s3cr3t-shared-secret-of-the-tenant-xx"
AUD = "https://oauth-2-authorization-server.services.atlassian.com"


def _decode(token: str) -> dict[str, object]:
    return jwt.decode(token, SECRET, algorithms=["HS256"], audience=AUD, options={"verify_exp": False})


def test_assertion_claims_follow_atlassians_client() -> None:
    token = encode_user_assertion(
        oauth_client_id="oc-123",
        account_id="5b10a2844c20165700ede21g",
        base_url="https://acme.atlassian.net",
        audience=AUD,
        shared_secret=SECRET,
        now=1_000,
    )
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert _decode(token) == {
        "iss": "urn:atlassian:connect:clientid:oc-123",
        "sub": "urn:atlassian:connect:useraccountid:5b10a2844c20165700ede21g",
        "tnt": "https://acme.atlassian.net",
        "aud": AUD,
        "iat": 1_000,
        "exp": 1_000 + ASSERTION_TTL_SECONDS,
    }


def test_assertion_lives_60_seconds_and_carries_no_qsh() -> None:
    token = encode_user_assertion(
        oauth_client_id="oc", account_id="u", base_url="https://a.atlassian.net", audience=AUD,
        shared_secret=SECRET, now=50,
    )  # fmt: skip
    claims = _decode(token)
    assert claims["exp"] == 110
    assert "qsh" not in claims


@pytest.mark.parametrize("missing", ["oauth_client_id", "account_id", "shared_secret"])
def test_assertion_without_a_required_value_is_refused(missing: str) -> None:
    values = {"oauth_client_id": "oc", "account_id": "u", "shared_secret": SECRET}
    values[missing] = ""
    with pytest.raises(ValueError, match=missing):
        encode_user_assertion(base_url="https://a.atlassian.net", audience=AUD, **values)


@pytest.mark.parametrize(
    ("token_url", "audience"),
    [
        ("https://oauth-2-authorization-server.services.atlassian.com/oauth2/token", AUD),
        ("http://127.0.0.1:8123/oauth2/token", "http://127.0.0.1:8123"),
    ],
)
def test_audience_is_the_origin_of_the_token_url(token_url: str, audience: str) -> None:
    assert authorization_server_audience(token_url) == audience
