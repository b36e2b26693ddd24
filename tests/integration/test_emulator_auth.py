"""The emulator authenticates Connect JWTs as Jira does: tokens built without this project's signer are
accepted, every kind of bad token is a 401 naming the reason, and what Jira treats as anonymous is."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import Any

import atlassian_jwt
import jwt
import pytest
import requests

from tests.fixtures.emulator import EmulatorHandle

ANONYMOUS_SERVER_STYLE = (
    "Anonymous users do not have permission to create issues in this project. Please try logging in first."
)
FIELD_NOT_ON_SCREEN = "Field '{0}' cannot be set. It is not on the appropriate screen, or unknown."


def hand_built_token(tenant: dict[str, Any], canonical_request: str, **overrides: Any) -> str:
    """A token made with PyJWT alone: the qsh is SHA-256 of a canonical request written by hand."""
    now = int(time.time())
    claims = {
        "iss": tenant["key"],
        "iat": now,
        "exp": now + 180,
        "qsh": hashlib.sha256(canonical_request.encode()).hexdigest(),
    }
    claims.update(overrides)
    return jwt.encode(
        {k: v for k, v in claims.items() if v is not None}, tenant["sharedSecret"], algorithm="HS256"
    )


def send(
    tenant: dict[str, Any], method: str, path: str, authorization: str | None = None, **kwargs: Any
) -> requests.Response:
    headers = {"Authorization": authorization} if authorization else {}
    return requests.request(method, tenant["baseUrl"] + path, headers=headers, timeout=10, **kwargs)


@pytest.fixture
def tenant(jira_emulator: EmulatorHandle) -> dict[str, Any]:
    return jira_emulator.add_tenant(key="com.example.app", client_key="jira:auth-test")


# -- tokens nobody here wrote ------------------------------------------------------------------------


def test_pyjwt_token_with_hand_computed_qsh_lists_projects(tenant: dict[str, Any]) -> None:
    token = hand_built_token(tenant, "GET&/rest/api/3/project&")
    response = send(tenant, "GET", "/rest/api/3/project", f"JWT {token}")
    assert response.status_code == 200
    assert [p["key"] for p in response.json()] == ["OPS"]


def test_pyjwt_token_with_sorted_query_in_qsh_is_accepted(tenant: dict[str, Any]) -> None:
    token = hand_built_token(tenant, "GET&/rest/api/3/project/search&maxResults=10&query=op%20s&startAt=0")
    response = send(
        tenant, "GET", "/rest/api/3/project/search?startAt=0&query=op+s&maxResults=10", f"JWT {token}"
    )
    assert response.status_code == 200


def test_pyjwt_token_creates_an_issue(tenant: dict[str, Any]) -> None:
    token = hand_built_token(tenant, "POST&/rest/api/2/issue&")
    body = {"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Bug"}, "summary": "x"}}
    response = send(tenant, "POST", "/rest/api/2/issue", f"JWT {token}", json=body)
    assert response.status_code == 201
    assert response.json()["key"] == "OPS-1"


def test_atlassian_jwt_package_token_is_accepted(tenant: dict[str, Any]) -> None:
    # The PyPI package sets iss = clientKey by default; Jira wants the app key (connect-jwt.md §7 D8).
    token = atlassian_jwt.encode_token(
        "GET",
        "/rest/api/3/project/OPS?expand=description",
        tenant["clientKey"],
        tenant["sharedSecret"],
        timeout_secs=180,
        payload_kwargs={"iss": tenant["key"]},
    )
    response = send(tenant, "GET", "/rest/api/3/project/OPS?expand=description", f"JWT {token}")
    assert response.status_code == 200
    assert response.json()["key"] == "OPS"


def test_scheme_word_is_case_insensitive(tenant: dict[str, Any]) -> None:
    token = hand_built_token(tenant, "GET&/rest/api/3/project&")
    assert send(tenant, "GET", "/rest/api/3/project", f"jwt {token}").json() != []


# -- each rejected token is a 401 naming the reason -------------------------------------------------


def _unsigned(claims: dict[str, Any]) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


@pytest.mark.parametrize(
    ("attack", "make_token", "reason"),
    [
        (
            "signature_with_another_secret",
            lambda t: jwt.encode(
                {"iss": t["key"], "iat": int(time.time()), "exp": int(time.time()) + 60, "qsh": "x"},
                "another-secret-another-secret-xx",
                algorithm="HS256",
            ),
            "JWT signature does not verify",
        ),
        (
            "iss_is_the_client_key",
            lambda t: hand_built_token(t, "GET&/rest/api/3/project&", iss=t["clientKey"]),
            "is not the key of the app",
        ),
        (
            "expired",
            lambda t: hand_built_token(
                t, "GET&/rest/api/3/project&", iat=int(time.time()) - 400, exp=int(time.time()) - 10
            ),
            "JWT expired",
        ),
        (
            "iat_in_the_future",
            lambda t: hand_built_token(t, "GET&/rest/api/3/project&", iat=int(time.time()) + 120),
            "issued in the future",
        ),
        (
            "qsh_of_another_request",
            lambda t: hand_built_token(t, "GET&/rest/api/3/project/search&"),
            "JWT qsh mismatch: expected canonical request 'GET&/rest/api/3/project&'",
        ),
        (
            "qsh_over_the_context_path",
            lambda t: hand_built_token(t, f"GET&/t/{t['slug']}/rest/api/3/project&"),
            "JWT qsh mismatch",
        ),
        (
            "context_qsh",
            lambda t: hand_built_token(t, "", qsh="context-qsh"),
            "'context-qsh' is not accepted",
        ),
        (
            "missing_qsh",
            lambda t: hand_built_token(t, "", qsh=None),
            "JWT qsh mismatch",
        ),
        (
            "alg_none",
            lambda t: _unsigned({"iss": t["key"], "iat": int(time.time()), "exp": int(time.time()) + 60}),
            "JWT algorithm 'none' is not accepted",
        ),
        (
            "alg_hs512",
            lambda t: jwt.encode(
                {"iss": t["key"], "iat": int(time.time()), "exp": int(time.time()) + 60},
                t["sharedSecret"],
                algorithm="HS512",
            ),
            "JWT algorithm 'HS512' is not accepted",
        ),
        ("garbage", lambda t: "not-a-jwt", "JWT is malformed"),
    ],
)
def test_rejected_token_gets_401_naming_the_reason(
    tenant: dict[str, Any], attack: str, make_token: Any, reason: str
) -> None:
    response = send(tenant, "GET", "/rest/api/3/project", f"JWT {make_token(tenant)}")
    assert response.status_code == 401, attack
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert reason in response.json()["errorMessages"][0]
    assert response.json()["errors"] == {}


def test_rs256_token_is_refused(tenant: dict[str, Any]) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(
        {"iss": tenant["key"], "iat": int(time.time()), "exp": int(time.time()) + 60}, key, "RS256"
    )
    response = send(tenant, "GET", "/rest/api/3/project", f"JWT {token}")
    assert response.status_code == 401
    assert "only HS256" in response.json()["errorMessages"][0]


def test_reason_never_contains_the_token_or_secret(tenant: dict[str, Any]) -> None:
    token = hand_built_token(tenant, "GET&/wrong&")
    body = send(tenant, "GET", "/rest/api/3/project", f"JWT {token}").text
    assert token not in body
    assert tenant["sharedSecret"] not in body


@pytest.mark.parametrize(
    ("mode", "content_type", "check"),
    [
        ("html", "text/html;charset=UTF-8", lambda r: "<h1>Unauthorized (401)</h1>" in r.text),
        ("empty", None, lambda r: r.content == b""),
        (
            "json",
            "application/json;charset=UTF-8",
            lambda r: r.json()["errorMessages"] == ["Client must be authenticated to access this resource."],
        ),
    ],
)
def test_401_body_is_configurable(
    jira_emulator: EmulatorHandle, tenant: dict[str, Any], mode: str, content_type: str | None, check: Any
) -> None:
    jira_emulator.configure({"auth": {"failureBody": mode}})
    response = send(tenant, "GET", "/rest/api/3/project", f"JWT {hand_built_token(tenant, 'GET&/x&')}")
    assert response.status_code == 401
    assert response.headers.get("Content-Type") == content_type
    assert check(response)


def test_leeway_accepts_a_token_expired_within_it(
    jira_emulator: EmulatorHandle, tenant: dict[str, Any]
) -> None:
    now = int(time.time())
    token = hand_built_token(tenant, "GET&/rest/api/3/project&", iat=now - 200, exp=now - 20)
    assert send(tenant, "GET", "/rest/api/3/project", f"JWT {token}").status_code == 401
    jira_emulator.configure({"auth": {"jwtLeewaySeconds": 30}})
    assert send(tenant, "GET", "/rest/api/3/project", f"JWT {token}").status_code == 200


def test_extra_issuers_can_accept_the_client_key(
    jira_emulator: EmulatorHandle, tenant: dict[str, Any]
) -> None:
    jira_emulator.configure({"auth": {"extraIssuers": [tenant["clientKey"]]}})
    token = hand_built_token(tenant, "GET&/rest/api/3/project&", iss=tenant["clientKey"])
    assert send(tenant, "GET", "/rest/api/3/project", f"JWT {token}").status_code == 200


# -- anonymous: Bearer <jwt>, ?jwt=, no header ------------------------------------------------------


def test_bearer_jwt_is_anonymous_and_create_fails_with_field_errors(tenant: dict[str, Any]) -> None:
    token = hand_built_token(tenant, "POST&/rest/api/3/issue&")
    body = {
        "fields": {
            "project": {"key": "OPS"},
            "issuetype": {"name": "Task"},
            "summary": "s",
            "description": {"type": "doc", "version": 1, "content": []},
            "labels": ["a"],
        }
    }
    response = send(tenant, "POST", "/rest/api/3/issue", f"Bearer {token}", json=body)
    assert response.status_code == 400
    assert response.json() == {
        "errorMessages": [],
        "errors": {f: FIELD_NOT_ON_SCREEN.format(f) for f in ("summary", "description", "labels")},
    }


def test_query_jwt_is_ignored_and_anonymous(tenant: dict[str, Any]) -> None:
    token = hand_built_token(tenant, "GET&/rest/api/3/project&")
    response = send(tenant, "GET", f"/rest/api/3/project?jwt={token}")
    assert response.status_code == 200
    assert response.json() == []


def test_query_jwt_is_accepted_with_the_legacy_toggle(
    jira_emulator: EmulatorHandle, tenant: dict[str, Any]
) -> None:
    jira_emulator.configure({"auth": {"acceptQueryJwt": True}})
    token = hand_built_token(tenant, "GET&/rest/api/3/project&")
    assert [p["key"] for p in send(tenant, "GET", f"/rest/api/3/project?jwt={token}").json()] == ["OPS"]


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        ("/rest/api/3/project", 200, []),
        (
            "/rest/api/2/project/OPS",
            404,
            {"errorMessages": ["No project could be found with key 'OPS'."], "errors": {}},
        ),
        (
            "/rest/api/3/project/10000",
            404,
            {"errorMessages": ["No project could be found with id '10000'."], "errors": {}},
        ),
    ],
)
def test_anonymous_sees_no_projects(tenant: dict[str, Any], path: str, status: int, body: Any) -> None:
    response = send(tenant, "GET", path)
    assert (response.status_code, response.json()) == (status, body)


def test_anonymous_project_search_is_an_empty_page(tenant: dict[str, Any]) -> None:
    page = send(tenant, "GET", "/rest/api/3/project/search").json()
    assert (page["values"], page["total"], page["isLast"]) == ([], 0, True)


def test_anonymous_createmeta_is_empty(tenant: dict[str, Any]) -> None:
    page = send(tenant, "GET", "/rest/api/3/issue/createmeta/OPS/issuetypes").json()
    assert (page["issueTypes"], page["total"]) == ([], 0)
    assert send(tenant, "GET", "/rest/api/3/issue/createmeta/OPS/issuetypes/10001").json()["fields"] == []


def test_anonymous_myself_is_401(tenant: dict[str, Any]) -> None:
    response = send(tenant, "GET", "/rest/api/3/myself")
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("mode", "status", "messages"),
    [
        (
            "server_style",
            400,
            [ANONYMOUS_SERVER_STYLE],
        ),
        ("401", 401, ["You are not authenticated. Authentication required to perform this operation."]),
    ],
)
def test_anonymous_create_mode_is_configurable(
    jira_emulator: EmulatorHandle, tenant: dict[str, Any], mode: str, status: int, messages: list[str]
) -> None:
    jira_emulator.configure({"anonymous": {"createMode": mode}})
    response = send(tenant, "POST", "/rest/api/3/issue", json={"fields": {"summary": "s"}})
    assert (response.status_code, response.json()["errorMessages"]) == (status, messages)


# -- scopes ---------------------------------------------------------------------------------------


def test_read_only_app_gets_403_on_create(jira_emulator: EmulatorHandle) -> None:
    tenant = jira_emulator.add_tenant(scopes=["READ"])
    client = jira_emulator.client(tenant)
    response = client.create_issue()
    assert (response.status_code, response.json()["errorMessages"]) == (403, ["WRITE scope required"])
    assert client.get("/rest/api/3/project").status_code == 200


def test_app_without_read_gets_403_on_reads(jira_emulator: EmulatorHandle) -> None:
    tenant = jira_emulator.add_tenant(scopes=["NONE"])
    response = jira_emulator.client(tenant).get("/rest/api/3/project")
    assert (response.status_code, response.json()["errorMessages"]) == (403, ["READ scope required"])


def test_write_scope_implies_read(jira_emulator: EmulatorHandle) -> None:
    tenant = jira_emulator.add_tenant(scopes=["write"])
    assert tenant["scopes"] == ["READ", "WRITE"]


def test_tokens_of_one_tenant_do_not_work_on_another(jira_emulator: EmulatorHandle) -> None:
    first = jira_emulator.add_tenant()
    second = jira_emulator.add_tenant()
    token = hand_built_token(first, "GET&/rest/api/3/project&")
    assert send(second, "GET", "/rest/api/3/project", f"JWT {token}").status_code == 401
