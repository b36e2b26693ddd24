"""GET /tenants/{clientKey}/projects[/{projectKeyOrId}] over real HTTP, with the Jira emulator behind it."""

from __future__ import annotations

import pytest

from jira_connect import issue_api
from tests.integration.test_api_stack import ApiStack, api_fixture  # noqa: F401 (fixture)

MANY = [{"key": f"P{i:03d}", "name": f"Project {i}"} for i in range(120)]


def test_all_pages_are_gathered_when_no_page_is_asked_for(api: ApiStack) -> None:
    tenant = api.add_tenant(projects=MANY)

    response = api.get(f"/tenants/{tenant}/projects")

    assert response.status_code == 200
    page = response.json()
    assert [p["key"] for p in page["values"]] == [p["key"] for p in MANY]
    assert (page["startAt"], page["maxResults"], page["total"], page["isLast"]) == (0, 120, 120, True)


def test_one_page_when_start_at_or_max_results_is_given(api: ApiStack) -> None:
    tenant = api.add_tenant(projects=MANY)

    first = api.get(f"/tenants/{tenant}/projects", params={"maxResults": 50}).json()
    last = api.get(f"/tenants/{tenant}/projects", params={"startAt": 100, "maxResults": 50}).json()

    assert [p["key"] for p in first["values"]] == [p["key"] for p in MANY[:50]]
    assert (first["startAt"], first["maxResults"], first["total"], first["isLast"]) == (0, 50, 120, False)
    assert [p["key"] for p in last["values"]] == [p["key"] for p in MANY[100:]]
    assert last["isLast"] is True


def test_query_is_passed_to_jiras_project_search(api: ApiStack) -> None:
    tenant = api.add_tenant()
    page = api.get(f"/tenants/{tenant}/projects", params={"query": "supp"}).json()
    assert [p["key"] for p in page["values"]] == ["SUP"]


def test_gathering_stops_at_the_cap_and_says_it_is_not_the_last(
    api: ApiStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(issue_api, "MAX_GATHERED_PROJECTS", 30)
    tenant = api.add_tenant(projects=MANY[:40])
    page = api.get(f"/tenants/{tenant}/projects").json()
    assert (len(page["values"]), page["total"], page["isLast"]) == (30, None, False)


def test_one_project_by_key_or_id(api: ApiStack) -> None:
    tenant = api.add_tenant()
    by_key = api.get(f"/tenants/{tenant}/projects/OPS")
    assert by_key.status_code == 200
    by_id = api.get(f"/tenants/{tenant}/projects/{by_key.json()['id']}")
    assert by_id.json()["key"] == "OPS"


def test_an_unknown_project_is_404_with_jiras_message(api: ApiStack) -> None:
    tenant = api.add_tenant()
    response = api.get(f"/tenants/{tenant}/projects/NOPE")
    assert response.status_code == 404
    detail = response.json()["error"]
    assert detail["type"] == "JiraNotFound"
    assert detail["errorMessages"] == ["No project could be found with key 'NOPE'."]


def test_an_unknown_tenant_is_404(api: ApiStack) -> None:
    response = api.get("/tenants/jira:never-installed/projects")
    assert (response.status_code, response.json()["error"]["type"]) == (404, "UnknownTenant")


def test_jira_unavailable_on_a_read_is_503_with_retry_after(api: ApiStack) -> None:
    tenant = api.add_tenant()
    api.emulator.add_fault(
        mode="error_before_commit", client_key=tenant, endpoint="projects", status=503, retry_after=60
    )
    response = api.get(f"/tenants/{tenant}/projects")
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 60
