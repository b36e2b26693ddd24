"""Projects and create metadata on the emulator: the list, the paginated search, one project, and the
three createmeta endpoints, in Jira Cloud's shapes."""

from __future__ import annotations

import pytest

from tests.fixtures.emulator import EmulatorHandle, JiraClient

KEYS = ["ALPHA", "BETA", "GAMMA", "DELTA", "OPS"]


@pytest.fixture
def client(jira_emulator: EmulatorHandle) -> JiraClient:
    projects = [{"key": k, "name": f"{k.title()} team"} for k in KEYS]
    return jira_emulator.client(jira_emulator.add_tenant(projects=projects))


def test_default_tenant_has_the_ops_project_and_the_default_issue_types(
    jira_emulator: EmulatorHandle,
) -> None:
    client = jira_emulator.client(jira_emulator.add_tenant())
    project = client.get("/rest/api/3/project/OPS").json()
    assert (project["id"], project["key"], project["name"]) == ("10000", "OPS", "Operations")
    names = [(t["name"], t["subtask"]) for t in project["issueTypes"]]
    assert names == [("Task", False), ("Bug", False), ("Story", False), ("Epic", False), ("Subtask", True)]
    assert project["lead"]["accountId"]


def test_project_list_is_a_bare_array(client: JiraClient) -> None:
    projects = client.get("/rest/api/2/project").json()
    assert [p["key"] for p in projects] == KEYS
    assert projects[0]["self"] == f"{client.base_url}/rest/api/2/project/10000"
    assert "issueTypes" not in projects[0]
    expanded = client.get("/rest/api/2/project", params={"expand": "issueTypes"}).json()
    assert expanded[0]["issueTypes"]


def test_project_search_pages_with_next_page_until_last(client: JiraClient) -> None:
    first = client.get("/rest/api/3/project/search", params={"maxResults": 2}).json()
    assert [p["key"] for p in first["values"]] == ["ALPHA", "BETA"]
    assert (first["startAt"], first["maxResults"], first["total"], first["isLast"]) == (0, 2, 5, False)
    assert "startAt=2" in first["nextPage"]
    second = client.get(first["nextPage"][len(client.base_url) :]).json()
    assert [p["key"] for p in second["values"]] == ["DELTA", "GAMMA"]
    third = client.get("/rest/api/3/project/search", params={"maxResults": 2, "startAt": 4}).json()
    assert ([p["key"] for p in third["values"]], third["isLast"]) == (["OPS"], True)
    assert "nextPage" not in third


def test_project_search_lowers_max_results_above_100(client: JiraClient) -> None:
    assert client.get("/rest/api/3/project/search", params={"maxResults": 500}).json()["maxResults"] == 100


def test_project_search_filters_by_keys_id_and_query(client: JiraClient) -> None:
    by_keys = client.get("/rest/api/3/project/search", params=[("keys", "BETA"), ("keys", "OPS")]).json()
    assert [p["key"] for p in by_keys["values"]] == ["BETA", "OPS"]
    by_id = client.get("/rest/api/3/project/search", params={"id": "10002"}).json()
    assert [p["key"] for p in by_id["values"]] == ["GAMMA"]
    by_query = client.get("/rest/api/3/project/search", params={"query": "ta TEAM"}).json()
    assert [p["key"] for p in by_query["values"]] == ["BETA", "DELTA"]


def test_project_search_orders_by_name_descending(client: JiraClient) -> None:
    page = client.get("/rest/api/3/project/search", params={"orderBy": "-name"}).json()
    assert [p["key"] for p in page["values"]] == ["OPS", "GAMMA", "DELTA", "BETA", "ALPHA"]


@pytest.mark.parametrize("params", [{"orderBy": "colour"}, {"maxResults": -1}, {"startAt": "x"}])
def test_project_search_rejects_bad_parameters(client: JiraClient, params: dict[str, object]) -> None:
    assert client.get("/rest/api/3/project/search", params=params).status_code == 400


def test_get_project_by_id_or_key_and_404_otherwise(client: JiraClient) -> None:
    assert client.get("/rest/api/3/project/10001").json()["key"] == "BETA"
    assert client.get("/rest/api/3/project/BETA").json()["id"] == "10001"
    missing = client.get("/rest/api/3/project/beta")
    assert (missing.status_code, missing.json()["errorMessages"]) == (
        404,
        ["No project could be found with key 'beta'."],
    )


def test_createmeta_lists_issue_types_with_paging(client: JiraClient) -> None:
    page = client.get("/rest/api/3/issue/createmeta/OPS/issuetypes", params={"maxResults": 2}).json()
    assert [t["name"] for t in page["issueTypes"]] == ["Task", "Bug"]
    assert (page["maxResults"], page["startAt"], page["total"]) == (2, 0, 5)


def test_createmeta_max_results_over_200_is_jiras_400(client: JiraClient) -> None:
    response = client.get("/rest/api/3/issue/createmeta/OPS/issuetypes", params={"maxResults": 201})
    assert response.status_code == 400
    assert response.json() == {
        "errorMessages": ["Parameter 'maxResults' must not exceed the limit '200'"],
        "errors": {},
        "httpStatusCode": {"empty": False, "present": True},
    }


def test_createmeta_fields_describe_the_create_screen(client: JiraClient) -> None:
    page = client.get("/rest/api/3/issue/createmeta/OPS/issuetypes/10001").json()
    by_id = {f["fieldId"]: f for f in page["fields"]}
    assert by_id["summary"]["required"] is True
    assert by_id["summary"]["schema"] == {"type": "string", "system": "summary"}
    assert [v["name"] for v in by_id["priority"]["allowedValues"]] == [
        "Highest",
        "High",
        "Medium",
        "Low",
        "Lowest",
    ]
    assert page["total"] == len(page["fields"])


def test_createmeta_for_unknown_project_is_404(client: JiraClient) -> None:
    assert client.get("/rest/api/3/issue/createmeta/NOPE/issuetypes").status_code == 404


def test_deprecated_createmeta_drops_unknown_filters_and_expands_fields(client: JiraClient) -> None:
    params = {"projectKeys": "OPS,NOPE", "issuetypeNames": "Bug", "expand": "projects.issuetypes.fields"}
    body = client.get("/rest/api/2/issue/createmeta", params=params).json()
    assert [p["key"] for p in body["projects"]] == ["OPS"]
    (issue_type,) = body["projects"][0]["issuetypes"]
    assert issue_type["name"] == "Bug"
    assert issue_type["fields"]["summary"]["required"] is True
