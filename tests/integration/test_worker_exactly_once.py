"""Exactly one issue per idempotency key: redeliveries, producer retries, racing workers, crashes between
Jira's commit and the idempotency record, ambiguous answers and Jira's search index lag."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from jira_connect.batch import Action, DeliveryInProgress
from jira_connect.idempotency_store import COMPLETED, UNKNOWN, DynamoDBIdempotencyStore, IdempotencyKey
from jira_connect.worker import BatchReport, IssueWorker
from tests.integration.worker_stack import (  # noqa: F401 (fixture)
    INDEX_LAG_SECONDS,
    TABLE,
    WorkerStack,
    issue_body,
    make_worker,
    redelivered,
    stack_fixture,
)

EVENTS = Path(__file__).parents[2] / "events"
PROPERTY = "jira-issue-creator.idempotency"


def _record() -> dict[str, Any]:
    store = DynamoDBIdempotencyStore(boto3.client("dynamodb"), TABLE)
    return store.lookup(IdempotencyKey("jira:t1", "order-42")) or {}


def _process(worker: IssueWorker, event: dict[str, Any]) -> BatchReport:
    return worker.process(event["Records"], remaining=lambda: 60.0)


def test_same_message_delivered_twice_creates_one_issue_and_calls_jira_once(stack: WorkerStack) -> None:
    stack.add_tenant("jira:t1")
    stack.send(issue_body("jira:t1"))  # keyed by its messageId: SQS's own redelivery
    event = stack.receive_event()

    assert stack.invoke(event) == {"batchItemFailures": []}
    assert stack.invoke(redelivered(event)) == {"batchItemFailures": []}

    assert len(stack.issues("jira:t1")) == 1
    assert stack.requests_to("jira:t1", "issue/bulk") == 1


def test_producer_retry_with_the_same_key_is_deduplicated(stack: WorkerStack) -> None:
    stack.add_tenant("jira:t1")
    stack.send(issue_body("jira:t1", key="order-42"))
    stack.invoke(stack.receive_event())
    stack.send(issue_body("jira:t1", "Resent after a timeout", key="order-42"))

    assert stack.invoke(stack.receive_event()) == {"batchItemFailures": []}

    [issue] = stack.issues("jira:t1")
    assert issue["fields"]["summary"] == "Disk full on db-1"
    assert (_record()["status"], _record()["issueKey"]) == (COMPLETED, issue["key"])


def test_duplicate_event_file_in_one_batch_makes_one_issue(stack: WorkerStack) -> None:
    stack.add_tenant("jira:example-tenant-1")
    for record in json.loads((EVENTS / "sqs_duplicate.json").read_text())["Records"]:
        stack.send(record["body"])

    assert stack.invoke(stack.receive_event()) == {"batchItemFailures": []}

    assert len(stack.issues("jira:example-tenant-1")) == 1
    assert stack.duplicates() == []


def test_same_key_in_one_batch_makes_one_issue_and_both_messages_succeed(stack: WorkerStack) -> None:
    stack.add_tenant("jira:t1")
    for _ in range(3):
        stack.send(issue_body("jira:t1", key="order-42"))

    report = _process(make_worker(), stack.receive_event())

    assert [o.action for o in report.outcomes] == [Action.CREATED, Action.DEDUPLICATED, Action.DEDUPLICATED]
    assert len({o.issue_key for o in report.outcomes}) == 1
    assert len(stack.issues("jira:t1")) == 1


def test_delivered_concurrently_to_two_workers_makes_one_issue(stack: WorkerStack) -> None:
    stack.add_tenant("jira:t1")
    # Slow Jira, so that both workers are inside their attempt at the same time.
    stack.emulator.add_fault(mode="latency", latency_ms=400, client_key="jira:t1")
    stack.send(issue_body("jira:t1"))
    event = stack.receive_event()
    workers = [make_worker(), make_worker()]
    reports: list[BatchReport] = []
    barrier = threading.Barrier(2)

    def run(worker: IssueWorker) -> None:
        barrier.wait()
        reports.append(_process(worker, event))

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    actions = sorted(report.outcomes[0].action for report in reports)
    assert actions == [Action.CREATED, Action.RETRY]
    loser = next(r.outcomes[0] for r in reports if r.outcomes[0].failed)
    assert isinstance(loser.error, DeliveryInProgress)
    # When the loser's message comes back, the winner has finished: a duplicate, no Jira call.
    again = _process(workers[0], redelivered(event))
    assert again.outcomes[0].action is Action.DEDUPLICATED
    assert len(stack.issues("jira:t1")) == 1
    assert stack.duplicates() == []
    for worker in workers:
        worker.close()


def test_connection_dropped_after_jira_committed_then_redelivery_makes_one_issue(stack: WorkerStack) -> None:
    stack.add_tenant("jira:t1")
    stack.emulator.add_fault(mode="drop_after_commit", endpoint="bulk_create", client_key="jira:t1", count=1)
    message_id = stack.send(issue_body("jira:t1", key="order-42"))
    event = stack.receive_event()

    response = stack.invoke(event)

    assert response == {"batchItemFailures": [{"itemIdentifier": message_id}]}
    assert len(stack.issues("jira:t1")) == 1  # Jira did create it
    assert _record()["status"] == UNKNOWN
    time.sleep(INDEX_LAG_SECONDS + 0.2)  # the message's visibility is longer still
    assert stack.invoke(redelivered(event)) == {"batchItemFailures": []}
    assert len(stack.issues("jira:t1")) == 1
    assert stack.duplicates() == []
    assert stack.requests_to("jira:t1", "search/jql") == 1


def test_crash_between_jira_commit_and_the_record_then_redelivery_makes_one_issue(stack: WorkerStack) -> None:
    class Crash(BaseException):
        """The execution environment dies (timeout, out of memory): nothing after this runs."""

    class CrashingStore(DynamoDBIdempotencyStore):
        def complete(self, done: Any) -> list[Exception | None]:
            raise Crash

    stack.add_tenant("jira:t1")
    stack.send(issue_body("jira:t1", key="order-42"))
    event = stack.receive_event()
    dynamodb = boto3.client("dynamodb")

    with pytest.raises(Crash):
        _process(make_worker(CrashingStore(dynamodb, TABLE)), event)
    assert len(stack.issues("jira:t1")) == 1
    assert _record()["status"] == "IN_PROGRESS"

    # The message comes back after its visibility timeout, longer than the crashed attempt's lease.
    later = DynamoDBIdempotencyStore(dynamodb, TABLE, clock=lambda: time.time() + 600)
    time.sleep(INDEX_LAG_SECONDS)
    report = _process(make_worker(later), redelivered(event))

    assert report.outcomes[0].action is Action.DEDUPLICATED
    assert len(stack.issues("jira:t1")) == 1
    assert stack.duplicates() == []
    assert _record()["status"] == COMPLETED


def test_ambiguous_answer_waits_for_the_index_then_search_finds_the_issue(stack: WorkerStack) -> None:
    stack.add_tenant("jira:t1")
    stack.emulator.add_fault(
        mode="error_after_commit", status=500, endpoint="bulk_create", client_key="jira:t1", count=1
    )
    stack.send(issue_body("jira:t1", key="order-42"))
    first = stack.receive_event()

    [failure] = stack.invoke(first)["batchItemFailures"]
    assert len(stack.issues("jira:t1")) == 1  # created, though Jira answered 500

    # A producer retry arriving at once must not create, nor search before the index has caught up.
    stack.send(issue_body("jira:t1", "Producer retry", key="order-42"))
    early = stack.receive_event()
    assert len(stack.invoke(early)["batchItemFailures"]) == 1
    assert stack.requests_to("jira:t1", "search/jql") == 0

    time.sleep(INDEX_LAG_SECONDS + 0.2)
    assert stack.invoke(redelivered(first)) == {"batchItemFailures": []}
    assert stack.invoke(redelivered(early)) == {"batchItemFailures": []}
    assert len(stack.issues("jira:t1")) == 1
    assert stack.duplicates() == []
    assert failure["itemIdentifier"] == first["Records"][0]["messageId"]


def test_search_that_fails_keeps_the_key_unknown(stack: WorkerStack) -> None:
    stack.add_tenant("jira:t1")
    stack.emulator.add_fault(mode="drop_after_commit", endpoint="bulk_create", client_key="jira:t1", count=1)
    stack.send(issue_body("jira:t1", key="order-42"))
    event = stack.receive_event()
    stack.invoke(event)
    stack.emulator.add_fault(mode="error_before_commit", status=503, endpoint="search", client_key="jira:t1")
    time.sleep(INDEX_LAG_SECONDS + 0.2)

    report = _process(make_worker(), redelivered(event))

    assert report.outcomes[0].failed
    assert _record()["status"] == UNKNOWN  # the next attempt searches again, never creates blindly
    stack.emulator.clear_faults()
    time.sleep(INDEX_LAG_SECONDS + 0.2)
    assert _process(make_worker(), redelivered(event)).outcomes[0].action is Action.DEDUPLICATED
    assert len(stack.issues("jira:t1")) == 1
