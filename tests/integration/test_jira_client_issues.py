"""Creating issues against the Jira emulator: v3/v2 bodies, Jira's errors intact, the anonymous-400
diagnosis, ambiguous outcomes never re-sent, Retry-After honoured, bulk results mapped to their elements."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from jira_connect.errors import (
    AnonymousRequest,
    ConnectionLost,
    IssueCreatorError,
    JiraBadRequest,
    JiraServerError,
    JiraUnprocessable,
)
from jira_connect.jira_client import CreatedIssue, JiraClient, SentRequest, jira_error
from tests.integration.jira_client_support import (
    FakeTime,
    SecretsOnTheWire,
    install_tenant,
    issue,
    jira_clients,
    low_end,
    requests_to,
    tenant_store,
)

pytest_plugins = ["tests.integration.jira_client_fixtures"]

CREATE = "POST /rest/api/{v}/issue"


def _client(emu: Any, secrets: SecretsOnTheWire, time: FakeTime, **tenant: Any) -> JiraClient:
    install_tenant(emu, secrets, "acme", **tenant)
    return jira_clients(tenant_store(secrets, time), time, uniform=low_end).for_tenant("acme")


def _stored(emu: Any, key: str) -> dict[str, Any]:
    return next(i for i in emu.issues("acme") if i["key"] == key)


def test_create_issue_on_v3_turns_a_plain_description_into_adf_without_touching_the_input(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _client(emu, secrets, fake_time)
    body = issue(description="Disk full\n\nOn db-1", labels=["ops"])
    before = copy.deepcopy(body)
    created = client.create_issue(body)
    assert body == before
    assert created.key == "OPS-1"
    assert created.self.endswith(f"/rest/api/3/issue/{created.id}")
    description = _stored(emu, "OPS-1")["fields"]["description"]
    assert description["type"] == "doc"
    assert [p["content"][0]["text"] for p in description["content"]] == ["Disk full", "On db-1"]


def test_create_issue_on_v2_sends_the_description_as_a_string(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _client(emu, secrets, fake_time)
    created = client.create_issue(issue(description="plain"), api_version=2)
    assert "/rest/api/2/issue/" in created.self
    assert _stored(emu, created.key)["fields"]["description"] == "plain"


def test_invalid_fields_raise_bad_request_with_jiras_errors_intact(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _client(emu, secrets, fake_time)
    with pytest.raises(JiraBadRequest) as caught:
        client.create_issue({"fields": {"project": {"key": "OPS"}, "summary": ""}})
    error = caught.value
    assert type(error) is JiraBadRequest
    assert error.status == 400
    assert error.errors == {
        "issuetype": "Specify an issue type",
        "summary": "You must specify a summary of the issue.",
    }


def test_missing_summary_keeps_jiras_field_error(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _client(emu, secrets, fake_time)
    with pytest.raises(JiraBadRequest) as caught:
        client.create_issue(issue(summary=" "))
    assert type(caught.value) is JiraBadRequest
    assert caught.value.errors == {"summary": "You must specify a summary of the issue."}


def test_app_that_cannot_create_in_the_project_gets_the_anonymous_diagnosis_not_a_field_blame(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    # Jira hides the create screen from a caller without Create issues: the same symptom as anonymous.
    client = _client(emu, secrets, fake_time, projects=[{"key": "OPS", "permissions": ["BROWSE"]}])
    with pytest.raises(AnonymousRequest) as caught:
        client.create_issue(issue(description="d", labels=["ops"]))
    error = caught.value
    assert "treated the request as anonymous" in error.message
    assert "python -m jira_connect explain --method POST --url" in error.message
    assert set(error.errors) == {"summary", "description", "labels"}
    assert all(
        text.endswith("It is not on the appropriate screen, or unknown.") for text in error.errors.values()
    )


def test_connect_jwt_sent_as_bearer_is_anonymous_and_diagnosed_as_such(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    # The forum thread's mistake, made on purpose below the client (which can only send "JWT <token>").
    record = install_tenant(emu, secrets, "acme")
    url = record["baseUrl"] + "/rest/api/3/issue"
    body = issue(description="x")
    # The emulator fixture's raw client signs with this project's signer and can swap the scheme word.
    response = emu.client(record).post("/rest/api/3/issue", json=body, scheme="Bearer")
    assert response.request.headers["Authorization"].startswith("Bearer ey")
    error = jira_error(
        response, SentRequest("POST", url, idempotent=False, sent_fields=frozenset(body["fields"]))
    )
    assert isinstance(error, AnonymousRequest)
    assert "never 'Bearer'" in error.message
    assert requests_to(emu, "anonymous", CREATE) == {"400": 1}


def test_configuration_problem_in_jira_is_unprocessable(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _client(emu, secrets, fake_time)
    emu.add_fault(mode="error_before_commit", client_key="acme", endpoint="create_issue", status=422, count=1)
    with pytest.raises(JiraUnprocessable):
        client.create_issue(issue())


def test_500_after_the_issue_was_committed_is_ambiguous_and_the_create_is_not_resent(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _client(emu, secrets, fake_time)
    emu.add_fault(mode="error_after_commit", client_key="acme", endpoint="create_issue", status=500, count=1)
    with pytest.raises(JiraServerError) as caught:
        client.create_issue(issue())
    assert caught.value.fate == "ambiguous"
    assert len(emu.issues("acme")) == 1
    assert sum(requests_to(emu, "acme", CREATE).values()) == 1


@pytest.mark.parametrize("status", [502, 504])
def test_gateway_error_on_create_is_ambiguous_not_retried(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime, status: int
) -> None:
    client = _client(emu, secrets, fake_time)
    emu.add_fault(
        mode="error_after_commit", client_key="acme", endpoint="create_issue", status=status, count=1
    )
    with pytest.raises(JiraServerError):
        client.create_issue(issue())
    assert len(emu.issues("acme")) == 1
    assert fake_time.sleeps == []


def test_connection_dropped_after_commit_is_ambiguous_and_the_create_is_not_resent(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _client(emu, secrets, fake_time)
    emu.add_fault(mode="drop_after_commit", client_key="acme", endpoint="create_issue", count=1)
    with pytest.raises(ConnectionLost) as caught:
        client.create_issue(issue())
    assert caught.value.fate == "ambiguous"
    assert len(emu.issues("acme")) == 1


def test_503_with_retry_after_is_retried_after_at_least_that_delay_and_creates_once(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _client(emu, secrets, fake_time)
    emu.add_fault(
        mode="error_before_commit",
        client_key="acme",
        endpoint="create_issue",
        status=503,
        retry_after=2,
        count=1,
    )
    assert client.create_issue(issue()).key == "OPS-1"
    assert fake_time.sleeps == [2.0]
    assert requests_to(emu, "acme", CREATE) == {"503": 1, "201": 1}


def test_503_retry_after_beyond_the_deadline_is_handed_back_without_waiting(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _client(emu, secrets, fake_time)
    emu.add_fault(
        mode="error_before_commit",
        client_key="acme",
        endpoint="create_issue",
        status=503,
        retry_after=120,
        count=1,
    )
    with pytest.raises(IssueCreatorError) as caught:
        client.create_issue(issue(), deadline=lambda: 30.0)
    assert caught.value.fate == "retryable"
    assert caught.value.retry_after == 120.0
    assert fake_time.sleeps == []
    assert emu.issues("acme") == []


# --- bulk ------------------------------------------------------------------------------------------


def test_bulk_results_are_mapped_to_their_input_elements(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _client(emu, secrets, fake_time)
    # Each element is labelled with its position; the emulator's stored labels tell which issue is which.
    issues = [issue(f"issue {i}", labels=[f"n{i}"]) for i in range(5)]
    issues[1] = issue("")  # no summary
    issues[3] = issue("bad type", issuetype={"name": "NoSuchType"})
    results = client.create_issues(issues)
    assert [type(r) for r in results] == [
        CreatedIssue,
        JiraBadRequest,
        CreatedIssue,
        JiraBadRequest,
        CreatedIssue,
    ]
    assert isinstance(results[1], JiraBadRequest)
    assert results[1].errors == {"summary": "You must specify a summary of the issue."}
    assert isinstance(results[3], JiraBadRequest)
    assert "issuetype" in results[3].errors
    labels = {i["key"]: i["fields"]["labels"] for i in emu.issues("acme")}
    for position in (0, 2, 4):
        result = results[position]
        assert isinstance(result, CreatedIssue)
        assert labels[result.key] == [f"n{position}"]


def test_bulk_create_of_120_issues_goes_in_chunks_of_50_and_keeps_input_order(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _client(emu, secrets, fake_time)
    issues = [issue(f"n{i}", labels=[f"n{i}"]) for i in range(120)]
    issues[77] = issue("")
    results = client.create_issues(issues)
    assert len(results) == 120
    assert requests_to(emu, "acme", "POST /rest/api/{v}/issue/bulk") == {"201": 3}
    labels = {i["key"]: i["fields"]["labels"] for i in emu.issues("acme")}
    for position, result in enumerate(results):
        if position == 77:
            assert isinstance(result, JiraBadRequest)
        else:
            assert isinstance(result, CreatedIssue)
            assert labels[result.key] == [f"n{position}"]


def test_bulk_where_every_element_fails_maps_each_error(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _client(emu, secrets, fake_time)
    results = client.create_issues([issue(""), issue("x", issuetype={"name": "Nope"})])
    assert all(isinstance(r, JiraBadRequest) for r in results)
    assert isinstance(results[0], JiraBadRequest)
    assert "summary" in results[0].errors
    assert isinstance(results[1], JiraBadRequest)
    assert "issuetype" in results[1].errors


def test_bulk_request_that_fails_as_a_whole_gives_each_element_that_error(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _client(emu, secrets, fake_time)
    emu.add_fault(mode="error_after_commit", client_key="acme", endpoint="bulk_create", status=500, count=1)
    results = client.create_issues([issue("a"), issue("b")])
    assert all(isinstance(r, JiraServerError) for r in results)


# --- dedupe search -----------------------------------------------------------------------------------

DESCRIPTOR = {
    "key": "com.example.issue-creator",
    "modules": {
        "jiraEntityProperties": [
            {
                "key": "dedupe-index",
                "entityType": "issue",
                "keyConfigurations": [
                    {
                        "propertyKey": "issue-creator.dedupe",
                        "extractions": [{"objectName": "key", "type": "string"}],
                    }
                ],
            }
        ]
    },
}


def test_issue_is_found_by_its_idempotency_property(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _client(emu, secrets, fake_time, descriptor=DESCRIPTOR)
    body = issue() | {"properties": [{"key": "issue-creator.dedupe", "value": {"key": 'msg-1 "quoted"'}}]}
    created = client.create_issue(body)
    client.create_issue(
        issue("other") | {"properties": [{"key": "issue-creator.dedupe", "value": {"key": "msg-2"}}]}
    )
    assert client.find_issues_by_property("issue-creator.dedupe", "key", 'msg-1 "quoted"') == [created.key]
    assert client.find_issues_by_property("issue-creator.dedupe", "key", "msg-3") == []


def test_search_lag_is_bridged_by_reconciling_known_issue_ids(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _client(emu, secrets, fake_time, descriptor=DESCRIPTOR)
    emu.configure({"search": {"indexLagMs": 60_000}})
    created = client.create_issue(
        issue() | {"properties": [{"key": "issue-creator.dedupe", "value": {"key": "m"}}]}
    )
    assert client.find_issues_by_property("issue-creator.dedupe", "key", "m") == []
    assert client.find_issues_by_property("issue-creator.dedupe", "key", "m", reconcile_ids=[created.id]) == [
        created.key
    ]


@pytest.mark.parametrize(("key", "path"), [("a b", "key"), ("k]", "key"), ("k", "x y"), ("k", "")])
def test_property_search_refuses_names_that_would_need_jql_quoting(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime, key: str, path: str
) -> None:
    client = _client(emu, secrets, fake_time)
    with pytest.raises(ValueError, match="property"):
        client.find_issues_by_property(key, path, "v")


def test_property_search_follows_every_result_page(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _client(emu, secrets, fake_time, descriptor=DESCRIPTOR)
    tagged = issue() | {"properties": [{"key": "issue-creator.dedupe", "value": {"key": "dup"}}]}
    created = client.create_issues([tagged] * 150)
    found = client.find_issues_by_property("issue-creator.dedupe", "key", "dup")
    assert sorted(found) == sorted(c.key for c in created if isinstance(c, CreatedIssue))
    assert len(found) == 150
    assert requests_to(emu, "acme", "POST /rest/api/{v}/search/jql") == {"200": 2}
