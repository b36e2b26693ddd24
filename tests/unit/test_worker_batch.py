"""Pure decisions about one SQS batch: reading a record, and the fate of each kind of failure."""

from __future__ import annotations

from typing import Any

import pytest

from jira_connect.batch import (
    Action,
    Delivery,
    DeliveryInProgress,
    RedeliveryPolicy,
    WorkerFault,
    decide,
    delivery_from_record,
)
from jira_connect.dead_letter import DeadLetter, dead_letter_attributes
from jira_connect.errors import (
    ConnectionFailed,
    InvalidMessage,
    IssueCreatorError,
    JiraBadRequest,
    JiraServerError,
    JiraUnavailable,
    RateLimited,
    ResponseTimeout,
    UnknownTenant,
)
from jira_connect.issue_queue import Deferral, deferral_attributes
from jira_connect.sqs_send import attribute_text

POLICY = RedeliveryPolicy(max_attempts=5, max_throttle_deferrals=3, search_delay=10.0)


def no_jitter(low: float, high: float) -> float:
    return 1.0


def most_jitter(low: float, high: float) -> float:
    return high


def _delivery(**changes: Any) -> Delivery:
    values: dict[str, Any] = {
        "message_id": "m-1",
        "receipt_handle": "r-1",
        "body": "{}",
        "source_message_id": "m-1",
    }
    values.update(changes)
    return Delivery(**values)


def _record(**message_attributes: str) -> dict[str, Any]:
    return {
        "messageId": "m-2",
        "receiptHandle": "r-2",
        "body": "{}",
        "attributes": {"ApproximateReceiveCount": "3", "MessageGroupId": "g"},
        "messageAttributes": {
            name: {"stringValue": value, "dataType": "String"} for name, value in message_attributes.items()
        },
    }


def test_record_without_worker_attributes_is_a_first_attempt_of_its_own_message() -> None:
    delivery = delivery_from_record(_record())
    assert (delivery.message_id, delivery.receipt_handle, delivery.group_id) == ("m-2", "r-2", "g")
    assert (delivery.attempt, delivery.throttle_count, delivery.carried_idempotency_key) == (3, 0, None)
    assert delivery.source_message_id == "m-2"


def test_record_re_sent_by_the_worker_carries_key_source_and_counts() -> None:
    delivery = delivery_from_record(
        _record(IdempotencyKey="m-0", SourceMessageId="m-0", Attempt="2", ThrottleCount="4")
    )
    assert delivery.attempt == 5  # 2 before the re-send + 3 receives of this copy
    assert (delivery.throttle_count, delivery.carried_idempotency_key, delivery.source_message_id) == (
        4,
        "m-0",
        "m-0",
    )


def test_unreadable_counters_count_as_absent() -> None:
    record = _record(Attempt="many")
    record["attributes"]["ApproximateReceiveCount"] = "x"
    assert delivery_from_record(record).attempt == 1


@pytest.mark.parametrize(
    "error",
    [
        InvalidMessage("bad"),
        UnknownTenant("no", client_key="c"),
        JiraBadRequest("400", errors={"summary": "You must specify a summary of the issue."}),
    ],
    ids=["invalid-message", "unknown-tenant", "jira-400"],
)
def test_permanent_failure_is_dead_lettered_at_once(error: IssueCreatorError) -> None:
    outcome = decide(_delivery(), error, POLICY, uniform=no_jitter)
    assert outcome.action is Action.DEAD_LETTER
    assert not outcome.failed


def test_throttle_is_deferred_by_retry_after_without_failing_the_message() -> None:
    error = RateLimited("429", retry_after=30, rate_limit_reason="jira-quota-global-based")
    outcome = decide(_delivery(receive_count=4), error, POLICY, uniform=no_jitter)
    assert (outcome.action, outcome.delay_seconds, outcome.failed) == (Action.DEFER, 30, False)


def test_throttle_delay_is_capped_at_sqs_limit_and_never_shorter_than_retry_after() -> None:
    long_wait = decide(_delivery(), RateLimited("429", retry_after=1847), POLICY, uniform=most_jitter)
    assert long_wait.delay_seconds == 900
    fractional = decide(_delivery(), RateLimited("429", retry_after=1.2), POLICY, uniform=no_jitter)
    assert fractional.delay_seconds == 2


def test_throttle_without_retry_after_backs_off_by_throttle_count() -> None:
    outcome = decide(_delivery(throttle_count=2), RateLimited("429"), POLICY, uniform=no_jitter)
    assert outcome.delay_seconds == 20  # 5, 10, 20 s ...


def test_throttle_never_dead_letters_on_attempts_only_after_the_deferral_limit() -> None:
    at_last_attempt = decide(_delivery(receive_count=9), RateLimited("429", retry_after=1), POLICY)
    assert at_last_attempt.action is Action.DEFER
    exhausted = decide(_delivery(throttle_count=3), RateLimited("429", retry_after=1), POLICY)
    assert exhausted.action is Action.DEAD_LETTER
    assert exhausted.reason().startswith("still rate limited after 3 deferrals")


def test_throttle_on_fifo_is_a_retry_with_the_wait_as_visibility() -> None:
    fifo = RedeliveryPolicy(fifo=True)
    outcome = decide(_delivery(), RateLimited("429", retry_after=1847), fifo, uniform=no_jitter)
    assert (outcome.action, outcome.delay_seconds, outcome.failed) == (Action.RETRY, 1847, True)


@pytest.mark.parametrize(
    ("error", "delay"),
    [
        (JiraUnavailable("503", retry_after=7), 7),
        (ConnectionFailed("refused"), 10),  # backoff for attempt 2: 5 * 2
        (ResponseTimeout("timeout"), 10),  # ambiguous: at least the search delay
        (JiraServerError("500", retry_after=30), 30),
        (DeliveryInProgress("busy", retry_after=42.5), 43),
    ],
    ids=["503-retry-after", "refused-backoff", "timeout-search-delay", "500-retry-after", "in-flight"],
)
def test_retryable_and_ambiguous_failures_come_back_after_the_wait(
    error: IssueCreatorError, delay: int
) -> None:
    outcome = decide(_delivery(receive_count=2), error, POLICY, uniform=no_jitter)
    assert (outcome.action, outcome.delay_seconds, outcome.failed) == (Action.RETRY, delay, True)


def test_last_attempt_is_dead_lettered_with_the_last_error() -> None:
    outcome = decide(
        _delivery(previous_attempts=1, receive_count=4), JiraUnavailable("Jira answered 503"), POLICY
    )
    assert outcome.action is Action.DEAD_LETTER
    assert outcome.reason() == "gave up after attempt 5: Jira answered 503"


def test_worker_fault_is_ambiguous_and_searched_for_later() -> None:
    outcome = decide(_delivery(), WorkerFault("KeyError: x"), POLICY, uniform=no_jitter)
    assert (outcome.action, outcome.delay_seconds) == (Action.RETRY, 10)


def test_waits_never_exceed_the_visibility_limit() -> None:
    outcome = decide(_delivery(), JiraUnavailable("503", retry_after=10**6), POLICY, uniform=no_jitter)
    assert outcome.delay_seconds == 43_200


def test_dead_letter_attributes_carry_reason_tenant_source_and_key() -> None:
    outcome = decide(
        _delivery(source_message_id="m-0"),
        JiraBadRequest("Jira answered 400", errors={"summary": "You must specify a summary of the issue."}),
        POLICY,
        client_key="jira:t1",
        idempotency_key="order-42",
    )
    attributes = dead_letter_attributes(DeadLetter.from_outcome(outcome))
    assert {name: value["StringValue"] for name, value in attributes.items()} == {
        "ErrorType": "JiraBadRequest",
        "ErrorMessage": "Jira answered 400; summary: You must specify a summary of the issue.",
        "ClientKey": "jira:t1",
        "SourceMessageId": "m-0",
        "IdempotencyKey": "order-42",
        "Attempts": "1",
    }


def test_dead_letter_without_tenant_says_unknown() -> None:
    outcome = decide(_delivery(), InvalidMessage("not JSON"), POLICY)
    attributes = dead_letter_attributes(DeadLetter.from_outcome(outcome))
    assert attributes["ClientKey"]["StringValue"] == "(unknown)"
    assert "IdempotencyKey" not in attributes


def test_error_message_is_truncated_and_cleaned_for_sqs() -> None:
    text = "bad\x00char " + "é" * 5000
    cleaned = attribute_text(text, 4000)
    assert len(cleaned) == 4000
    assert cleaned.startswith("bad\ufffdchar é")
    assert cleaned.endswith(" …(truncated)")
    assert attribute_text("", 10) == "-"  # SQS refuses empty values


def test_deferral_carries_the_key_counts_and_producer_attributes_within_ten() -> None:
    producer = {f"p{i}": {"stringValue": str(i), "dataType": "String"} for i in range(9)}
    delivery = _delivery(receive_count=2, previous_attempts=1, throttle_count=1, message_attributes=producer)
    outcome = decide(
        delivery, RateLimited("429", retry_after=5), POLICY, idempotency_key="m-1", uniform=no_jitter
    )
    deferral = Deferral.from_outcome(outcome)
    attributes = deferral_attributes(deferral)
    assert len(attributes) == 10
    assert attributes["IdempotencyKey"]["StringValue"] == "m-1"
    assert attributes["Attempt"]["StringValue"] == "2"  # 1 before + 1 failed receive, not the throttled one
    assert attributes["ThrottleCount"]["StringValue"] == "2"
    assert attributes["p0"] == {"DataType": "String", "StringValue": "0"}
    assert deferral.delay_seconds == 5
