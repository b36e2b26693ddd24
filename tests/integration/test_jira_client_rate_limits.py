"""Jira's 429s against the emulator: Retry-After honoured, backoff without it, the pause scoped by
RateLimit-Reason and shared by every client of the execution environment, and the caller's deadline."""

from __future__ import annotations

from typing import Any

import pytest

from jira_connect.errors import RateLimited
from jira_connect.jira_client import JiraClients
from tests.integration.jira_client_support import (
    FakeTime,
    SecretsOnTheWire,
    install_tenant,
    issue,
    jira_clients,
    low_end,
    middle_of_range,
    requests_to,
    tenant_store,
)

pytest_plugins = ["tests.integration.jira_client_fixtures"]

CREATE = "POST /rest/api/{v}/issue"
GET_PROJECT = "GET /rest/api/{v}/project/{projectIdOrKey}"
PROJECT_SEARCH = "GET /rest/api/{v}/project/search"


def _clients(
    emu: Any, secrets: SecretsOnTheWire, time: FakeTime, *tenants: str, **options: Any
) -> JiraClients:
    for client_key in tenants or ("acme",):
        install_tenant(emu, secrets, client_key)
    return jira_clients(tenant_store(secrets, time), time, **options)


def test_retry_after_is_honoured_before_the_retry(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _clients(emu, secrets, fake_time, uniform=low_end).for_tenant("acme")
    emu.add_fault(mode="rate_limit", client_key="acme", endpoint="create_issue", retry_after=3, count=1)
    assert client.create_issue(issue()).key == "OPS-1"
    assert fake_time.sleeps == [3.0]
    assert requests_to(emu, "acme", CREATE) == {"429": 1, "201": 1}


def test_retry_after_is_a_minimum_that_jitter_only_lengthens(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _clients(emu, secrets, fake_time, uniform=lambda a, b: b).for_tenant("acme")
    emu.add_fault(mode="rate_limit", client_key="acme", endpoint="create_issue", retry_after=10, count=1)
    client.create_issue(issue())
    assert fake_time.sleeps == [pytest.approx(13.0)]


def test_429_without_headers_backs_off_5_then_10_seconds(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _clients(emu, secrets, fake_time, uniform=middle_of_range).for_tenant("acme")
    emu.add_fault(mode="rate_limit", client_key="acme", endpoint="get_project", count=2)
    assert client.get_project("OPS")["key"] == "OPS"
    assert fake_time.sleeps == [5.0, 10.0]


def test_429_is_retried_at_most_four_times(emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime) -> None:
    client = _clients(emu, secrets, fake_time, uniform=middle_of_range).for_tenant("acme")
    emu.add_fault(mode="rate_limit", client_key="acme", endpoint="get_project", retry_after=1, count=10)
    with pytest.raises(RateLimited):
        client.get_project("OPS")
    assert requests_to(emu, "acme", GET_PROJECT) == {"429": 5}
    assert len(fake_time.sleeps) == 4


def test_retry_that_would_outlast_the_deadline_is_not_started(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _clients(emu, secrets, fake_time, uniform=low_end).for_tenant("acme")
    emu.add_fault(
        mode="rate_limit",
        client_key="acme",
        endpoint="create_issue",
        retry_after=45,
        reason="jira-burst-based",
    )
    with pytest.raises(RateLimited) as caught:
        client.create_issue(issue(), deadline=fake_time.now + 20.0)
    error = caught.value
    assert error.fate == "retryable"
    assert error.retry_after == 45.0
    assert error.rate_limit_reason == "jira-burst-based"
    assert fake_time.sleeps == []
    assert requests_to(emu, "acme", CREATE) == {"429": 1}


def test_tenant_quota_pause_holds_back_other_endpoints_of_that_tenant_only(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    clients = _clients(emu, secrets, fake_time, "acme", "globex", uniform=low_end)
    acme = clients.for_tenant("acme")
    emu.add_fault(
        mode="rate_limit",
        client_key="acme",
        endpoint="project_search",
        retry_after=1800,
        reason="jira-quota-tenant-based",
        count=1,
    )
    with pytest.raises(RateLimited):
        list(acme.iter_projects(deadline=fake_time.now + 60))
    # Another endpoint of the same tenant is not even sent: the pause covers it.
    with pytest.raises(RateLimited) as caught:
        acme.create_issue(issue(), deadline=fake_time.now + 60)
    assert caught.value.rate_limit_reason == "jira-quota-tenant-based"
    assert caught.value.retry_after == pytest.approx(1800.0)
    assert requests_to(emu, "acme", CREATE) == {}
    # A client made later in the same execution environment sees the same pause.
    with pytest.raises(RateLimited):
        clients.for_tenant("acme").get_project("OPS", deadline=fake_time.now + 60)
    assert requests_to(emu, "acme", GET_PROJECT) == {}
    # Another tenant is not paused.
    assert clients.for_tenant("globex").get_project("OPS")["key"] == "OPS"


def test_global_quota_pause_holds_back_every_tenant_of_the_app(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    clients = _clients(emu, secrets, fake_time, "acme", "globex", uniform=low_end)
    emu.add_fault(
        mode="rate_limit",
        client_key="acme",
        endpoint="create_issue",
        retry_after=600,
        reason="jira-quota-global-based",
        count=1,
    )
    with pytest.raises(RateLimited):
        clients.for_tenant("acme").create_issue(issue(), deadline=fake_time.now + 60)
    with pytest.raises(RateLimited):
        clients.for_tenant("globex").get_project("OPS", deadline=fake_time.now + 60)
    assert requests_to(emu, "globex", GET_PROJECT) == {}


def test_pause_that_fits_the_deadline_is_waited_out_then_the_request_is_sent(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    clients = _clients(emu, secrets, fake_time, uniform=low_end)
    acme = clients.for_tenant("acme")
    emu.add_fault(
        mode="rate_limit", client_key="acme", endpoint="project_search", retry_after=8,
        reason="jira-quota-tenant-based", count=1,
    )  # fmt: skip
    with pytest.raises(RateLimited):
        list(acme.iter_projects(deadline=fake_time.now + 5))
    assert acme.get_project("OPS", deadline=fake_time.now + 60)["key"] == "OPS"
    assert fake_time.sleeps == [8.0]


def test_burst_pause_holds_back_only_that_endpoint(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    acme = _clients(emu, secrets, fake_time, uniform=low_end).for_tenant("acme")
    emu.add_fault(
        mode="rate_limit", client_key="acme", endpoint="create_issue", retry_after=30,
        reason="jira-burst-based", count=1,
    )  # fmt: skip
    with pytest.raises(RateLimited):
        acme.create_issue(issue(), deadline=fake_time.now + 10)
    assert acme.get_project("OPS", deadline=fake_time.now + 10)["key"] == "OPS"
    with pytest.raises(RateLimited):
        acme.create_issue(issue(), deadline=fake_time.now + 10)
    assert requests_to(emu, "acme", CREATE) == {"429": 1}


def test_emulated_hourly_quota_pauses_until_the_window_resets(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    clients = _clients(emu, secrets, fake_time, "acme", "globex", uniform=low_end)
    emu.configure({"rateLimits": {"quota": {"mode": "global", "pointsPerHour": 2}}})
    acme = clients.for_tenant("acme")
    acme.create_issue(issue("one"))
    acme.create_issue(issue("two"))
    with pytest.raises(RateLimited) as caught:
        acme.create_issue(issue("three"), deadline=fake_time.now + 1)
    assert caught.value.rate_limit_reason == "jira-quota-global-based"
    assert caught.value.retry_after is not None
    assert 0 < caught.value.retry_after <= 3600 * 1.3
    with pytest.raises(RateLimited):
        clients.for_tenant("globex").get_project("OPS", deadline=fake_time.now + 1)
    assert requests_to(emu, "globex", GET_PROJECT) == {}
