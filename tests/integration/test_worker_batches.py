"""How a batch is served: bulk creates mapped back to their messages, tenants in parallel, a throttled
tenant deferred without holding up the others, acting as a user, and the invocation's deadline."""

from __future__ import annotations

import json
import uuid
from typing import Any

from jira_connect.batch import Action
from jira_connect.errors import ActAsUserUnavailable, RateLimited
from jira_connect.worker import NotStartedInTime
from tests.integration.worker_stack import (  # noqa: F401 (fixture)
    WorkerStack,
    issue_body,
    make_worker,
    stack_fixture,
)

#: A user every emulated tenant has.
USER = "5b10a2844c20165700ede21g"


def _synthetic_event(bodies: list[dict[str, Any]]) -> dict[str, Any]:
    """Records as Lambda would pass them, for batches larger than one SQS receive returns."""
    return {
        "Records": [
            {
                "messageId": str(uuid.uuid4()),
                "receiptHandle": f"handle-{i}",
                "body": json.dumps(body),
                "attributes": {"ApproximateReceiveCount": "1"},
                "messageAttributes": {},
            }
            for i, body in enumerate(bodies)
        ]
    }


def test_mixed_valid_and_invalid_elements_of_one_bulk_call_reach_the_right_messages(
    stack: WorkerStack,
) -> None:
    stack.add_tenant("jira:t1")
    bodies = [
        issue_body("jira:t1", "first good", key="k-good-1"),
        issue_body("jira:t1", "bad issue type", key="k-bad-type", issue_type="NoSuchType"),
        issue_body("jira:t1", "second good", key="k-good-2"),
        issue_body("jira:t1", "", key="k-no-summary"),
    ]
    for body in bodies:
        stack.send(body)

    assert stack.invoke(stack.receive_event()) == {"batchItemFailures": []}

    assert stack.requests_to("jira:t1", "issue/bulk") == 1
    created = {i["properties"]["jira-issue-creator.idempotency"]["key"]: i for i in stack.issues("jira:t1")}
    assert sorted(created) == ["k-good-1", "k-good-2"]
    assert created["k-good-1"]["fields"]["summary"] == "first good"
    assert created["k-good-2"]["fields"]["summary"] == "second good"
    letters = {
        json.loads(letter["body"])["idempotencyKey"]: letter["attributes"] for letter in stack.dead_letters()
    }
    assert sorted(letters) == ["k-bad-type", "k-no-summary"]
    assert "issuetype: Specify a valid issue type" in letters["k-bad-type"]["ErrorMessage"]
    assert "summary: You must specify a summary of the issue." in letters["k-no-summary"]["ErrorMessage"]
    assert "summary" not in letters["k-bad-type"]["ErrorMessage"]
    assert all(a["IdempotencyKey"] in letters for a in letters.values())


def test_more_than_fifty_messages_of_a_tenant_go_in_chunks_of_fifty(stack: WorkerStack) -> None:
    stack.add_tenant("jira:t1")
    event = _synthetic_event([issue_body("jira:t1", f"issue {n}", key=f"k-{n}") for n in range(120)])

    report = make_worker().process(event["Records"], remaining=lambda: 60.0)

    assert [o.action for o in report.outcomes] == [Action.CREATED] * 120
    assert sorted(t.issues for t in report.jira_timings if t.operation == "bulk_create") == [20, 50, 50]
    issues = {i["key"]: i for i in stack.issues("jira:t1")}
    for n, outcome in enumerate(report.outcomes):
        assert issues[outcome.issue_key or ""]["fields"]["summary"] == f"issue {n}"


def test_tenants_are_served_concurrently_and_a_throttled_tenant_is_deferred_alone(stack: WorkerStack) -> None:
    for tenant in ("jira:t1", "jira:t2", "jira:t3"):
        stack.add_tenant(tenant)
        stack.emulator.add_fault(mode="latency", latency_ms=300, client_key=tenant)
    stack.emulator.add_fault(
        mode="rate_limit", retry_after=1800, reason="jira-quota-tenant-based", client_key="jira:t3"
    )
    bodies = [issue_body(t, f"{t} #{n}") for n in range(3) for t in ("jira:t1", "jira:t2", "jira:t3")]
    for body in bodies:
        stack.send(body)
    event = stack.receive_event()
    assert len(event["Records"]) == 9

    report = make_worker().process(event["Records"], remaining=lambda: 60.0)

    # One bulk call per tenant, all three in flight at the same time.
    calls = sorted(report.jira_timings, key=lambda t: t.client_key)
    assert [(t.client_key, t.operation, t.issues) for t in calls] == [
        (tenant, "bulk_create", 3) for tenant in ("jira:t1", "jira:t2", "jira:t3")
    ]
    assert max(t.started for t in calls) < min(t.started + t.seconds for t in calls)
    actions: dict[str | None, set[Action]] = {}
    for outcome in report.outcomes:
        actions.setdefault(outcome.client_key, set()).add(outcome.action)
    assert actions == {"jira:t1": {Action.CREATED}, "jira:t2": {Action.CREATED}, "jira:t3": {Action.DEFER}}
    assert len(stack.issues("jira:t1")) == len(stack.issues("jira:t2")) == 3
    assert stack.dead_letters() == []
    delayed = stack.sqs.get_queue_attributes(
        QueueUrl=stack.queue_url, AttributeNames=["ApproximateNumberOfMessagesDelayed"]
    )["Attributes"]["ApproximateNumberOfMessagesDelayed"]
    assert delayed == "3"  # t3's messages wait in the queue, re-sent with a delay


def test_throttled_tenant_is_not_called_again_while_jiras_pause_lasts(stack: WorkerStack) -> None:
    stack.add_tenant("jira:t1")
    stack.emulator.add_fault(mode="rate_limit", retry_after=600, reason="jira-quota-global-based", count=1)
    worker = make_worker()

    first = worker.process(_synthetic_event([issue_body("jira:t1")])["Records"], remaining=lambda: 60.0)
    again = worker.process(_synthetic_event([issue_body("jira:t1")])["Records"], remaining=lambda: 60.0)

    assert isinstance(first.outcomes[0].error, RateLimited)
    assert again.outcomes[0].action is Action.DEFER
    assert again.outcomes[0].delay_seconds >= 500  # what is left of Jira's 600 s, within SQS's 900 s
    assert stack.requests_to("jira:t1", "issue/bulk") == 1


def test_act_as_user_creates_the_issue_as_that_user(stack: WorkerStack) -> None:
    stack.add_tenant("jira:t1", scopes=("READ", "WRITE", "ACT_AS_USER"))
    stack.send(issue_body("jira:t1", "Reported via the support form", act_as_user=USER))

    assert stack.invoke(stack.receive_event()) == {"batchItemFailures": []}

    [issue] = stack.issues("jira:t1")
    assert issue["fields"]["reporter"]["accountId"] == USER
    assert issue["properties"]["jira-issue-creator.idempotency"]["clientKey"] == "jira:t1"


def test_act_as_user_without_the_scope_goes_to_dlq(stack: WorkerStack) -> None:
    stack.add_tenant("jira:t1")
    stack.send(issue_body("jira:t1", act_as_user=USER))

    report = make_worker().process(stack.receive_event()["Records"], remaining=lambda: 60.0)

    assert report.outcomes[0].action is Action.DEAD_LETTER
    assert isinstance(report.outcomes[0].error, ActAsUserUnavailable)
    [letter] = stack.dead_letters()
    assert letter["attributes"]["ErrorType"] == "ActAsUserUnavailable"


def test_no_jira_call_starts_without_time_for_it_and_the_message_is_retried(stack: WorkerStack) -> None:
    stack.add_tenant("jira:t1")
    stack.send(issue_body("jira:t1", key="order-42"))
    event = stack.receive_event()

    report = make_worker().process(event["Records"], remaining=lambda: 1.0)

    assert report.outcomes[0].failed
    assert isinstance(report.outcomes[0].error, NotStartedInTime)
    assert stack.issues("jira:t1") == []
    # The claim was released: the next attempt creates at once, without a search.
    again = make_worker().process(event["Records"], remaining=lambda: 60.0)
    assert again.outcomes[0].action is Action.CREATED
    assert stack.requests_to("jira:t1", "search/jql") == 0


def test_message_is_kept_when_the_dead_letter_queue_refuses_it(stack: WorkerStack, monkeypatch: Any) -> None:
    monkeypatch.setenv("DLQ_URL", stack.dlq_url + "-missing")
    message_id = stack.send("not JSON")

    response = stack.invoke(stack.receive_event())

    assert response == {"batchItemFailures": [{"itemIdentifier": message_id}]}
