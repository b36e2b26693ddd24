"""Signed lifecycle requests from the emulator: the ``installed`` request returned when a tenant is
created with ``appBaseUrl`` verifies (RS256) with the public key served for its ``kid``, as an app would
check it; ``uninstall`` gives the matching ``uninstalled`` request and ends the app's access."""

from __future__ import annotations

import hashlib
from typing import Any

import jwt
import pytest

from devstack.jira_emulator.control_client import EmulatorControlError
from tests.fixtures.emulator import EmulatorHandle

APP_BASE_URL = "https://issue-creator.example.com/prod"


def verify(emulator: EmulatorHandle, request: dict[str, Any], audience: str = APP_BASE_URL) -> dict[str, Any]:
    """What an app does with a signed lifecycle request (connect-jwt.md §5.2)."""
    scheme, token = request["headers"]["Authorization"].split(" ", 1)
    assert scheme == "JWT"
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256"
    public_key = emulator.install_key(header["kid"])
    claims: dict[str, Any] = jwt.decode(token, public_key, algorithms=["RS256"], audience=audience)
    return claims


def test_install_request_verifies_with_the_served_public_key(jira_emulator: EmulatorHandle) -> None:
    tenant = jira_emulator.add_tenant(client_key="jira:install", app_base_url=APP_BASE_URL)
    install = tenant["install"]
    assert (install["method"], install["path"], install["url"]) == (
        "POST",
        "/installed",
        f"{APP_BASE_URL}/installed",
    )
    assert install["headers"]["Content-Type"] == "application/json"
    claims = verify(jira_emulator, install)
    assert claims["iss"] == "jira:install"
    # The qsh is over the path relative to the app's base URL, so /prod is left out.
    assert claims["qsh"] == hashlib.sha256(b"POST&/installed&").hexdigest()
    assert claims["exp"] - claims["iat"] == 180
    assert claims["sub"]


def test_install_payload_is_the_tenant_record(jira_emulator: EmulatorHandle) -> None:
    tenant = jira_emulator.add_tenant(app_base_url=APP_BASE_URL, shared_secret="s" * 40)
    body = tenant["install"]["body"]
    assert body == {
        "key": tenant["key"],
        "clientKey": tenant["clientKey"],
        "sharedSecret": "s" * 40,
        "baseUrl": tenant["baseUrl"],
        "displayUrl": tenant["baseUrl"],
        "productType": "jira",
        "description": f"Atlassian JIRA at {tenant['baseUrl']}",
        "eventType": "installed",
        "serverVersion": body["serverVersion"],
        "pluginsVersion": body["pluginsVersion"],
        "oauthClientId": tenant["oauthClientId"],
    }


def test_descriptor_lifecycle_path_is_used(jira_emulator: EmulatorHandle) -> None:
    descriptor = {"key": "com.example.app", "lifecycle": {"installed": "/lifecycle/installed"}}
    tenant = jira_emulator.add_tenant(app_base_url=APP_BASE_URL, descriptor=descriptor)
    assert tenant["install"]["path"] == "/lifecycle/installed"
    assert (
        verify(jira_emulator, tenant["install"])["qsh"]
        == hashlib.sha256(b"POST&/lifecycle/installed&").hexdigest()
    )


def test_token_signed_for_the_wrong_audience_fails_verification(jira_emulator: EmulatorHandle) -> None:
    tenant = jira_emulator.add_tenant(app_base_url=APP_BASE_URL)
    with pytest.raises(jwt.InvalidAudienceError):
        verify(jira_emulator, tenant["install"], audience="https://attacker.example.com")


def test_unknown_kid_is_404(jira_emulator: EmulatorHandle) -> None:
    with pytest.raises(EmulatorControlError) as raised:
        jira_emulator.install_key("no-such-kid")
    assert raised.value.status == 404


def test_uninstall_signs_the_uninstalled_request_and_ends_access(jira_emulator: EmulatorHandle) -> None:
    tenant = jira_emulator.add_tenant(client_key="jira:gone", app_base_url=APP_BASE_URL)
    client = jira_emulator.client(tenant)
    assert client.get("/rest/api/3/project").status_code == 200
    request = jira_emulator.uninstall("jira:gone")
    assert (request["path"], request["body"]["eventType"]) == ("/uninstalled", "uninstalled")
    assert verify(jira_emulator, request)["qsh"] == hashlib.sha256(b"POST&/uninstalled&").hexdigest()
    response = client.get("/rest/api/3/project")
    assert response.status_code == 401
    assert "not an app installed on this site" in response.json()["errorMessages"][0]


def test_reinstall_keeps_issues_and_takes_the_new_secret(jira_emulator: EmulatorHandle) -> None:
    tenant = jira_emulator.add_tenant(client_key="jira:again", app_base_url=APP_BASE_URL)
    jira_emulator.client(tenant).create_issue()
    jira_emulator.uninstall("jira:again")
    again = jira_emulator.add_tenant(client_key="jira:again", shared_secret="n" * 40)
    assert again["baseUrl"] == tenant["baseUrl"]
    assert again["install"]["body"]["sharedSecret"] == "n" * 40
    assert jira_emulator.client(again).get("/rest/api/3/issue/OPS-1").status_code == 200
    assert jira_emulator.client(tenant).get("/rest/api/3/issue/OPS-1").status_code == 401
