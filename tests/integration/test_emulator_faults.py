"""Injected faults on the emulator: errors before and after the commit, a dropped connection after the
commit, 429s with and without headers, latency; scoped by tenant and endpoint, by count or probability."""

from __future__ import annotations

import pytest
import requests

from devstack.jira_emulator.control_client import EmulatorControlError
from tests.fixtures.emulator import EmulatorHandle, JiraClient


@pytest.fixture
def client(jira_emulator: EmulatorHandle) -> JiraClient:
    return jira_emulator.client(jira_emulator.add_tenant(client_key="jira:faulty"))


def created(jira_emulator: EmulatorHandle) -> int:
    return len(jira_emulator.issues("jira:faulty"))


def test_503_before_commit_with_retry_after_creates_nothing(
    jira_emulator: EmulatorHandle, client: JiraClient
) -> None:
    jira_emulator.add_fault(
        mode="error_before_commit", status=503, retry_after=7, endpoint="create_issue", count=1
    )
    response = client.create_issue()
    assert (response.status_code, response.headers["Retry-After"]) == (503, "7")
    assert created(jira_emulator) == 0
    assert client.create_issue().status_code == 201
    assert jira_emulator.faults() == []


def test_422_before_commit_carries_the_configured_message(
    jira_emulator: EmulatorHandle, client: JiraClient
) -> None:
    jira_emulator.add_fault(mode="error_before_commit", status=422, message="Workflow misconfigured")
    response = client.create_issue()
    assert (response.status_code, response.json()["errorMessages"]) == (422, ["Workflow misconfigured"])


def test_500_after_commit_still_creates_the_issue(jira_emulator: EmulatorHandle, client: JiraClient) -> None:
    jira_emulator.add_fault(mode="error_after_commit", endpoint="POST /rest/api/{v}/issue", count=1)
    response = client.create_issue()
    assert response.status_code == 500
    assert "Retry-After" not in response.headers
    assert created(jira_emulator) == 1


def test_drop_after_commit_creates_the_issue_and_closes_the_connection(
    jira_emulator: EmulatorHandle, client: JiraClient
) -> None:
    jira_emulator.add_fault(mode="drop_after_commit", endpoint="create_issue", count=1)
    with pytest.raises(requests.ConnectionError):
        client.create_issue()
    assert created(jira_emulator) == 1
    assert jira_emulator.stats()["requests"]["jira:faulty"]["POST /rest/api/{v}/issue"] == {"dropped": 1}
    assert client.create_issue().status_code == 201


def test_rate_limit_fault_without_retry_after_has_no_headers(
    jira_emulator: EmulatorHandle, client: JiraClient
) -> None:
    jira_emulator.add_fault(mode="rate_limit", status=429)
    response = client.get("/rest/api/3/project")
    assert response.status_code == 429
    assert not {"Retry-After", "RateLimit-Reason", "X-RateLimit-Reset", "X-RateLimit-Limit"} & set(
        response.headers
    )
    assert jira_emulator.stats()["rateLimited"] == {"none": 1}


def test_rate_limit_fault_with_retry_after_looks_like_a_burst_limit(
    jira_emulator: EmulatorHandle, client: JiraClient
) -> None:
    jira_emulator.add_fault(mode="rate_limit", retry_after=3, limit=100)
    response = client.get("/rest/api/3/project")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.headers["RateLimit-Reason"] == "jira-burst-based"
    assert response.headers["X-RateLimit-Limit"] == "100"


def test_latency_fault_counts_down_and_the_request_succeeds(
    jira_emulator: EmulatorHandle, client: JiraClient
) -> None:
    jira_emulator.add_fault(mode="latency", latency_ms=50, jitter_ms=10, count=2)
    assert client.get("/rest/api/3/project").status_code == 200
    (fault,) = jira_emulator.faults()
    assert (fault["fired"], fault["count"]) == (1, 1)


def test_fault_scoped_to_a_tenant_leaves_others_alone(
    jira_emulator: EmulatorHandle, client: JiraClient
) -> None:
    other = jira_emulator.client(jira_emulator.add_tenant())
    jira_emulator.add_fault(mode="error_before_commit", client_key="jira:faulty")
    assert client.get("/rest/api/3/project").status_code == 500
    assert other.get("/rest/api/3/project").status_code == 200


def test_fault_scoped_to_an_endpoint_leaves_others_alone(
    jira_emulator: EmulatorHandle, client: JiraClient
) -> None:
    jira_emulator.add_fault(mode="error_before_commit", endpoint="search")
    assert client.post("/rest/api/3/search/jql", json={"jql": ""}).status_code == 500
    assert client.get("/rest/api/3/search/jql").status_code == 500
    assert client.create_issue().status_code == 201


@pytest.mark.parametrize(("probability", "status"), [(0, 200), (1, 503)])
def test_probability_decides_whether_a_fault_fires(
    jira_emulator: EmulatorHandle, client: JiraClient, probability: float, status: int
) -> None:
    jira_emulator.add_fault(mode="error_before_commit", status=503, probability=probability)
    assert {client.get("/rest/api/3/project").status_code for _ in range(5)} == {status}


def test_delete_clears_every_fault(jira_emulator: EmulatorHandle, client: JiraClient) -> None:
    jira_emulator.add_fault(mode="error_before_commit")
    jira_emulator.clear_faults()
    assert client.get("/rest/api/3/project").status_code == 200


def test_global_latency_knob_applies_to_jira_routes(
    jira_emulator: EmulatorHandle, client: JiraClient
) -> None:
    jira_emulator.configure({"latencyMs": 20, "jitterMs": 5})
    assert client.create_issue().status_code == 201


@pytest.mark.parametrize(
    "fault",
    [{"mode": "explode"}, {"mode": "latency", "probability": 2}, {"mode": "rate_limit", "colour": "red"}],
)
def test_invalid_fault_is_400(jira_emulator: EmulatorHandle, fault: dict[str, object]) -> None:
    with pytest.raises(EmulatorControlError) as raised:
        jira_emulator.add_fault(**fault)
    assert raised.value.status == 400
