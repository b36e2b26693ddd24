"""Projects and create metadata against the emulator: every page of project/search with its filters, one
project, createmeta cached briefly, and one kept-alive TCP connection per tenant."""

from __future__ import annotations

from typing import Any

import pytest

from jira_connect.errors import JiraNotFound
from jira_connect.jira_client import JiraClient, JiraClients
from tests.integration.jira_client_support import (
    FakeTime,
    SecretsOnTheWire,
    install_tenant,
    jira_clients,
    requests_to,
    tenant_store,
)

pytest_plugins = ["tests.integration.jira_client_fixtures"]

PROJECT_SEARCH = "GET /rest/api/{v}/project/search"
CREATEMETA_FIELDS = "GET /rest/api/{v}/issue/createmeta/{projectIdOrKey}/issuetypes/{issueTypeId}"
#: 60 projects AA..CH: more than one page, and more keys than one request may carry.
KEYS = [f"{a}{b}" for a in "ABC" for b in "ABCDEFGHIJKLMNOPQRST"]


def _clients(emu: Any, secrets: SecretsOnTheWire, time: FakeTime, **tenant: Any) -> JiraClients:
    install_tenant(emu, secrets, "acme", **tenant)
    return jira_clients(tenant_store(secrets, time), time)


def _client(emu: Any, secrets: SecretsOnTheWire, time: FakeTime, **tenant: Any) -> JiraClient:
    return _clients(emu, secrets, time, **tenant).for_tenant("acme")


def test_iter_projects_walks_every_page_in_key_order(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _client(emu, secrets, fake_time, projects=[{"key": k, "name": f"Project {k}"} for k in KEYS])
    projects = list(client.iter_projects(page_size=7))
    assert [p["key"] for p in projects] == KEYS
    assert requests_to(emu, "acme", PROJECT_SEARCH) == {"200": 9}


def test_iter_projects_filters_by_query(emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime) -> None:
    projects = [{"key": "OPS", "name": "Operations"}, {"key": "DEV", "name": "Development"}]
    client = _client(emu, secrets, fake_time, projects=projects)
    assert [p["key"] for p in client.iter_projects(query="opera")] == ["OPS"]


def test_iter_projects_with_more_than_50_keys_splits_them_across_requests(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _client(emu, secrets, fake_time, projects=[{"key": k} for k in KEYS])
    wanted = KEYS[:55]
    assert [p["key"] for p in client.iter_projects(keys=wanted)] == wanted
    assert requests_to(emu, "acme", PROJECT_SEARCH) == {"200": 2}


def test_iter_projects_with_no_keys_asks_nothing(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _client(emu, secrets, fake_time)
    assert list(client.iter_projects(keys=[])) == []
    assert requests_to(emu, "acme", PROJECT_SEARCH) == {}


def test_project_page_returns_jiras_page_bean(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _client(emu, secrets, fake_time, projects=[{"key": k} for k in KEYS[:5]])
    page = client.project_page(2, 2)
    assert [p["key"] for p in page["values"]] == KEYS[2:4]
    assert (page["startAt"], page["maxResults"], page["total"], page["isLast"]) == (2, 2, 5, False)


def test_get_project_by_key_and_by_id(emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime) -> None:
    client = _client(emu, secrets, fake_time)
    project = client.get_project("OPS")
    assert project["key"] == "OPS"
    assert client.get_project(project["id"])["key"] == "OPS"


def test_unknown_project_is_not_found_with_jiras_message(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _client(emu, secrets, fake_time)
    with pytest.raises(JiraNotFound) as caught:
        client.get_project("NOPE")
    assert caught.value.error_messages == ("No project could be found with key 'NOPE'.",)


def test_project_key_with_reserved_characters_is_encoded_in_the_path_and_signed_as_sent(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    # A 401 here would mean the qsh was computed over another path than the one sent.
    client = _client(emu, secrets, fake_time)
    with pytest.raises(JiraNotFound):
        client.get_project("A&B/C D")


def test_create_meta_lists_every_field_and_is_cached_briefly(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _client(emu, secrets, fake_time)
    task = next(t for t in client.get_project("OPS")["issueTypes"] if t["name"] == "Task")
    fields = client.create_meta("OPS", task["id"])
    assert {"summary", "issuetype", "project"} <= {f["fieldId"] for f in fields}
    fields.clear()  # the caller's copy: the cache is not affected
    assert client.create_meta("OPS", task["id"])
    assert requests_to(emu, "acme", CREATEMETA_FIELDS) == {"200": 1}
    fake_time.advance(61)
    client.create_meta("OPS", task["id"])
    assert requests_to(emu, "acme", CREATEMETA_FIELDS) == {"200": 2}


def test_100_sequential_requests_to_one_tenant_use_one_tcp_connection(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    clients = _clients(emu, secrets, fake_time)
    for _ in range(100):
        clients.for_tenant("acme").get_project("OPS")
    assert emu.stats()["connectionsOpened"] == 1
    pools = clients.session("acme").get_adapter("http://").poolmanager.pools  # type: ignore[attr-defined]
    # RecentlyUsedContainer refuses plain iteration; keys() is its thread-safe view.
    assert [pools[key].num_connections for key in pools.keys()] == [1]  # noqa: SIM118
