"""The OAuth 2.0 JWT-bearer grant on the emulator (acting as a user): the assertion is checked as
Atlassian's authorization server does, and the access token works as ``Authorization: Bearer`` for that
user on that site until it expires on the emulator clock."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
import requests

from tests.fixtures.emulator import EmulatorHandle, JiraClient

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
AUTHORIZATION_SERVER = "https://oauth-2-authorization-server.services.atlassian.com"
USER = "5b10a2844c20165700ede21g"
UNAUTHORIZED_CLIENT = "The authenticated client is not authorized to use this authorization grant type"


def assertion(tenant: dict[str, Any], *, lifetime: int = 60, secret: str | None = None, **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "iss": f"urn:atlassian:connect:clientid:{tenant['oauthClientId']}",
        "sub": f"urn:atlassian:connect:useraccountid:{USER}",
        "tnt": tenant["baseUrl"],
        "aud": AUTHORIZATION_SERVER,
        "iat": now,
        "exp": now + lifetime,
    }
    payload.update(claims)
    return jwt.encode(payload, secret or tenant["sharedSecret"], algorithm="HS256")


def grant(emulator: EmulatorHandle, token: str, **form: str) -> requests.Response:
    data = {"grant_type": GRANT_TYPE, "assertion": token, **form}
    return requests.post(
        f"{emulator.url}/oauth2/token", data=data, headers={"Accept": "application/json"}, timeout=10
    )


def bearer(tenant: dict[str, Any], method: str, path: str, token: str, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return requests.request(method, tenant["baseUrl"] + path, headers=headers, timeout=10, **kwargs)


@pytest.fixture
def tenant(jira_emulator: EmulatorHandle) -> dict[str, Any]:
    return jira_emulator.add_tenant(client_key="jira:oauth", scopes=["READ", "WRITE", "ACT_AS_USER"])


def test_grant_issues_a_bearer_token_that_creates_issues_as_that_user(
    jira_emulator: EmulatorHandle, tenant: dict[str, Any]
) -> None:
    response = grant(jira_emulator, assertion(tenant))
    assert response.status_code == 200
    body = response.json()
    assert (body["token_type"], body["expires_in"]) == ("Bearer", 900)
    issue_body = {
        "fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "as a user"}
    }
    created = bearer(tenant, "POST", "/rest/api/3/issue", body["access_token"], json=issue_body)
    assert created.status_code == 201
    issue = JiraClient(tenant).get(f"/rest/api/3/issue/{created.json()['key']}").json()
    assert issue["fields"]["reporter"]["accountId"] == USER
    assert issue["fields"]["creator"]["accountId"] == USER
    assert jira_emulator.stats()["requests"]["jira:oauth"]["POST /oauth2/token"] == {"200": 1}


def test_bearer_token_identifies_the_user(jira_emulator: EmulatorHandle, tenant: dict[str, Any]) -> None:
    token = grant(jira_emulator, assertion(tenant, aud=jira_emulator.url))
    me = bearer(tenant, "GET", "/rest/api/3/myself", token.json()["access_token"]).json()
    assert me["accountId"] == USER


def test_app_without_act_as_user_is_an_unauthorized_client(jira_emulator: EmulatorHandle) -> None:
    tenant = jira_emulator.add_tenant()
    response = grant(jira_emulator, assertion(tenant))
    assert response.status_code == 400
    assert response.json() == {
        "error": "unauthorized_client",
        "error_description": UNAUTHORIZED_CLIENT,
    }


@pytest.mark.parametrize(
    ("case", "make", "status"),
    [
        ("signed_with_another_secret", lambda t: assertion(t, secret="x" * 32), 401),
        ("unknown_client_id", lambda t: assertion(t, iss="urn:atlassian:connect:clientid:nobody"), 401),
        ("lifetime_over_120_seconds", lambda t: assertion(t, lifetime=121), 400),
        ("expired", lambda t: assertion(t, iat=int(time.time()) - 100, exp=int(time.time()) - 40), 400),
        ("another_site_as_tnt", lambda t: assertion(t, tnt="https://other.atlassian.net"), 400),
        ("wrong_audience", lambda t: assertion(t, aud="https://example.com"), 400),
        ("user_key_subject", lambda t: assertion(t, sub="urn:atlassian:connect:userkey:admin"), 400),
        ("alg_none", lambda t: "eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.", 400),
    ],
)
def test_bad_assertion_is_an_invalid_grant(
    jira_emulator: EmulatorHandle, tenant: dict[str, Any], case: str, make: Any, status: int
) -> None:
    response = grant(jira_emulator, make(tenant))
    assert response.status_code == status, case
    assert response.json()["error"] == "invalid_grant"


def test_other_grant_types_are_unsupported(jira_emulator: EmulatorHandle, tenant: dict[str, Any]) -> None:
    response = grant(jira_emulator, assertion(tenant), grant_type="client_credentials")
    assert (response.status_code, response.json()["error"]) == (400, "unsupported_grant_type")


def test_access_token_expires_on_the_emulator_clock(
    jira_emulator: EmulatorHandle, tenant: dict[str, Any]
) -> None:
    jira_emulator.freeze_clock()
    token = grant(jira_emulator, assertion(tenant)).json()["access_token"]
    jira_emulator.clock(advance=899)
    assert bearer(tenant, "GET", "/rest/api/3/myself", token).status_code == 200
    jira_emulator.clock(advance=1)
    response = bearer(tenant, "GET", "/rest/api/3/myself", token)
    assert (response.status_code, response.json()["errorMessages"]) == (
        401,
        ["OAuth access token has expired"],
    )


def test_access_token_of_one_site_is_refused_on_another(
    jira_emulator: EmulatorHandle, tenant: dict[str, Any]
) -> None:
    other = jira_emulator.add_tenant()
    token = grant(jira_emulator, assertion(tenant)).json()["access_token"]
    assert bearer(other, "GET", "/rest/api/3/project", token).status_code == 401


def test_unknown_bearer_token_is_anonymous(tenant: dict[str, Any]) -> None:
    response = bearer(tenant, "GET", "/rest/api/3/project", "made-up-token")
    assert (response.status_code, response.json()) == (200, [])


def test_token_limited_to_read_cannot_create(jira_emulator: EmulatorHandle, tenant: dict[str, Any]) -> None:
    token = grant(jira_emulator, assertion(tenant), scope="READ").json()["access_token"]
    body = {"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "x"}}
    response = bearer(tenant, "POST", "/rest/api/3/issue", token, json=body)
    assert (response.status_code, response.json()["errorMessages"]) == (403, ["WRITE scope required"])


def test_scope_beyond_the_apps_is_refused(jira_emulator: EmulatorHandle, tenant: dict[str, Any]) -> None:
    response = grant(jira_emulator, assertion(tenant), scope="ADMIN")
    assert (response.status_code, response.json()["error"]) == (400, "invalid_scope")
