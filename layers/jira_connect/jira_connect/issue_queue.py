"""Adapter: the issue queue itself: new issue messages from the HTTP API, and messages that must come back.

:meth:`SqsIssueQueue.send` puts a producer's message on the queue (the HTTP API's ``Prefer: respond-async``
create); on a FIFO queue, with a message group and a deduplication id.

Two ways back, chosen by :func:`jira_connect.batch.decide`:

* **Defer** (throttled on a standard queue): the body is sent again, unchanged, with ``DelaySeconds``
  (at most 900) and message attributes that carry what the next attempt must know, and the original is
  then acknowledged. A new message starts with ``ApproximateReceiveCount`` 1, so waiting out Jira's rate
  limit never brings a message closer to the redrive policy's ``maxReceiveCount``::

      IdempotencyKey   the key in use, so a message keyed by its messageId keeps that key
      SourceMessageId  the producer's messageId
      Attempt          attempts made before this re-send, not counting throttled ones
      ThrottleCount    how many times the message was deferred for throttling

  The producer's own message attributes ride along while the total stays within SQS's 10 per message
  (ours take precedence).
* **Retry** (everything else that may succeed later): the message stays in the batch's
  ``batchItemFailures`` and its visibility timeout is set to the wait, so SQS delivers it again then.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from jira_connect.batch import (
    ATTEMPT_ATTRIBUTE,
    IDEMPOTENCY_KEY_ATTRIBUTE,
    SOURCE_MESSAGE_ID_ATTRIBUTE,
    THROTTLE_COUNT_ATTRIBUTE,
    Outcome,
)
from jira_connect.sqs_send import change_visibility_batch, send_message_batch, string_attribute

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef, SendMessageBatchRequestEntryTypeDef

__all__ = ["MAX_MESSAGE_ATTRIBUTES", "Deferral", "SqsIssueQueue", "deferral_attributes"]

#: SQS accepts at most 10 message attributes per message.
MAX_MESSAGE_ATTRIBUTES: Final = 10
_OURS: Final = frozenset(
    {IDEMPOTENCY_KEY_ATTRIBUTE, SOURCE_MESSAGE_ID_ATTRIBUTE, ATTEMPT_ATTRIBUTE, THROTTLE_COUNT_ATTRIBUTE}
)


@dataclass(frozen=True)
class Deferral:
    """A throttled message, to be sent again with a delay."""

    body: str
    delay_seconds: int
    idempotency_key: str
    source_message_id: str
    #: Attempts made so far, the throttled one excluded.
    attempts: int
    throttle_count: int
    carried_attributes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_outcome(cls, outcome: Outcome) -> Deferral:
        delivery = outcome.delivery
        return cls(
            body=delivery.body,
            delay_seconds=outcome.delay_seconds,
            idempotency_key=outcome.idempotency_key or delivery.message_id,
            source_message_id=delivery.source_message_id or delivery.message_id,
            attempts=delivery.attempt - 1,
            throttle_count=delivery.throttle_count + 1,
            carried_attributes=delivery.message_attributes,
        )


def deferral_attributes(deferral: Deferral) -> dict[str, MessageAttributeValueTypeDef]:
    """The re-sent message's attributes (see the module docstring)."""
    ours: dict[str, MessageAttributeValueTypeDef] = {
        IDEMPOTENCY_KEY_ATTRIBUTE: string_attribute(deferral.idempotency_key),
        SOURCE_MESSAGE_ID_ATTRIBUTE: string_attribute(deferral.source_message_id),
        ATTEMPT_ATTRIBUTE: {"DataType": "Number", "StringValue": str(deferral.attempts)},
        THROTTLE_COUNT_ATTRIBUTE: {"DataType": "Number", "StringValue": str(deferral.throttle_count)},
    }
    theirs: dict[str, MessageAttributeValueTypeDef] = {}
    for name, value in sorted(deferral.carried_attributes.items()):
        if name in _OURS or len(theirs) + len(ours) >= MAX_MESSAGE_ATTRIBUTES:
            continue
        converted = _sendable(value)
        if converted is not None:
            theirs[name] = converted
    return {**theirs, **ours}


def _sendable(value: Mapping[str, Any]) -> MessageAttributeValueTypeDef | None:
    """A Lambda event's attribute (``stringValue``/``binaryValue`` base64, ``dataType``) as SendMessage
    takes it. List values are reserved by SQS and never set; anything unreadable is dropped."""
    data_type = value.get("dataType")
    if not isinstance(data_type, str) or not data_type:
        return None
    string = value.get("stringValue")
    if isinstance(string, str) and string:
        return {"DataType": data_type, "StringValue": string}
    binary = value.get("binaryValue")
    if isinstance(binary, str) and binary:
        try:
            return {"DataType": data_type, "BinaryValue": base64.b64decode(binary, validate=True)}
        except binascii.Error:
            return None
    return None


class SqsIssueQueue:
    """Re-sends and visibility changes on the issue queue at ``queue_url``."""

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url

    def send(self, body: str, *, group_id: str | None = None, deduplication_id: str | None = None) -> str:
        """Send one new issue message; returns its SQS messageId. botocore's errors propagate: the caller
        has nowhere else to put the message, so it must tell its own caller."""
        if group_id is None and deduplication_id is None:
            response = self._client.send_message(QueueUrl=self._queue_url, MessageBody=body)
        elif group_id is not None and deduplication_id is not None:
            response = self._client.send_message(
                QueueUrl=self._queue_url,
                MessageBody=body,
                MessageGroupId=group_id,
                MessageDeduplicationId=deduplication_id,
            )
        else:
            raise ValueError("a FIFO message needs both a group id and a deduplication id")
        return response["MessageId"]

    def defer(self, deferrals: Sequence[Deferral]) -> list[str | None]:
        """Send each deferral; per deferral, None or why it was not sent (keep the original then)."""
        entries: list[SendMessageBatchRequestEntryTypeDef] = [
            {
                "Id": "-",
                "MessageBody": d.body,
                "DelaySeconds": d.delay_seconds,
                "MessageAttributes": deferral_attributes(d),
            }
            for d in deferrals
        ]
        return send_message_batch(self._client, self._queue_url, entries)

    def change_visibility(self, changes: Sequence[tuple[str, int]]) -> list[str | None]:
        """Make each (receipt handle) message visible again after (seconds)."""
        return change_visibility_batch(self._client, self._queue_url, changes)
