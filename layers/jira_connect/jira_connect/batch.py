"""One SQS batch as the issue worker sees it: deliveries in, one outcome per delivery out (pure).

A *delivery* is one SQS record: the message, plus what SQS and earlier attempts say about it (receive
count, and the message attributes the worker itself writes when it re-sends a throttled message). An
*outcome* is what becomes of it::

    CREATED        the issue was created now                         acknowledged
    DEDUPLICATED   it already existed (idempotency record, search)   acknowledged
    DEAD_LETTER    permanent failure, or no attempts left            sent to the DLQ, then acknowledged
    DEFER          throttled (429): re-sent with DelaySeconds        re-sent, then acknowledged
    RETRY          retryable or ambiguous failure                    reported in batchItemFailures, with
                                                                     its visibility set to the wait

How a failure is decided (:func:`decide`), by the class of the error alone:

1. Permanent -> DEAD_LETTER.
2. ``RateLimited`` on a standard queue -> DEFER by ``Retry-After`` (capped at SQS's 900 s), carrying the
   attempt count and a throttle count in message attributes: throttling never consumes receive counts,
   so it never dead-letters a message while Jira's quota window runs. Only after
   ``max_throttle_deferrals`` deferrals (default 96: a day at 15 minutes each) does it give up.
   FIFO queues cannot delay one message, so there it is a RETRY like the next case.
3. Retryable or ambiguous -> RETRY with a visibility timeout of ``Retry-After`` (the minimum), or an
   exponential backoff; an ambiguous outcome waits at least ``search_delay`` (Jira's search index lag)
   so that the next attempt's search sees an issue the last one may have created.
4. Except on the last attempt (``attempt >= max_attempts``): DEAD_LETTER with the last error, so the
   worker, not SQS's redrive, moves it and every dead letter says why.

``attempt`` = ``Attempt`` attribute (attempts made before a re-send) + SQS's ``ApproximateReceiveCount``.
Jitter multiplies every wait so that messages held back together do not return together; ``Retry-After``
is only ever lengthened.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from jira_connect.errors import (
    AmbiguousError,
    IssueCreatorError,
    PermanentError,
    RateLimited,
    RetryableError,
)

__all__ = [
    "ATTEMPT_ATTRIBUTE",
    "IDEMPOTENCY_KEY_ATTRIBUTE",
    "MAX_DELAY_SECONDS",
    "MAX_VISIBILITY_SECONDS",
    "SOURCE_MESSAGE_ID_ATTRIBUTE",
    "THROTTLE_COUNT_ATTRIBUTE",
    "Action",
    "Delivery",
    "DeliveryInProgress",
    "IdempotencyStoreUnavailable",
    "Outcome",
    "PrecedingMessageFailed",
    "RedeliveryPolicy",
    "Uniform",
    "WorkerFault",
    "decide",
    "delivery_from_record",
]

#: Message attributes the worker writes on messages it re-sends (and reads back).
IDEMPOTENCY_KEY_ATTRIBUTE: Final = "IdempotencyKey"
SOURCE_MESSAGE_ID_ATTRIBUTE: Final = "SourceMessageId"
ATTEMPT_ATTRIBUTE: Final = "Attempt"
THROTTLE_COUNT_ATTRIBUTE: Final = "ThrottleCount"
#: SQS limits: DelaySeconds of SendMessage, and a message's visibility timeout.
MAX_DELAY_SECONDS: Final = 900
MAX_VISIBILITY_SECONDS: Final = 43_200
#: Jitter of computed backoffs, and of server-given waits (never below them).
BACKOFF_JITTER: Final = (0.7, 1.3)
WAIT_JITTER: Final = (1.0, 1.3)

#: ``random.uniform``; injected so that tests pin the jitter.
Uniform = Callable[[float, float], float]


class DeliveryInProgress(RetryableError):
    """Another delivery of the same idempotency key is being processed, or waits for Jira's index."""


class IdempotencyStoreUnavailable(RetryableError):
    """The idempotency table could not be read or written before Jira was called."""


class PrecedingMessageFailed(RetryableError):
    """FIFO: an earlier message of the same message group failed, so this one waits its turn."""


class WorkerFault(AmbiguousError):
    """An unexpected error while the message was processed: Jira may have acted, so search first."""


class Action(StrEnum):
    CREATED = "created"
    DEDUPLICATED = "deduplicated"
    DEAD_LETTER = "dead_letter"
    DEFER = "defer"
    RETRY = "retry"


@dataclass(frozen=True)
class Delivery:
    """One SQS record, with what earlier attempts carried in message attributes."""

    message_id: str
    receipt_handle: str
    body: str
    receive_count: int = 1
    #: Attempts made before the worker re-sent this message (``Attempt`` attribute).
    previous_attempts: int = 0
    throttle_count: int = 0
    carried_idempotency_key: str | None = None
    #: The messageId the producer's message had, through any re-sends.
    source_message_id: str = ""
    group_id: str | None = None
    #: The record's message attributes as Lambda gives them (carried over on a re-send).
    message_attributes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, repr=False)

    @property
    def attempt(self) -> int:
        """Which attempt this is, 1-based, counting attempts before any re-send."""
        return self.previous_attempts + self.receive_count


def delivery_from_record(record: Mapping[str, Any]) -> Delivery:
    """A :class:`Delivery` from one record of a Lambda SQS event. Unreadable counters count as absent."""
    attributes = record.get("attributes") or {}
    message_attributes = record.get("messageAttributes") or {}
    message_id = str(record.get("messageId") or "")
    body = record.get("body")
    return Delivery(
        message_id=message_id,
        receipt_handle=str(record.get("receiptHandle") or ""),
        body=body if isinstance(body, str) else "",
        receive_count=max(1, _int(attributes.get("ApproximateReceiveCount"), 1)),
        previous_attempts=max(0, _int(_attribute(message_attributes, ATTEMPT_ATTRIBUTE), 0)),
        throttle_count=max(0, _int(_attribute(message_attributes, THROTTLE_COUNT_ATTRIBUTE), 0)),
        carried_idempotency_key=_attribute(message_attributes, IDEMPOTENCY_KEY_ATTRIBUTE) or None,
        source_message_id=_attribute(message_attributes, SOURCE_MESSAGE_ID_ATTRIBUTE) or message_id,
        group_id=attributes.get("MessageGroupId") or None,
        message_attributes=message_attributes,
    )


def _attribute(attributes: Mapping[str, Any], name: str) -> str | None:
    value = attributes.get(name)
    if not isinstance(value, Mapping):
        return None
    text = value.get("stringValue")
    return text if isinstance(text, str) else None


def _int(value: object, default: int) -> int:
    try:
        return int(str(value))
    except ValueError:
        return default


@dataclass(frozen=True)
class Outcome:
    """What becomes of one delivery. ``delay_seconds``: DEFER's DelaySeconds, RETRY's visibility."""

    delivery: Delivery
    action: Action
    client_key: str | None = None
    idempotency_key: str | None = None
    issue_key: str | None = None
    error: IssueCreatorError | None = None
    delay_seconds: int = 0
    #: Why the worker gave up (dead letters after the last attempt), prefixed to the error.
    note: str | None = None

    @property
    def failed(self) -> bool:
        """Reported in ``batchItemFailures``: SQS keeps the message and delivers it again."""
        return self.action is Action.RETRY

    def reason(self) -> str:
        """One line for people: why this outcome (empty for successes)."""
        text = self.error.describe() if self.error is not None else ""
        return f"{self.note}: {text}" if self.note else text


@dataclass(frozen=True)
class RedeliveryPolicy:
    """When failed messages come back, and when the worker stops trying."""

    max_attempts: int = 5
    max_throttle_deferrals: int = 96
    #: Seconds an ambiguous outcome waits before the search (at least Jira's index lag).
    search_delay: float = 10.0
    fifo: bool = False
    first_backoff: float = 5.0
    backoff_cap: float = float(MAX_DELAY_SECONDS)

    def backoff(self, count: int) -> float:
        """The wait before try ``count + 1`` without jitter: 5, 10, 20 ... seconds, capped."""
        return min(self.first_backoff * 2.0 ** max(0, count - 1), self.backoff_cap)


def decide(
    delivery: Delivery,
    error: IssueCreatorError,
    policy: RedeliveryPolicy,
    *,
    client_key: str | None = None,
    idempotency_key: str | None = None,
    uniform: Uniform = random.uniform,
) -> Outcome:
    """The outcome of a delivery that failed with ``error`` (see the module docstring)."""

    def outcome(action: Action, delay: int = 0, note: str | None = None) -> Outcome:
        return Outcome(
            delivery,
            action,
            client_key=client_key,
            idempotency_key=idempotency_key,
            error=error,
            delay_seconds=delay,
            note=note,
        )

    if isinstance(error, PermanentError):
        return outcome(Action.DEAD_LETTER)
    if isinstance(error, RateLimited) and not policy.fifo:
        if delivery.throttle_count >= policy.max_throttle_deferrals:
            note = f"still rate limited after {delivery.throttle_count} deferrals"
            return outcome(Action.DEAD_LETTER, note=note)
        wait = _wait(error.retry_after, policy.backoff(delivery.throttle_count + 1), uniform)
        return outcome(Action.DEFER, _seconds(wait, MAX_DELAY_SECONDS))
    if delivery.attempt >= policy.max_attempts:
        return outcome(Action.DEAD_LETTER, note=f"gave up after attempt {delivery.attempt}")
    wait = _wait(error.retry_after, policy.backoff(delivery.attempt), uniform)
    if isinstance(error, AmbiguousError):
        wait = max(wait, policy.search_delay)
    return outcome(Action.RETRY, _seconds(wait, MAX_VISIBILITY_SECONDS))


def _wait(retry_after: float | None, backoff: float, uniform: Uniform) -> float:
    if retry_after is not None:
        return retry_after * uniform(*WAIT_JITTER)
    return backoff * uniform(*BACKOFF_JITTER)


def _seconds(wait: float, limit: int) -> int:
    # Whole seconds (the SQS APIs take integers), rounded up so a Retry-After is never cut short.
    return max(1, min(limit, math.ceil(wait)))
