"""Adapter helper: SQS batch calls (SendMessageBatch, ChangeMessageVisibilityBatch), with every entry's fate.

SQS takes at most 10 entries per batch call and 256 KiB of payload per SendMessageBatch; entries are
grouped to fit. A batch call can partly fail: the answer lists the entries that failed, and each entry
here gets ``None`` (done) or the reason it was not, in input order. A call that fails as a whole fails
each of its entries. Nothing raises: the caller decides what an unsent entry means for its message.

Message attribute values must be non-empty and may only hold the characters SQS accepts (XML 1.0's:
tab, newline, carriage return, U+0020-U+D7FF, U+E000-U+FFFD, U+10000-U+10FFFF): :func:`attribute_text`
replaces the others and truncates at a character boundary.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Final, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import (
        ChangeMessageVisibilityBatchRequestEntryTypeDef,
        MessageAttributeValueTypeDef,
        SendMessageBatchRequestEntryTypeDef,
    )

__all__ = [
    "MAX_BATCH_BYTES",
    "MAX_BATCH_ENTRIES",
    "attribute_text",
    "change_visibility_batch",
    "entry_size",
    "send_message_batch",
    "string_attribute",
]

MAX_BATCH_ENTRIES: Final = 10
MAX_BATCH_BYTES: Final = 256 * 1024
TRUNCATION_MARK: Final = " …(truncated)"
REPLACEMENT: Final = "\ufffd"
_NOT_ALLOWED = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

logger = logging.getLogger(__name__)
E = TypeVar("E")


def attribute_text(text: str, limit: int) -> str:
    """``text`` made acceptable as an SQS attribute value, at most ``limit`` characters."""
    clean = _NOT_ALLOWED.sub(REPLACEMENT, text) or "-"
    if len(clean) <= limit:
        return clean
    return clean[: max(0, limit - len(TRUNCATION_MARK))] + TRUNCATION_MARK


def string_attribute(value: str) -> MessageAttributeValueTypeDef:
    return {"DataType": "String", "StringValue": value}


def entry_size(entry: SendMessageBatchRequestEntryTypeDef) -> int:
    """Bytes the entry counts for against SQS's size limit (body plus attribute names, types, values)."""
    size = len(entry["MessageBody"].encode("utf-8"))
    for name, value in (entry.get("MessageAttributes") or {}).items():
        size += len(name.encode()) + len(str(value.get("DataType", "")).encode())
        if "StringValue" in value:
            size += len(str(value["StringValue"]).encode("utf-8"))
        binary = value.get("BinaryValue")
        if isinstance(binary, bytes | bytearray):
            size += len(binary)
    return size


def send_message_batch(
    client: SQSClient, queue_url: str, entries: Sequence[SendMessageBatchRequestEntryTypeDef]
) -> list[str | None]:
    """Send every entry (its ``Id`` is replaced); per entry, None or why it was not sent."""

    def call(group: list[tuple[str, SendMessageBatchRequestEntryTypeDef]]) -> dict[str, Any]:
        batch: list[SendMessageBatchRequestEntryTypeDef] = []
        for ident, entry in group:
            labelled = entry.copy()
            labelled["Id"] = ident
            batch.append(labelled)
        return dict(client.send_message_batch(QueueUrl=queue_url, Entries=batch))

    return _run(entries, call, size=entry_size)


def change_visibility_batch(
    client: SQSClient, queue_url: str, changes: Sequence[tuple[str, int]]
) -> list[str | None]:
    """Set the visibility timeout of each (receipt handle, seconds); per change, None or why not."""

    def call(group: list[tuple[str, tuple[str, int]]]) -> dict[str, Any]:
        batch: list[ChangeMessageVisibilityBatchRequestEntryTypeDef] = [
            {"Id": ident, "ReceiptHandle": handle, "VisibilityTimeout": seconds}
            for ident, (handle, seconds) in group
        ]
        return dict(client.change_message_visibility_batch(QueueUrl=queue_url, Entries=batch))

    return _run(changes, call, size=lambda _: 0)


def _run(
    entries: Sequence[E],
    call: Callable[[list[tuple[str, E]]], dict[str, Any]],
    *,
    size: Callable[[E], int],
) -> list[str | None]:
    results: list[str | None] = [None] * len(entries)
    for group in _groups(list(enumerate(entries)), size):
        labelled = [(f"e{index}", entry) for index, entry in group]
        try:
            answer = call(labelled)
        except (ClientError, BotoCoreError) as e:
            reason = f"{type(e).__name__}: {e}"
            logger.warning("SQS batch call failed", extra={"error": reason, "entries": len(group)})
            for index, _ in group:
                results[index] = reason
            continue
        for failed in answer.get("Failed") or []:
            index = int(str(failed.get("Id", "e-1"))[1:])
            if 0 <= index < len(entries):
                results[index] = f"{failed.get('Code')}: {failed.get('Message')}"
    return results


def _groups(items: list[tuple[int, E]], size: Callable[[E], int]) -> Iterator[list[tuple[int, E]]]:
    group: list[tuple[int, E]] = []
    used = 0
    for index, entry in items:
        entry_bytes = size(entry)
        if group and (len(group) == MAX_BATCH_ENTRIES or used + entry_bytes > MAX_BATCH_BYTES):
            yield group
            group, used = [], 0
        group.append((index, entry))
        used += entry_bytes
    if group:
        yield group
