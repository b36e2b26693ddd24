"""Rate limits on the emulator (off unless configured): burst buckets per tenant x method x route,
per-issue write windows, the hourly points quota (global or per tenant), each with Jira's 429 headers;
all driven by the frozen emulator clock, so no test waits."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.fixtures.emulator import EmulatorHandle, JiraClient

ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture
def tenants(jira_emulator: EmulatorHandle) -> tuple[JiraClient, JiraClient]:
    jira_emulator.freeze_clock()
    first = jira_emulator.add_tenant(client_key="jira:first")
    second = jira_emulator.add_tenant(client_key="jira:second")
    return jira_emulator.client(first), jira_emulator.client(second)


def limit(jira_emulator: EmulatorHandle, **rate_limits: Any) -> None:
    jira_emulator.configure({"rateLimits": rate_limits})


def test_burst_bucket_empties_then_refills_with_the_clock(
    jira_emulator: EmulatorHandle, tenants: tuple[JiraClient, JiraClient]
) -> None:
    client, other = tenants
    limit(jira_emulator, burst={"enabled": True, "ratePerSecond": {"GET": 2}})
    assert [client.get("/rest/api/3/project").status_code for _ in range(2)] == [200, 200]
    denied = client.get("/rest/api/3/project")
    assert denied.status_code == 429
    assert denied.headers["Retry-After"] == "1"
    assert denied.headers["X-RateLimit-Limit"] == "2"
    assert denied.headers["X-RateLimit-Remaining"] == "0"
    assert denied.headers["RateLimit-Reason"] == "jira-burst-based"
    assert ISO_UTC.match(denied.headers["X-RateLimit-Reset"])
    assert denied.content == b""
    # Only that endpoint of that tenant is limited.
    assert client.get("/rest/api/3/project/search").status_code == 200
    assert other.get("/rest/api/3/project").status_code == 200
    jira_emulator.clock(advance=1)
    assert client.get("/rest/api/3/project").status_code == 200
    assert jira_emulator.stats()["rateLimited"] == {"jira-burst-based": 1}


def test_burst_override_for_one_route_and_json_body(
    jira_emulator: EmulatorHandle, tenants: tuple[JiraClient, JiraClient]
) -> None:
    client, _ = tenants
    limit(
        jira_emulator,
        burst={"enabled": True, "overrides": {"POST /rest/api/{v}/issue": 1}},
        body="json",
    )
    assert client.create_issue().status_code == 201
    denied = client.create_issue()
    assert (denied.status_code, denied.json()["errorMessages"]) == (429, ["Rate limit exceeded."])
    assert denied.headers["X-RateLimit-Limit"] == "1"


def test_per_issue_write_window_limits_one_issue_only(
    jira_emulator: EmulatorHandle, tenants: tuple[JiraClient, JiraClient]
) -> None:
    client, _ = tenants
    limit(jira_emulator, perIssueWrite={"enabled": True, "windows": [[2, 2], [100, 30]]})
    first, second = client.create_issue().json(), client.create_issue().json()
    path = "/rest/api/3/issue/{}/properties/app.state"
    assert [client.put(path.format(first["key"]), json=n).status_code for n in (1, 2)] == [201, 200]
    denied = client.put(path.format(first["key"]), json=3)
    assert (denied.status_code, denied.headers["RateLimit-Reason"]) == (429, "jira-per-issue-on-write")
    assert denied.headers["Retry-After"] == "2"
    assert client.put(path.format(second["key"]), json=1).status_code == 201
    jira_emulator.clock(advance=2)
    assert client.put(path.format(first["key"]), json=3).status_code == 200


def test_global_quota_denies_every_tenant_until_the_top_of_the_hour(
    jira_emulator: EmulatorHandle, tenants: tuple[JiraClient, JiraClient]
) -> None:
    client, other = tenants
    limit(jira_emulator, quota={"mode": "global", "pointsPerHour": 5})
    statuses = [client.create_issue() for _ in range(5)]
    assert [r.status_code for r in statuses] == [201] * 5
    assert "X-RateLimit-NearLimit" not in statuses[3].headers
    assert statuses[4].headers["X-RateLimit-NearLimit"] == "true"
    denied = other.get("/rest/api/3/project")
    assert denied.status_code == 429
    assert denied.headers["RateLimit-Reason"] == "jira-quota-global-based"
    assert denied.headers["X-RateLimit-Limit"] == "5"
    retry_after = int(denied.headers["Retry-After"])
    assert 1 <= retry_after <= 3600
    moved = jira_emulator.clock(advance=retry_after)
    # Sign at the emulator's time: an hour later, a token made now would have expired.
    assert other.get("/rest/api/3/project", now=moved["now"]).status_code == 200


def test_tenant_quota_limits_only_that_tenant(
    jira_emulator: EmulatorHandle, tenants: tuple[JiraClient, JiraClient]
) -> None:
    client, other = tenants
    limit(jira_emulator, quota={"mode": "tenant", "tenantPointsPerHour": {"jira:first": 2}})
    # GET project/{key} costs 1 + 1 project.
    assert client.get("/rest/api/3/project/OPS").status_code == 200
    denied = client.get("/rest/api/3/project/OPS")
    assert (denied.status_code, denied.headers["RateLimit-Reason"]) == (429, "jira-quota-tenant-based")
    assert other.get("/rest/api/3/project/OPS").status_code == 200
    stats = jira_emulator.stats()
    assert stats["pointsUsed"] == {"jira:first": 2, "jira:second": 2}
    assert stats["quota"]["used"] == {"jira:first": 2, "jira:second": 2}


def test_points_follow_jiras_costs(
    jira_emulator: EmulatorHandle, tenants: tuple[JiraClient, JiraClient]
) -> None:
    client, _ = tenants
    key = client.create_issue().json()["key"]  # write: 1
    client.get(f"/rest/api/3/issue/{key}")  # issue read: 2
    client.get("/rest/api/3/project")  # 1 + 1 project
    client.get("/rest/api/3/myself")  # 1 + 2 for an identity object
    assert jira_emulator.stats()["pointsUsed"] == {"jira:first": 1 + 2 + 2 + 3}


def test_policy_headers_on_request(
    jira_emulator: EmulatorHandle, tenants: tuple[JiraClient, JiraClient]
) -> None:
    client, _ = tenants
    limit(jira_emulator, quota={"mode": "global", "pointsPerHour": 100, "policyHeaders": True})
    response = client.create_issue()
    assert response.headers["RateLimit-Policy"] == '"global-app-quota";q=100;w=3600'
    assert response.headers["RateLimit"].startswith('"global-app-quota";t=')


def test_limits_are_off_by_default(tenants: tuple[JiraClient, JiraClient]) -> None:
    client, _ = tenants
    assert {client.get("/rest/api/3/project").status_code for _ in range(110)} == {200}
