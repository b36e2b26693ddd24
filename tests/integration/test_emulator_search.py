"""search/jql on the emulator: the JQL subset, properties searchable only when the descriptor indexes them,
index lag that ``reconcileIssues`` bypasses, cursor paging, and the removed legacy search (410)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.emulator import EmulatorHandle, JiraClient

DESCRIPTOR = {
    "key": "com.example.app",
    "modules": {
        "jiraEntityProperties": [
            {
                "key": "dedupe-index",
                "name": {"value": "Dedupe index"},
                "entityType": "issue",
                "keyConfigurations": [
                    {"propertyKey": "app.dedupe", "extractions": [{"objectName": "k", "type": "string"}]}
                ],
            }
        ]
    },
}
LEGACY_GONE = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)


@pytest.fixture
def client(jira_emulator: EmulatorHandle) -> JiraClient:
    tenant = jira_emulator.add_tenant(descriptor=DESCRIPTOR, projects=[{"key": "OPS"}, {"key": "DEV"}])
    return jira_emulator.client(tenant)


def create(client: JiraClient, dedupe: str | None = None, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if dedupe is not None:
        body["properties"] = [
            {"key": "app.dedupe", "value": {"k": dedupe}},
            {"key": "app.other", "value": {"k": dedupe}},
        ]
    response = client.create_issue(fields=fields, **body)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def search(client: JiraClient, jql: str, **extra: Any) -> dict[str, Any]:
    response = client.post("/rest/api/3/search/jql", json={"jql": jql, **extra})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def keys(result: dict[str, Any]) -> list[str]:
    return [issue["key"] for issue in result["issues"]]


def test_indexed_property_finds_the_issue(client: JiraClient) -> None:
    create(client, "h1")
    wanted = create(client, "h2")
    result = search(client, 'project = OPS AND issue.property[app.dedupe].k = "h2"')
    assert keys(result) == [wanted["key"]]
    assert result["isLast"] is True


def test_property_the_descriptor_does_not_index_finds_nothing_without_error(client: JiraClient) -> None:
    create(client, "h1")
    assert search(client, 'issue.property[app.other].k = "h1"')["issues"] == []
    assert search(client, 'issue.property[app.dedupe].missing = "h1"')["issues"] == []


def test_without_a_descriptor_no_property_is_searchable(jira_emulator: EmulatorHandle) -> None:
    client = jira_emulator.client(jira_emulator.add_tenant())
    create(client, "h1")
    assert search(client, 'issue.property[app.dedupe].k = "h1"')["issues"] == []


def test_index_lag_hides_new_issues_until_it_passes_unless_reconciled(
    jira_emulator: EmulatorHandle, client: JiraClient
) -> None:
    jira_emulator.configure({"search": {"indexLagMs": 2000}})
    jira_emulator.freeze_clock()
    created = create(client, "late")
    jql = 'issue.property[app.dedupe].k = "late"'
    assert search(client, jql)["issues"] == []
    assert keys(search(client, jql, reconcileIssues=[int(created["id"])])) == [created["key"]]
    jira_emulator.clock(advance=1.5)
    assert search(client, jql)["issues"] == []
    jira_emulator.clock(advance=0.5)
    assert keys(search(client, jql)) == [created["key"]]


def test_changed_property_is_searchable_by_its_old_value_until_reindexed(
    jira_emulator: EmulatorHandle, client: JiraClient
) -> None:
    created = create(client, "old")
    jira_emulator.configure({"search": {"indexLagMs": 1000}})
    jira_emulator.freeze_clock()
    client.put(f"/rest/api/3/issue/{created['key']}/properties/app.dedupe", json={"k": "new"})
    assert keys(search(client, 'issue.property[app.dedupe].k = "old"')) == [created["key"]]
    assert search(client, 'issue.property[app.dedupe].k = "new"')["issues"] == []
    jira_emulator.clock(advance=1)
    assert search(client, 'issue.property[app.dedupe].k = "old"')["issues"] == []
    assert keys(search(client, 'issue.property[app.dedupe].k = "new"')) == [created["key"]]


def test_project_labels_and_key_clauses_combine_with_and(client: JiraClient) -> None:
    first = create(client, labels=["alert-1"])
    create(client, labels=["alert-2"])
    create(client, project={"key": "DEV"}, labels=["alert-1"])
    assert keys(search(client, 'project = OPS AND labels = "alert-1"')) == [first["key"]]
    assert keys(search(client, f"key = {first['key']}")) == [first["key"]]
    assert keys(search(client, "project in (OPS, DEV) ORDER BY key ASC")) == ["DEV-1", "OPS-1", "OPS-2"]


def test_default_fields_are_only_the_id_and_others_on_request(client: JiraClient) -> None:
    create(client, summary="hello")
    (issue,) = search(client, "project = OPS")["issues"]
    assert set(issue) == {"id", "key", "self", "fields"}
    assert issue["fields"] == {}
    (issue,) = search(client, "project = OPS", fields=["summary"], properties=["app.dedupe"])["issues"]
    assert issue["fields"] == {"summary": "hello"}


def test_get_form_reads_the_query_string(client: JiraClient) -> None:
    created = create(client, "g")
    params = {"jql": 'issue.property[app.dedupe].k = "g"', "fields": "summary"}
    result = client.get("/rest/api/3/search/jql", params=params).json()
    assert keys(result) == [created["key"]]
    assert "summary" in result["issues"][0]["fields"]


def test_results_page_with_next_page_token(client: JiraClient) -> None:
    for _ in range(5):
        create(client)
    first = search(client, "project = OPS ORDER BY key ASC", maxResults=2)
    assert (keys(first), first["isLast"]) == (["OPS-1", "OPS-2"], False)
    second = search(
        client, "project = OPS ORDER BY key ASC", maxResults=2, nextPageToken=first["nextPageToken"]
    )
    assert keys(second) == ["OPS-3", "OPS-4"]
    third = search(
        client, "project = OPS ORDER BY key ASC", maxResults=2, nextPageToken=second["nextPageToken"]
    )
    assert (keys(third), third["isLast"], "nextPageToken" in third) == (["OPS-5"], True, False)


@pytest.mark.parametrize(
    ("jql", "message"),
    [
        ("colour = red", "Field 'colour' does not exist or you do not have permission to view it."),
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        ("project ~ OPS", "Error in the JQL Query: the operator '~' is not supported by this emulator."),
    ],
)
def test_jql_outside_the_subset_is_400(client: JiraClient, jql: str, message: str) -> None:
    response = client.post("/rest/api/3/search/jql", json={"jql": jql})
    assert (response.status_code, response.json()["errorMessages"]) == (400, [message])


def test_more_than_50_reconcile_ids_is_400(client: JiraClient) -> None:
    response = client.post("/rest/api/3/search/jql", json={"jql": "", "reconcileIssues": list(range(51))})
    assert response.status_code == 400


@pytest.mark.parametrize(("method", "version"), [("GET", 3), ("POST", 3), ("GET", 2), ("POST", 2)])
def test_legacy_search_is_gone_with_410(client: JiraClient, method: str, version: int) -> None:
    response = client.request(
        method, f"/rest/api/{version}/search", json={"jql": ""} if method == "POST" else None
    )
    assert response.status_code == 410
    assert response.json() == {"errorMessages": [LEGACY_GONE], "errors": {}}


def test_legacy_search_can_be_turned_back_on(jira_emulator: EmulatorHandle, client: JiraClient) -> None:
    created = create(client)
    jira_emulator.configure({"jira": {"legacySearchGone": False}})
    assert keys(client.get("/rest/api/2/search", params={"jql": "project = OPS"}).json()) == [created["key"]]


def test_anonymous_search_sees_nothing(client: JiraClient) -> None:
    create(client)
    result = client.get("/rest/api/3/search/jql", params={"jql": "project = OPS"}, sign=False).json()
    assert result["issues"] == []
