"""The emulator's control surface: stats (the shape other tools depend on) with duplicates and connection
counts, the clock, config changes at run time, reset, tenant definitions and the issue dump."""

from __future__ import annotations

import time

import jwt
import pytest
import requests

from devstack.jira_emulator.control_client import EmulatorControlError
from jira_connect.qsh import query_string_hash
from tests.fixtures.emulator import EmulatorHandle


def test_stats_count_requests_by_owner_route_and_status(jira_emulator: EmulatorHandle) -> None:
    tenant = jira_emulator.add_tenant(client_key="jira:stats")
    client = jira_emulator.client(tenant)
    client.create_issue()
    client.create_issue(summary="")
    client.get("/rest/api/3/project", sign=False)
    stats = jira_emulator.stats()
    assert stats["requests"] == {
        "jira:stats": {"POST /rest/api/{v}/issue": {"201": 1, "400": 1}},
        "anonymous": {"GET /rest/api/{v}/project": {"200": 1}},
    }
    assert stats["issuesCreated"] == {"jira:stats": 1}
    assert stats["pointsUsed"] == {"jira:stats": 2}
    assert stats["rateLimited"] == {}
    assert stats["duplicates"] == []


def test_stats_report_issues_sharing_a_property_value_as_duplicates(jira_emulator: EmulatorHandle) -> None:
    tenant = jira_emulator.add_tenant(client_key="jira:dupes")
    other = jira_emulator.add_tenant(client_key="jira:other")
    for client, value in (
        (jira_emulator.client(tenant), {"k": "same"}),
        (jira_emulator.client(tenant), {"k": "same"}),
        (jira_emulator.client(tenant), {"k": "different"}),
        (jira_emulator.client(other), {"k": "same"}),
    ):
        client.create_issue(properties=[{"key": "app.dedupe", "value": value}])
    assert jira_emulator.stats()["duplicates"] == [
        {
            "clientKey": "jira:dupes",
            "propertyKey": "app.dedupe",
            "value": {"k": "same"},
            "issueKeys": ["OPS-1", "OPS-2"],
        }
    ]


def test_sequential_keep_alive_requests_count_as_one_connection(jira_emulator: EmulatorHandle) -> None:
    client = jira_emulator.client(jira_emulator.add_tenant())
    for _ in range(100):
        assert client.get("/rest/api/3/project").status_code == 200
    stats = jira_emulator.stats()
    assert stats["connectionsOpened"] == 1
    assert stats["connectionsAccepted"] >= 1


def test_new_connections_are_counted(jira_emulator: EmulatorHandle) -> None:
    tenant = jira_emulator.add_tenant()
    for _ in range(3):
        requests.get(f"{tenant['baseUrl']}/rest/api/3/project", headers={"Connection": "close"}, timeout=10)
    assert jira_emulator.stats()["connectionsOpened"] == 3


def test_frozen_clock_decides_jwt_expiry(jira_emulator: EmulatorHandle) -> None:
    tenant = jira_emulator.add_tenant()
    client = jira_emulator.client(tenant)
    frozen = jira_emulator.clock(freeze=True)
    assert frozen["frozen"] is True
    now = int(frozen["now"])
    token = jwt.encode(
        {
            "iss": tenant["key"],
            "iat": now,
            "exp": now + 180,
            "qsh": query_string_hash("GET", "/rest/api/3/project"),
        },
        tenant["sharedSecret"],
        algorithm="HS256",
    )
    headers = {"Authorization": f"JWT {token}"}
    jira_emulator.clock(advance=now + 180 - frozen["now"])  # exactly at exp: still valid
    assert client.get("/rest/api/3/project", sign=False, headers=headers).status_code == 200
    jira_emulator.clock(advance=1)
    response = client.get("/rest/api/3/project", sign=False, headers=headers)
    assert response.status_code == 401
    assert "JWT expired" in response.json()["errorMessages"][0]


def test_clock_behind_the_client_sees_iat_in_the_future(jira_emulator: EmulatorHandle) -> None:
    client = jira_emulator.client(jira_emulator.add_tenant())
    jira_emulator.clock(advance=-60)
    response = client.get("/rest/api/3/project")
    assert response.status_code == 401
    assert "issued in the future" in response.json()["errorMessages"][0]
    jira_emulator.clock(freeze=False, advance=60)
    assert client.get("/rest/api/3/project").status_code == 200


def test_unfreezing_runs_on_from_the_frozen_instant(jira_emulator: EmulatorHandle) -> None:
    frozen = jira_emulator.clock(freeze=True, advance=3600)
    running = jira_emulator.clock(freeze=False)
    assert running["frozen"] is False
    assert frozen["now"] <= running["now"] < frozen["now"] + 5


def test_config_changes_merge_at_run_time_and_reset_restores_them(jira_emulator: EmulatorHandle) -> None:
    changed = jira_emulator.configure({"auth": {"jwtLeewaySeconds": 30}, "search": {"indexLagMs": 500}})
    assert changed["auth"]["jwtLeewaySeconds"] == 30
    assert changed["auth"]["failureBody"] == "reason"
    assert jira_emulator.config()["search"]["indexLagMs"] == 500
    jira_emulator.reset()
    assert jira_emulator.config()["auth"]["jwtLeewaySeconds"] == 0


@pytest.mark.parametrize(
    ("patch", "named"),
    [
        ({"auth": {"jwtLeeway": 1}}, "auth.jwtLeeway"),
        ({"auth": {"jwtLeewaySeconds": "soon"}}, "auth.jwtLeewaySeconds"),
        ({"anonymous": {"createMode": "shrug"}}, "anonymous.createMode"),
        ({"rateLimits": {"quota": {"mode": "galactic"}}}, "rateLimits.quota.mode"),
    ],
)
def test_invalid_config_is_400_naming_the_key(
    jira_emulator: EmulatorHandle, patch: dict[str, object], named: str
) -> None:
    with pytest.raises(EmulatorControlError) as raised:
        jira_emulator.configure(patch)
    assert raised.value.status == 400
    assert named in raised.value.body["errorMessages"][0]


def test_reset_forgets_tenants_issues_faults_and_clock(jira_emulator: EmulatorHandle) -> None:
    tenant = jira_emulator.add_tenant()
    jira_emulator.client(tenant).create_issue()
    jira_emulator.add_fault(mode="latency", latency_ms=1)
    jira_emulator.clock(freeze=True, advance=10_000)
    jira_emulator.reset()
    assert jira_emulator.tenants() == []
    assert jira_emulator.issues() == []
    assert jira_emulator.faults() == []
    assert jira_emulator.clock()["frozen"] is False
    assert abs(jira_emulator.clock()["now"] - time.time()) < 5
    assert jira_emulator.stats()["issuesCreated"] == {}


def test_issue_dump_has_fields_and_properties(jira_emulator: EmulatorHandle) -> None:
    tenant = jira_emulator.add_tenant(client_key="jira:dump")
    jira_emulator.client(tenant).create_issue(properties=[{"key": "p", "value": [1, 2]}])
    (issue,) = jira_emulator.issues("jira:dump")
    assert (issue["id"], issue["key"], issue["properties"]) == ("10000", "OPS-1", {"p": [1, 2]})
    assert issue["fields"]["summary"] == "Disk full on db-1"


def test_tenants_are_served_under_their_own_slug(jira_emulator: EmulatorHandle) -> None:
    named = jira_emulator.add_tenant(slug="acme")
    numbered = jira_emulator.add_tenant()
    assert named["baseUrl"] == f"{jira_emulator.url}/t/acme"
    assert numbered["baseUrl"].startswith(f"{jira_emulator.url}/t/site")
    assert jira_emulator.client(named).get("/rest/api/3/project").status_code == 200


@pytest.mark.parametrize(
    ("tenant", "status"),
    [
        ({"shared_secret": ""}, 400),
        ({"projects": [{"key": "lower"}]}, 400),
        ({"scopes": ["SUPERUSER"]}, 400),
        ({"slug": "Not A Slug"}, 400),
    ],
)
def test_invalid_tenant_definitions_are_refused(
    jira_emulator: EmulatorHandle, tenant: dict[str, object], status: int
) -> None:
    with pytest.raises(EmulatorControlError) as raised:
        jira_emulator.add_tenant(**tenant)
    assert raised.value.status == status


def test_taken_slug_is_a_conflict(jira_emulator: EmulatorHandle) -> None:
    jira_emulator.add_tenant(slug="acme")
    with pytest.raises(EmulatorControlError) as raised:
        jira_emulator.add_tenant(slug="acme")
    assert raised.value.status == 409
