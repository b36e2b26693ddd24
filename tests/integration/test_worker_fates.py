"""Every fate of an issue message, through the real handler, on moto server and the Jira emulator."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.integration.worker_stack import WorkerStack, issue_body, stack_fixture  # noqa: F401 (fixture)

EVENTS = Path(__file__).parents[2] / "events"


def _failed_ids(response: dict[str, Any]) -> list[str]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def _only_issue(stack: WorkerStack, client_key: str) -> dict[str, Any]:
    [issue] = stack.issues(client_key)
    return issue


def test_valid_message_becomes_one_issue_with_the_idempotency_property(stack: WorkerStack) -> None:
    stack.add_tenant("jira:t1")
    stack.send(issue_body("jira:t1", "Disk full on db-1", key="alert-1", description="97% used"))

    response = stack.invoke(stack.receive_event())

    assert response == {"batchItemFailures": []}
    issue = _only_issue(stack, "jira:t1")
    assert issue["fields"]["summary"] == "Disk full on db-1"
    assert issue["fields"]["description"]["type"] == "doc"  # plain text became ADF for API v3
    assert issue["properties"]["jira-issue-creator.idempotency"] == {"key": "alert-1", "clientKey": "jira:t1"}
    assert stack.dead_letters() == []
    assert stack.receive_event()["Records"] == []


def test_good_batch_event_file_creates_every_issue(stack: WorkerStack) -> None:
    stack.add_tenant("jira:example-tenant-1")
    stack.add_tenant("jira:example-tenant-2", scopes=("READ", "WRITE", "ACT_AS_USER"))
    event = json.loads((EVENTS / "sqs_batch.json").read_text())
    for record in event["Records"]:
        stack.send(record["body"])

    assert stack.invoke(stack.receive_event()) == {"batchItemFailures": []}

    first, second = stack.issues("jira:example-tenant-1"), stack.issues("jira:example-tenant-2")
    assert (len(first), len(second)) == (2, 2)
    by_summary = {i["fields"]["summary"]: i for i in second}
    assert by_summary["Reported via the support form"]["fields"]["reporter"]["accountId"] == (
        "5b10ac8d82e05b22cc7d4ef5"
    )
    assert by_summary["Customer cannot reset password"]["properties"]["crm.ticket"] == {"id": "C-1009"}
    assert stack.dead_letters() == []


def test_invalid_json_and_contract_violation_go_to_dlq_with_reason_and_batch_mates_are_fine(
    stack: WorkerStack,
) -> None:
    stack.add_tenant("jira:t1")
    stack.send("this is not JSON")
    stack.send({"clientKey": "jira:t1", "issue": {"fields": {"summary": "no project"}}})
    good = stack.send(issue_body("jira:t1", "A good message in a batch with poison"))

    response = stack.invoke(stack.receive_event())

    assert response == {"batchItemFailures": []}
    assert [i["fields"]["summary"] for i in stack.issues("jira:t1")] == [
        "A good message in a batch with poison"
    ]
    letters = {letter["body"]: letter["attributes"] for letter in stack.dead_letters()}
    not_json = letters["this is not JSON"]
    assert not_json["ErrorType"] == "InvalidMessage"
    assert not_json["ErrorMessage"].startswith("issue message is not JSON")
    assert not_json["ClientKey"] == "(unknown)"
    contract = next(a for body, a in letters.items() if body.startswith("{"))
    assert contract["ErrorType"] == "InvalidMessage"
    assert "issue.fields: must contain ['issuetype', 'project'] properties" in contract["ErrorMessage"]
    assert contract["ClientKey"] == "jira:t1"
    assert all(a["SourceMessageId"] and a["SourceMessageId"] != good for a in letters.values())


def test_poison_event_file_fails_no_batch_mate(stack: WorkerStack) -> None:
    stack.add_tenant("jira:example-tenant-1")
    event = json.loads((EVENTS / "sqs_poison.json").read_text())
    for record in event["Records"]:
        stack.send(record["body"])

    response = stack.invoke(stack.receive_event())

    assert response == {"batchItemFailures": []}
    assert len(stack.issues("jira:example-tenant-1")) == 1
    assert sorted(letter["attributes"]["ErrorType"] for letter in stack.dead_letters()) == [
        "InvalidMessage",
        "InvalidMessage",
        "UnknownTenant",
    ]


def test_unknown_tenant_goes_to_dlq_with_reason(stack: WorkerStack) -> None:
    body = issue_body("jira:never-installed")
    stack.send(body)

    assert stack.invoke(stack.receive_event()) == {"batchItemFailures": []}

    [letter] = stack.dead_letters()
    assert letter["body"] == json.dumps(body)  # the original body, unchanged
    assert letter["attributes"]["ErrorType"] == "UnknownTenant"
    assert "not installed" in letter["attributes"]["ErrorMessage"]
    assert letter["attributes"]["ClientKey"] == "jira:never-installed"


def test_uninstalled_tenant_goes_to_dlq(stack: WorkerStack) -> None:
    tenant = stack.add_tenant("jira:gone", install=False)
    stack.install_record(
        {
            "key": "app",
            "clientKey": "jira:gone",
            "sharedSecret": tenant.shared_secret,
            "baseUrl": tenant.base_url,
        }
        | {"eventType": "uninstalled"}
    )
    stack.send(issue_body("jira:gone"))

    stack.invoke(stack.receive_event())

    [letter] = stack.dead_letters()
    assert letter["attributes"]["ErrorType"] == "TenantUninstalled"


def test_disallowed_base_url_goes_to_dlq_and_nothing_is_sent(stack: WorkerStack) -> None:
    stack.install_record(
        {
            "key": "com.example.jira-issue-creator",
            "clientKey": "jira:ssrf",
            "sharedSecret": "s" * 43,
            "baseUrl": "http://169.254.169.254/latest",
        }
    )
    stack.send(issue_body("jira:ssrf"))

    assert stack.invoke(stack.receive_event()) == {"batchItemFailures": []}

    [letter] = stack.dead_letters()
    assert letter["attributes"]["ErrorType"] == "DisallowedBaseUrl"


def test_jira_field_errors_go_to_dlq_in_error_message(stack: WorkerStack) -> None:
    stack.add_tenant("jira:t1")
    stack.send(issue_body("jira:t1", summary="", issue_type="NoSuchType"))

    assert stack.invoke(stack.receive_event()) == {"batchItemFailures": []}

    [letter] = stack.dead_letters()
    attributes = letter["attributes"]
    assert attributes["ErrorType"] == "JiraBadRequest"
    assert "issuetype: Specify a valid issue type" in attributes["ErrorMessage"]
    assert attributes["Attempts"] == "1"
    assert stack.issues("jira:t1") == []


def test_jira_503_is_reported_failed_and_comes_back_when_jira_allows(stack: WorkerStack) -> None:
    stack.add_tenant("jira:t1")
    stack.emulator.add_fault(
        mode="error_before_commit", status=503, retry_after=2, client_key="jira:t1", count=1
    )
    message_id = stack.send(issue_body("jira:t1"))

    response = stack.invoke(stack.receive_event())

    assert _failed_ids(response) == [message_id]
    assert stack.receive_event()["Records"] == []  # invisible for the wait Jira asked for ...
    again = stack.receive_event(wait=6)  # ... and back after it (2 s, with up to 30 % x 2 jitter)
    assert [r["messageId"] for r in again["Records"]] == [message_id]
    assert again["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"
    assert stack.invoke(again) == {"batchItemFailures": []}
    assert len(stack.issues("jira:t1")) == 1
    assert stack.dead_letters() == []


def test_unreachable_jira_is_retried_not_dead_lettered(stack: WorkerStack) -> None:
    stack.install_record(
        {
            "key": "com.example.jira-issue-creator",
            "clientKey": "jira:down",
            "sharedSecret": "s" * 43,
            "baseUrl": "http://127.0.0.1:9/jira",  # discard port: connection refused
        }
    )
    message_id = stack.send(issue_body("jira:down"))

    response = stack.invoke(stack.receive_event())

    assert _failed_ids(response) == [message_id]
    assert stack.receive_event()["Records"] == []  # its visibility was set to the backoff
    assert stack.dead_letters() == []


def test_last_attempt_goes_to_dlq_with_the_last_error(stack: WorkerStack) -> None:
    stack.add_tenant("jira:t1")
    stack.emulator.add_fault(mode="error_before_commit", status=503, retry_after=1, client_key="jira:t1")
    message_id = stack.send(issue_body("jira:t1"))
    max_attempts = int(stack.env["MAX_ATTEMPTS"])

    for attempt in range(1, max_attempts + 1):
        event = stack.receive_event(wait=5)
        assert event["Records"][0]["attributes"]["ApproximateReceiveCount"] == str(attempt)
        response = stack.invoke(event)
        assert _failed_ids(response) == ([message_id] if attempt < max_attempts else [])

    [letter] = stack.dead_letters()
    assert letter["attributes"]["ErrorType"] == "JiraUnavailable"
    assert letter["attributes"]["ErrorMessage"].startswith(
        f"gave up after attempt {max_attempts}: Jira answered 503"
    )
    assert letter["attributes"]["SourceMessageId"] == message_id
    assert stack.receive_event()["Records"] == []


def test_throttled_message_is_resent_with_delay_and_never_dead_lettered(stack: WorkerStack) -> None:
    stack.add_tenant("jira:t1")
    stack.emulator.add_fault(
        mode="rate_limit", retry_after=1, reason="jira-quota-global-based", client_key="jira:t1"
    )
    message_id = stack.send(issue_body("jira:t1"))  # keyed by its messageId
    max_attempts = int(stack.env["MAX_ATTEMPTS"])

    event = stack.receive_event(wait=5)
    for _ in range(max_attempts + 1):  # more throttles than attempts allowed
        [record] = event["Records"]
        assert record["attributes"]["ApproximateReceiveCount"] == "1"  # receive counts never grow
        response = stack.invoke(event)
        assert response == {"batchItemFailures": []}  # the original is acknowledged ...
        assert stack.dead_letters() == []  # ... never dead-lettered ...
        assert stack.receive_event()["Records"] == []  # ... and its copy waits out the delay
        event = stack.receive_event(wait=5)
    carried = event["Records"][0]["messageAttributes"]
    assert carried["IdempotencyKey"]["stringValue"] == message_id
    assert carried["SourceMessageId"]["stringValue"] == message_id
    assert carried["ThrottleCount"]["stringValue"] == str(max_attempts + 1)
    assert carried["Attempt"]["stringValue"] == "0"

    stack.emulator.clear_faults()
    time.sleep(1.5)  # the client remembers Jira's pause for Retry-After
    assert stack.invoke(event) == {"batchItemFailures": []}
    [issue] = stack.issues("jira:t1")
    assert issue["properties"]["jira-issue-creator.idempotency"]["key"] == message_id
