"""The whole life of a tenant, over real HTTP: the Jira emulator (playing Atlassian) installs the app through
the lifecycle function, a caller creates an issue and lists projects through the API function, the
emulator uninstalls the app, and the API refuses to create for that tenant from then on.

Both functions are served by ``devstack.http_api`` on loopback, as one HTTP API would route them; the
emulator's signed ``installed``/``uninstalled`` requests are sent to the lifecycle function as Atlassian
sends them (the JWT's ``aud`` and qsh are checked against the URL they arrive at).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from devstack.http_api import HttpApiServer
from functions.api import app as api_app
from functions.lifecycle import app as lifecycle_app
from jira_connect.descriptor import DESCRIPTOR_PATH, INSTALLED_PATH, UNINSTALLED_PATH
from tests.integration.test_api_stack import (  # noqa: F401 (fixture)
    APP_KEY,
    REQUEST_TIMEOUT,
    SECRET_PREFIX,
    ApiStack,
    api_fixture,
    issue_body,
)

CLIENT_KEY = "jira:4b1f0c2e-flow-site"
LIFECYCLE_ROUTES = (f"GET {DESCRIPTOR_PATH}", f"POST {INSTALLED_PATH}", f"POST {UNINSTALLED_PATH}")


@pytest.fixture
def lifecycle(api: ApiStack, monkeypatch: pytest.MonkeyPatch) -> Iterator[HttpApiServer]:
    """The lifecycle function, deployed at its own base URL and trusting the emulator's install keys."""
    server = HttpApiServer(lifecycle_app.lambda_handler, routes=LIFECYCLE_ROUTES, function_name="Lifecycle")
    monkeypatch.setenv("APP_BASE_URL", server.url)
    monkeypatch.setenv("CONNECT_INSTALL_KEYS_URL", f"{api.emulator.url}/__emu/install-keys")
    monkeypatch.setenv("TENANT_SECRET_PREFIX", SECRET_PREFIX)
    lifecycle_app.lifecycle.cache_clear()
    with server:
        yield server
    lifecycle_app.lifecycle.cache_clear()


def deliver(request: dict[str, Any]) -> requests.Response:
    """Send a signed lifecycle request exactly as the emulator (Atlassian) made it."""
    return requests.request(
        request["method"],
        request["url"],
        headers=request["headers"],
        data=json.dumps(request["body"]),
        timeout=REQUEST_TIMEOUT,
    )


def test_install_create_list_uninstall_then_create_is_refused(
    api: ApiStack, lifecycle: HttpApiServer
) -> None:
    # Atlassian reads the descriptor and sends the signed installed callback.
    descriptor = requests.get(lifecycle.url + DESCRIPTOR_PATH, timeout=REQUEST_TIMEOUT).json()
    tenant = api.emulator.add_tenant(
        key=APP_KEY, client_key=CLIENT_KEY, descriptor=descriptor, app_base_url=lifecycle.url
    )
    assert tenant["install"]["url"] == lifecycle.url + INSTALLED_PATH
    assert deliver(tenant["install"]).status_code == 204

    # A caller creates an issue and lists the projects through the API.
    created = api.create(CLIENT_KEY, issue_body("Created after install"), headers={"Idempotency-Key": "f-1"})
    assert created.status_code == 201
    [issue] = api.jira_issues(CLIENT_KEY)
    assert created.json()["key"] == issue["key"]
    projects = api.get(f"/tenants/{CLIENT_KEY}/projects")
    assert projects.status_code == 200
    assert [p["key"] for p in projects.json()["values"]] == ["OPS"]

    # Atlassian sends the signed uninstalled callback.
    assert deliver(api.emulator.uninstall(CLIENT_KEY)).status_code == 204

    # The warm API function still has the tenant cached: Jira's 401 makes it re-read, and refuse.
    refused = api.create(CLIENT_KEY, issue_body("After uninstall"), headers={"Idempotency-Key": "f-2"})
    assert refused.status_code == 410
    detail = refused.json()["error"]
    assert detail["type"] == "TenantUninstalled"
    assert CLIENT_KEY in detail["message"]
    # A cold one refuses before calling Jira; queued creates are refused too.
    api_app.runtime.cache_clear()
    assert api.create(CLIENT_KEY).status_code == 410
    assert api.create(CLIENT_KEY, headers={"Prefer": "respond-async"}).status_code == 410
    assert api.queued() == []
    assert len(api.jira_issues(CLIENT_KEY)) == 1
    # The refused key was released, not marked: nothing is left half-done.
    assert api.record(CLIENT_KEY, "f-2") is None


def test_a_forged_install_leaves_the_api_refusing_the_tenant(api: ApiStack, lifecycle: HttpApiServer) -> None:
    descriptor = requests.get(lifecycle.url + DESCRIPTOR_PATH, timeout=REQUEST_TIMEOUT).json()
    tenant = api.emulator.add_tenant(
        key=APP_KEY, client_key=CLIENT_KEY, descriptor=descriptor, app_base_url=lifecycle.url
    )
    forged = {
        **tenant["install"],
        "headers": {**tenant["install"]["headers"], "Authorization": "JWT e30.e30.e30"},
    }

    assert deliver(forged).status_code == 401
    assert api.create(CLIENT_KEY).status_code == 404
