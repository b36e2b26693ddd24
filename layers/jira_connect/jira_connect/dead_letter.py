"""The dead-letter queue: messages that will not become issues, each with the reason (adapter + pure parts).

The worker sends a message here itself, at once for a permanent failure and after the last attempt for
the others, so that every dead letter says why; SQS's redrive policy is only the backstop for a worker
that crashed on a message's last receive. A dead letter is the original body, unchanged, with message
attributes::

    ErrorType        the taxonomy class (JiraBadRequest, UnknownTenant, InvalidMessage, RateLimited ...)
    ErrorMessage     the error, with Jira's errorMessages and field errors ("summary: You must specify a
                     summary of the issue."), truncated to MAX_ERROR_MESSAGE_CHARS
    ClientKey        the tenant, or "(unknown)" when the body did not say
    SourceMessageId  the producer's message id (kept through the worker's own re-sends)
    IdempotencyKey   the key the message was deduplicated by, when it got that far
    Attempts         how many attempts were made

A FIFO dead-letter queue gets the message's group id and its messageId as deduplication id, so sending
the same dead letter twice (a crash between sending and acknowledging) leaves one copy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from jira_connect.batch import SOURCE_MESSAGE_ID_ATTRIBUTE, Outcome
from jira_connect.sqs_send import attribute_text, send_message_batch, string_attribute

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageAttributeValueTypeDef, SendMessageBatchRequestEntryTypeDef

__all__ = [
    "ATTEMPTS",
    "CLIENT_KEY",
    "ERROR_MESSAGE",
    "ERROR_TYPE",
    "IDEMPOTENCY_KEY",
    "MAX_ERROR_MESSAGE_CHARS",
    "SOURCE_MESSAGE_ID",
    "UNKNOWN_CLIENT_KEY",
    "DeadLetter",
    "SqsDeadLetterQueue",
    "dead_letter_attributes",
]

ERROR_TYPE: Final = "ErrorType"
ERROR_MESSAGE: Final = "ErrorMessage"
CLIENT_KEY: Final = "ClientKey"
SOURCE_MESSAGE_ID: Final = SOURCE_MESSAGE_ID_ATTRIBUTE
IDEMPOTENCY_KEY: Final = "IdempotencyKey"
ATTEMPTS: Final = "Attempts"
#: Enough for Jira's field errors on every field of a big create; small beside the 256 KiB message limit.
MAX_ERROR_MESSAGE_CHARS: Final = 4000
#: Attribute values other than the error message (ids and keys are at most a few hundred characters).
MAX_VALUE_CHARS: Final = 1000
UNKNOWN_CLIENT_KEY: Final = "(unknown)"
FIFO_SUFFIX: Final = ".fifo"
DEFAULT_GROUP: Final = "dead-letters"
MAX_DEDUPLICATION_ID_CHARS: Final = 128


@dataclass(frozen=True)
class DeadLetter:
    """One message bound for the DLQ."""

    message_id: str
    body: str
    error_type: str
    error_message: str
    source_message_id: str
    client_key: str | None = None
    idempotency_key: str | None = None
    attempts: int = 1
    group_id: str | None = None

    @classmethod
    def from_outcome(cls, outcome: Outcome) -> DeadLetter:
        delivery = outcome.delivery
        return cls(
            message_id=delivery.message_id,
            body=delivery.body,
            error_type=outcome.error.error_type if outcome.error is not None else "Unknown",
            error_message=outcome.reason() or "no reason recorded",
            source_message_id=delivery.source_message_id or delivery.message_id,
            client_key=outcome.client_key,
            idempotency_key=outcome.idempotency_key,
            attempts=delivery.attempt,
            group_id=delivery.group_id,
        )


def dead_letter_attributes(letter: DeadLetter) -> dict[str, MessageAttributeValueTypeDef]:
    """The message attributes of a dead letter (see the module docstring)."""
    attributes: dict[str, MessageAttributeValueTypeDef] = {
        ERROR_TYPE: _text(letter.error_type),
        ERROR_MESSAGE: _text(letter.error_message, MAX_ERROR_MESSAGE_CHARS),
        CLIENT_KEY: _text(letter.client_key or UNKNOWN_CLIENT_KEY),
        SOURCE_MESSAGE_ID: _text(letter.source_message_id),
        ATTEMPTS: {"DataType": "Number", "StringValue": str(letter.attempts)},
    }
    if letter.idempotency_key:
        attributes[IDEMPOTENCY_KEY] = _text(letter.idempotency_key)
    return attributes


def _text(value: str, limit: int = MAX_VALUE_CHARS) -> MessageAttributeValueTypeDef:
    return string_attribute(attribute_text(value, limit))


class SqsDeadLetterQueue:
    """Sends dead letters to the queue at ``queue_url``."""

    def __init__(self, client: SQSClient, queue_url: str) -> None:
        self._client = client
        self._queue_url = queue_url
        self._fifo = queue_url.endswith(FIFO_SUFFIX)

    def send(self, letters: Sequence[DeadLetter]) -> list[str | None]:
        """Send every letter; per letter, None or why it was not sent (then it must not be acknowledged)."""
        return send_message_batch(self._client, self._queue_url, [self._entry(letter) for letter in letters])

    def _entry(self, letter: DeadLetter) -> SendMessageBatchRequestEntryTypeDef:
        entry: SendMessageBatchRequestEntryTypeDef = {
            "Id": "-",
            "MessageBody": letter.body,
            "MessageAttributes": dead_letter_attributes(letter),
        }
        if self._fifo:
            entry["MessageGroupId"] = letter.group_id or DEFAULT_GROUP
            entry["MessageDeduplicationId"] = _deduplication_id(letter.message_id)
        return entry


def _deduplication_id(message_id: str) -> str:
    if message_id and len(message_id) <= MAX_DEDUPLICATION_ID_CHARS and message_id.isascii():
        return message_id
    return hashlib.sha256(message_id.encode()).hexdigest()
