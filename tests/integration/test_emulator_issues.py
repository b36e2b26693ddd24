"""Issues on the emulator: create with Jira's validation and messages, bulk create, get by id or key,
entity properties stored atomically with the issue, and the common response conventions."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.fixtures.emulator import EmulatorHandle, JiraClient

ADF = {
    "type": "doc",
    "version": 1,
    "content": [{"type": "paragraph", "content": [{"type": "text", "text": "t"}]}],
}
NOT_ON_SCREEN = "Field '{0}' cannot be set. It is not on the appropriate screen, or unknown."


@pytest.fixture
def client(jira_emulator: EmulatorHandle) -> JiraClient:
    tenant = jira_emulator.add_tenant(
        projects=[
            {"key": "OPS", "name": "Operations"},
            {"key": "SEC", "name": "Security", "issueTypes": ["Task", "Incident"]},
            {"key": "RO", "name": "Read only", "permissions": ["BROWSE"]},
            {"key": "MIN", "name": "Minimal screen", "fields": ["summary", "description"]},
        ],
        custom_fields=[
            {
                "id": "customfield_10050",
                "name": "Severity",
                "type": "option",
                "allowedValues": ["Low", "High"],
            },
            {"id": "customfield_10051", "name": "Team", "type": "string", "required": True},
        ],
    )
    return JiraClient(tenant)


def fields(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "project": {"key": "OPS"},
        "issuetype": {"name": "Task"},
        "summary": "Disk full",
        "customfield_10051": "SRE",
    }
    base.update(extra)
    return {k: v for k, v in base.items() if v is not None}


def create(client: JiraClient, version: int = 3, **extra: Any) -> requests.Response:
    return client.post(f"/rest/api/{version}/issue", json={"fields": fields(**extra)})


def test_create_answers_201_with_id_key_and_self_of_the_version_used(client: JiraClient) -> None:
    first = create(client, version=3, description=ADF)
    second = create(client, version=2, description="plain")
    assert first.status_code == second.status_code == 201
    assert first.json() == {
        "id": "10000",
        "key": "OPS-1",
        "self": f"{client.base_url}/rest/api/3/issue/10000",
    }
    assert second.json() == {
        "id": "10001",
        "key": "OPS-2",
        "self": f"{client.base_url}/rest/api/2/issue/10001",
    }


def test_keys_count_per_project_and_ids_per_tenant(client: JiraClient) -> None:
    create(client)
    sec = create(client, project={"key": "SEC"}, issuetype={"name": "Incident"}).json()
    assert (sec["id"], sec["key"]) == ("10001", "SEC-1")


@pytest.mark.parametrize(
    ("version", "description", "message"),
    [
        (
            3,
            "plain text",
            "Operation value must be an Atlassian Document (see the Atlassian Document Format)",
        ),
        (
            3,
            {"type": "paragraph"},
            "Operation value must be an Atlassian Document (see the Atlassian Document Format)",
        ),
        (2, ADF, "Operation value must be a string"),
    ],
)
def test_description_must_match_the_api_version(
    client: JiraClient, version: int, description: Any, message: str
) -> None:
    response = create(client, version=version, description=description)
    assert response.status_code == 400
    assert response.json() == {"errorMessages": [], "errors": {"description": message}}


def test_missing_fields_are_reported_together(client: JiraClient) -> None:
    response = client.post("/rest/api/3/issue", json={"fields": {}})
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "project": "Specify a valid project ID or key",
        "issuetype": "Specify an issue type",
        "summary": "You must specify a summary of the issue.",
    }


@pytest.mark.parametrize(
    ("extra", "errors"),
    [
        ({"project": {"key": "NOPE"}}, {"project": "Specify a valid project ID or key"}),
        ({"project": {"key": "ops"}}, {"project": "Specify a valid project ID or key"}),
        (
            {"project": {"id": "10001"}, "issuetype": {"name": "Bug"}},
            {"issuetype": "Specify a valid issue type"},
        ),
        ({"issuetype": {"name": "Subtask"}}, {"issuetype": "The issue type selected is invalid."}),
        ({"summary": "x" * 255}, {"summary": "Summary must be less than 255 characters."}),
        ({"summary": "   "}, {"summary": "You must specify a summary of the issue."}),
        (
            {"summary": "two\nlines"},
            {"summary": "The summary is invalid because it contains newline characters."},
        ),
        ({"priority": {"name": "Urgent"}}, {"priority": "Specify the Priority (name) in the string format"}),
        ({"components": ["web"]}, {"components": "Please provide Component"}),
        (
            {"customfield_10050": {"value": "Medium"}},
            {"customfield_10050": "Option value 'Medium' is not valid"},
        ),
        ({"customfield_10051": None}, {"customfield_10051": "Team is required."}),
        ({"customfield_99999": "x"}, {"customfield_99999": NOT_ON_SCREEN.format("customfield_99999")}),
        ({"assignee": {"accountId": "nobody"}}, {"assignee": "Specify a valid value for assignee"}),
    ],
)
def test_invalid_values_get_jiras_field_errors(
    client: JiraClient, extra: dict[str, Any], errors: dict[str, str]
) -> None:
    response = create(client, **extra)
    assert response.status_code == 400
    assert response.json() == {"errorMessages": [], "errors": errors}


def test_summary_of_254_characters_is_accepted(client: JiraClient) -> None:
    assert create(client, summary="x" * 254).status_code == 201


def test_field_not_on_the_projects_screen_cannot_be_set(client: JiraClient) -> None:
    response = create(client, project={"key": "MIN"}, customfield_10051=None, labels=["a"])
    assert response.json()["errors"] == {"labels": NOT_ON_SCREEN.format("labels")}


def test_project_without_create_permission_gives_field_errors(client: JiraClient) -> None:
    response = create(client, project={"key": "RO"}, description=ADF)
    assert response.status_code == 400
    assert response.json()["errors"] == {
        "summary": NOT_ON_SCREEN.format("summary"),
        "description": NOT_ON_SCREEN.format("description"),
        "customfield_10051": NOT_ON_SCREEN.format("customfield_10051"),
    }


def test_subtask_is_created_under_its_parent_in_the_same_project(client: JiraClient) -> None:
    parent = create(client).json()
    response = create(client, issuetype={"name": "Subtask"}, parent={"key": parent["key"]})
    assert response.status_code == 201
    issue = client.get(f"/rest/api/3/issue/{response.json()['key']}").json()
    assert issue["fields"]["parent"]["key"] == parent["key"]


def test_subtask_in_another_project_than_its_parent_is_refused(jira_emulator: EmulatorHandle) -> None:
    tenant = jira_emulator.add_tenant(projects=[{"key": "OPS"}, {"key": "DEV"}])
    client = jira_emulator.client(tenant)
    parent = client.create_issue().json()
    response = client.create_issue(fields={"project": {"key": "DEV"}, "issuetype": {"name": "Subtask"},
                                           "parent": {"key": parent["key"]}})  # fmt: skip
    assert response.json()["errors"] == {
        "project": "Sub-tasks must be created in the same project as the parent."
    }


def test_get_issue_by_key_and_by_id_returns_fields_and_reporter(client: JiraClient) -> None:
    created = create(
        client, labels=["ops"], priority={"name": "High"}, customfield_10050={"value": "High"}
    ).json()
    by_key = client.get(f"/rest/api/3/issue/{created['key']}").json()
    by_id = client.get(f"/rest/api/2/issue/{created['id']}").json()
    assert by_key["id"] == by_id["id"] == created["id"]
    assert by_key["fields"]["summary"] == "Disk full"
    assert by_key["fields"]["labels"] == ["ops"]
    assert by_key["fields"]["priority"]["name"] == "High"
    assert by_key["fields"]["customfield_10050"] == {"value": "High", "id": "10001"}
    assert by_key["fields"]["reporter"]["accountType"] == "app"
    assert by_key["fields"]["issuetype"]["name"] == "Task"
    assert by_id["self"].endswith(f"/rest/api/2/issue/{created['id']}")


def test_get_issue_can_select_fields(client: JiraClient) -> None:
    key = create(client).json()["key"]
    issue = client.get(f"/rest/api/3/issue/{key}", params={"fields": "summary,labels"}).json()
    assert set(issue["fields"]) == {"summary", "labels"}


def test_unknown_issue_is_404(client: JiraClient) -> None:
    response = client.get("/rest/api/3/issue/OPS-999")
    assert response.status_code == 404
    assert response.json()["errorMessages"] == [
        "Issue does not exist or you do not have permission to see it."
    ]


# -- properties --------------------------------------------------------------------------------------


def test_properties_in_the_create_body_are_stored_with_the_issue(client: JiraClient) -> None:
    body = {"fields": fields(), "properties": [{"key": "app.dedupe", "value": {"k": "h1"}}]}
    key = client.post("/rest/api/3/issue", json=body).json()["key"]
    prop = client.get(f"/rest/api/3/issue/{key}/properties/app.dedupe")
    assert (prop.status_code, prop.json()) == (200, {"key": "app.dedupe", "value": {"k": "h1"}})
    issue = client.get(f"/rest/api/3/issue/{key}", params={"properties": "app.dedupe"}).json()
    assert issue["properties"] == {"app.dedupe": {"k": "h1"}}


def test_invalid_property_in_the_create_body_creates_nothing(
    jira_emulator: EmulatorHandle, client: JiraClient
) -> None:
    body = {"fields": fields(), "properties": [{"key": "k" * 256, "value": 1}]}
    response = client.post("/rest/api/3/issue", json=body)
    assert response.status_code == 400
    assert response.json()["errorMessages"] == ["The property key cannot be longer than 255 characters."]
    assert jira_emulator.issues(client.tenant["clientKey"]) == []


def test_property_put_creates_with_201_then_updates_with_200(client: JiraClient) -> None:
    key = create(client).json()["key"]
    path = f"/rest/api/3/issue/{key}/properties/app.state"
    assert client.put(path, json={"n": 1}).status_code == 201
    assert client.put(path, json={"n": 2}).status_code == 200
    assert client.get(path).json()["value"] == {"n": 2}
    listed = client.get(f"/rest/api/3/issue/{key}/properties").json()["keys"]
    assert [k["key"] for k in listed] == ["app.state"]


def test_percent_encoded_property_key_is_signed_raw_and_stored_decoded(client: JiraClient) -> None:
    key = create(client).json()["key"]
    path = f"/rest/api/3/issue/{key}/properties/my%20key%2Fv1"
    assert client.put(path, json=True).status_code == 201
    listed = client.get(f"/rest/api/3/issue/{key}/properties").json()["keys"]
    assert [k["key"] for k in listed] == ["my key/v1"]


def test_property_value_over_32768_characters_is_refused(client: JiraClient) -> None:
    key = create(client).json()["key"]
    response = client.put(f"/rest/api/3/issue/{key}/properties/big", json="x" * 32767)
    assert response.status_code == 400


def test_unknown_property_is_404(client: JiraClient) -> None:
    key = create(client).json()["key"]
    assert client.get(f"/rest/api/3/issue/{key}/properties/none").status_code == 404


# -- bulk --------------------------------------------------------------------------------------------


def test_bulk_create_reports_failed_elements_by_zero_based_index(client: JiraClient) -> None:
    updates = [
        {"fields": fields(summary="a")},
        {"fields": fields(summary=None)},
        {"fields": fields(summary="c")},
    ]
    response = client.post("/rest/api/3/issue/bulk", json={"issueUpdates": updates})
    assert response.status_code == 201
    body = response.json()
    assert [i["key"] for i in body["issues"]] == ["OPS-1", "OPS-2"]
    assert body["errors"] == [
        {
            "status": 400,
            "failedElementNumber": 1,
            "elementErrors": {
                "errorMessages": [],
                "errors": {"summary": "You must specify a summary of the issue."},
            },
        }
    ]


def test_bulk_create_where_all_fail_is_400(client: JiraClient) -> None:
    updates = [{"fields": fields(summary=None)}, {"fields": fields(project={"key": "X"})}]
    response = client.post("/rest/api/3/issue/bulk", json={"issueUpdates": updates})
    assert response.status_code == 400
    assert [e["failedElementNumber"] for e in response.json()["errors"]] == [0, 1]
    assert response.json()["issues"] == []


def test_bulk_create_of_more_than_50_is_400(client: JiraClient) -> None:
    updates = [{"fields": fields()}] * 51
    response = client.post("/rest/api/3/issue/bulk", json={"issueUpdates": updates})
    assert response.status_code == 400
    assert response.json()["errorMessages"]


def test_bulk_create_of_50_succeeds(client: JiraClient) -> None:
    response = client.post("/rest/api/3/issue/bulk", json={"issueUpdates": [{"fields": fields()}] * 50})
    assert (response.status_code, len(response.json()["issues"])) == (201, 50)


# -- conventions -------------------------------------------------------------------------------------


def test_every_response_carries_request_ids_and_json_content_type(client: JiraClient) -> None:
    response = create(client)
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert len(response.headers["X-Arequestid"]) == 16
    assert len(response.headers["Atl-Traceid"]) == 32
    assert response.headers["Server"] == "AtlassianEdge"


def test_malformed_json_is_400(client: JiraClient) -> None:
    response = client.post(
        "/rest/api/3/issue", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["errorMessages"][0].startswith("Unexpected content in the JSON body")


def test_unknown_route_is_404_and_wrong_method_is_405(client: JiraClient) -> None:
    assert client.get("/rest/api/3/nothing-here").status_code == 404
    assert client.get("/rest/api/4/project").status_code == 404
    response = client.request("DELETE", "/rest/api/3/project")
    assert response.status_code == 405
    assert response.json()["errorMessages"]


def test_unknown_tenant_is_404(jira_emulator: EmulatorHandle) -> None:
    response = requests.get(f"{jira_emulator.url}/t/nobody/rest/api/3/project", timeout=10)
    assert response.status_code == 404
