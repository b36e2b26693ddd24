"""A FIFO issue queue: order kept per message group, a failing group holds only itself back."""

from __future__ import annotations

import json

from tests.integration.worker_stack import WorkerStack, fifo_stack_fixture, issue_body  # noqa: F401 (fixture)


def test_groups_keep_their_order_and_a_failing_group_does_not_block_the_others(
    fifo_stack: WorkerStack,
) -> None:
    stack = fifo_stack
    stack.add_tenant("jira:t1")
    stack.add_tenant("jira:t2")
    stack.emulator.add_fault(mode="error_before_commit", status=503, retry_after=30, client_key="jira:t1")
    a1 = stack.send(issue_body("jira:t1", "A1"), group="a")
    stack.send(issue_body("jira:t2", "B1"), group="b")
    a2 = stack.send(issue_body("jira:t1", "A2"), group="a")
    stack.send(issue_body("jira:t2", "B2"), group="b")
    event = stack.receive_event()
    assert len(event["Records"]) == 4

    response = stack.invoke(event)

    assert response == {"batchItemFailures": [{"itemIdentifier": a1}, {"itemIdentifier": a2}]}
    assert stack.requests_to("jira:t1", "{v}/issue") == 1  # A2 was never tried: it waits behind A1
    issues = sorted(stack.issues("jira:t2"), key=lambda i: int(i["id"]))
    assert [i["fields"]["summary"] for i in issues] == ["B1", "B2"]  # created one at a time, in order
    assert stack.receive_event()["Records"] == []  # A1 and A2 wait out Jira's Retry-After together


def test_a_dead_lettered_message_does_not_stop_its_group(fifo_stack: WorkerStack) -> None:
    stack = fifo_stack
    stack.add_tenant("jira:t1")
    stack.send("not JSON", group="a")
    stack.send(issue_body("jira:t1", "after the poison"), group="a")

    assert stack.invoke(stack.receive_event()) == {"batchItemFailures": []}

    assert [i["fields"]["summary"] for i in stack.issues("jira:t1")] == ["after the poison"]
    [letter] = stack.dead_letters()
    assert (letter["body"], letter["attributes"]["ErrorType"]) == ("not JSON", "InvalidMessage")


def test_throttling_on_fifo_is_retried_in_place_keeping_the_order(fifo_stack: WorkerStack) -> None:
    stack = fifo_stack
    stack.add_tenant("jira:t1")
    stack.emulator.add_fault(
        mode="rate_limit", retry_after=60, reason="jira-burst-based", client_key="jira:t1"
    )
    first = stack.send(issue_body("jira:t1", "first"), group="a")
    second = stack.send(issue_body("jira:t1", "second"), group="a")

    response = stack.invoke(stack.receive_event())

    assert response == {"batchItemFailures": [{"itemIdentifier": first}, {"itemIdentifier": second}]}
    assert stack.dead_letters() == []
    depth = stack.sqs.get_queue_attributes(
        QueueUrl=stack.queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert depth == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "2",
    }  # not re-sent


def test_fifo_dead_letter_keeps_the_group_id(fifo_stack: WorkerStack) -> None:
    stack = fifo_stack
    stack.send(json.dumps({"clientKey": "jira:nobody", "issue": {"fields": {}}}), group="tenant-x")

    stack.invoke(stack.receive_event())

    answer = stack.sqs.receive_message(QueueUrl=stack.dlq_url, AttributeNames=["MessageGroupId"])
    assert answer["Messages"][0]["Attributes"]["MessageGroupId"] == "tenant-x"
