"""The issue message contract: valid bodies parse, every violation names its field path."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest

from jira_connect.errors import InvalidMessage
from jira_connect.issue_message import (
    IssueMessage,
    issue_message_schema,
    parse_issue_message,
    validate_issue_message,
)

EVENTS = Path(__file__).parents[2] / "events"
GOOD: dict[str, Any] = {
    "clientKey": "jira:tenant-1",
    "idempotencyKey": "order-42",
    "issue": {
        "fields": {
            "project": {"key": "OPS"},
            "issuetype": {"name": "Task"},
            "summary": "Disk full on db-1",
            "description": "plain text",
            "customfield_10010": {"value": "red"},
        },
        "properties": [{"key": "other.app", "value": {"x": 1}}],
        "update": {},
    },
}


def _with(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(GOOD)
    body.update(changes)
    return body


def _problem(body: object) -> dict[str, str]:
    with pytest.raises(InvalidMessage) as caught:
        parse_issue_message(body if isinstance(body, str) else json.dumps(body), message_id="m-1")
    return caught.value.errors


def test_valid_message_parses_with_issue_passed_through_untouched() -> None:
    message = parse_issue_message(json.dumps(GOOD), message_id="m-1")
    assert message == IssueMessage(
        client_key="jira:tenant-1", idempotency_key="order-42", issue=GOOD["issue"], act_as_user=None
    )


def test_act_as_user_is_carried() -> None:
    message = parse_issue_message(json.dumps(_with(actAsUser="5b10ac8d82e05b22cc7d4ef5")), message_id="m")
    assert message.act_as_user == "5b10ac8d82e05b22cc7d4ef5"


@pytest.mark.parametrize(
    ("body_key", "carried", "expected"),
    [
        ("order-42", "carried-key", "order-42"),
        (None, "carried-key", "carried-key"),
        (None, None, "m-1"),
    ],
    ids=["body-key-wins", "carried-attribute-next", "message-id-last"],
)
def test_idempotency_key_is_body_key_else_carried_else_message_id(
    body_key: str | None, carried: str | None, expected: str
) -> None:
    body = _with()
    if body_key is None:
        del body["idempotencyKey"]
    message = parse_issue_message(json.dumps(body), message_id="m-1", carried_idempotency_key=carried)
    assert message.idempotency_key == expected


def test_not_json_is_invalid_and_says_so() -> None:
    assert list(_problem("{not json")) == ["(body)"]


def test_nan_is_refused_as_not_json() -> None:
    errors = _problem('{"clientKey": NaN}')
    assert "NaN" in errors["(body)"]


def test_a_json_array_is_not_a_message() -> None:
    assert _problem([1, 2]) == {"(body)": "must be object"}


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({k: v for k, v in GOOD.items() if k != "clientKey"}, "(body)"),
        (_with(clientKey=""), "clientKey"),
        (_with(clientKey=7), "clientKey"),
        (_with(idempotencyKey=""), "idempotencyKey"),
        (_with(idempotencyKey="k" * 256), "idempotencyKey"),
        (_with(actAsUser=""), "actAsUser"),
        (_with(issue=[]), "issue"),
        (_with(issue={"update": {}}), "issue"),
        (_with(issue={"fields": {"issuetype": {"name": "Task"}}}), "issue.fields"),
        (_with(issue={"fields": {"project": {}, "issuetype": {"name": "Task"}}}), "issue.fields.project"),
        (_with(issue={"fields": {"project": {"key": "OPS"}, "issuetype": "Task"}}), "issue.fields.issuetype"),
        (
            _with(issue={"fields": {"project": {"key": "O"}, "issuetype": {"name": "T"}}, "properties": {}}),
            "issue.properties",
        ),
        (
            _with(
                issue={
                    "fields": {"project": {"key": "OPS"}, "issuetype": {"name": "T"}},
                    "properties": [{"key": "a", "value": 1}, {"key": "b"}],
                }
            ),
            "issue.properties.1",
        ),
        (_with(clientkey="typo"), "(body)"),
    ],
    ids=[
        "clientKey-missing",
        "clientKey-empty",
        "clientKey-not-string",
        "idempotencyKey-empty",
        "idempotencyKey-too-long",
        "actAsUser-empty",
        "issue-not-object",
        "issue-without-fields",
        "project-missing",
        "project-without-key-or-id",
        "issuetype-not-object",
        "properties-not-array",
        "property-without-value",
        "unknown-top-level-member",
    ],
)
def test_contract_violation_names_the_field_path(body: dict[str, Any], path: str) -> None:
    assert list(_problem(body)) == [path]


def test_the_idempotency_property_key_is_reserved_for_the_worker() -> None:
    body = _with(
        issue={
            "fields": {"project": {"key": "OPS"}, "issuetype": {"name": "T"}},
            "properties": [{"key": "jira-issue-creator.idempotency", "value": {"key": "forged"}}],
        }
    )
    errors = _problem(body)
    assert list(errors) == ["issue.properties.0.key"]
    assert "jira-issue-creator.idempotency" in errors["issue.properties.0.key"]


def test_project_problem_says_what_was_expected() -> None:
    problem = _problem(_with(issue={"fields": {"project": {"name": "x"}, "issuetype": {"name": "T"}}}))
    assert '{"key": ...} or {"id": ...}' in problem["issue.fields.project"]


def test_describe_is_one_line_with_path_and_problem() -> None:
    with pytest.raises(InvalidMessage) as caught:
        parse_issue_message(json.dumps(_with(clientKey="")), message_id="m")
    assert caught.value.describe() == (
        "issue message breaks the contract; clientKey: must be longer than or equal to 1 characters"
    )
    assert caught.value.fate == "permanent"


def test_parsing_does_not_mutate_and_validation_leaves_the_document_alone() -> None:
    document = copy.deepcopy(GOOD)
    validate_issue_message(document)
    assert document == GOOD


def test_unknown_issue_members_pass_through_to_jira() -> None:
    body = _with(issue={**GOOD["issue"], "transition": {"id": "31"}, "futureJiraField": [1]})
    message = parse_issue_message(json.dumps(body), message_id="m")
    assert message.issue["futureJiraField"] == [1]


def test_schema_is_a_valid_draft7_document_producers_can_compile() -> None:
    schema = issue_message_schema()
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    fastjsonschema.compile(schema)(GOOD)
    schema["title"] = "changed"  # each call is a fresh copy
    assert issue_message_schema()["title"] == "Issue message"


@pytest.mark.parametrize("name", ["sqs_batch.json", "sqs_duplicate.json"])
def test_sample_events_carry_valid_messages(name: str) -> None:
    event = json.loads((EVENTS / name).read_text())
    for record in event["Records"]:
        parse_issue_message(record["body"], message_id=record["messageId"])
