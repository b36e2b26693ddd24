"""Adapter: the idempotency record of each (clientKey, idempotency key), in DynamoDB.

Why our own conditional writes and not Powertools Idempotency: the worker claims many keys at once (one
bulk create serves up to 50 messages), and a claim whose previous holder vanished (lease expired) or whose
outcome was ambiguous must make the worker *search Jira* for the issue before it creates anything.
Powertools Idempotency wraps one function call per key and can only re-run it or return the stored result;
it cannot say "the last attempt may have created the issue: look first".

One item per key, partition key ``id`` = ``<key_prefix>#<encoded clientKey>#<idempotency key>`` (the
clientKey in the injective secret-name encoding, which never contains ``#``, so ids cannot collide;
hashed when longer than :data:`MAX_PLAIN_ID_BYTES`). Attributes::

    status          IN_PROGRESS | UNKNOWN | COMPLETED
    issueKey/Id     the created issue (COMPLETED)
    leaseExpiresAt  epoch seconds: nobody else may act on the key before then
    owner           a random token per claim: only the holder releases or marks its claim
    expiration      epoch seconds, the table's TTL attribute (default 7 days after the last write)
    clientKey, idempotencyKey, updatedAt   for people reading the table (COMPLETED; the id names both)

The states, and what :meth:`IdempotencyStore.claim` answers::

    (absent) ────claim────▶ IN_PROGRESS ──complete──▶ COMPLETED     → AlreadyCreated(issue)
                            │  │    ▲
          release (Jira did │  │    │ claim after leaseExpiresAt     → Claimed(search_first=True)
          not act): deleted │  │    │ (the holder crashed or timed out)
                            │  └mark_unknown──▶ UNKNOWN             → Claimed(search_first=True) once
                            ▼                   (ambiguous outcome)    leaseExpiresAt (search delay) passed
                         (absent)                                   → InFlightElsewhere(retry_after) before

A lease must outlive the attempt that holds it (the Lambda's remaining time plus the index lag), and be
shorter than the queue's visibility timeout, so that a message redelivered after a crash finds it expired.

Every write puts a whole record (``PutItem``; completions in ``BatchWriteItem`` calls). A claim is a
conditional put of a new record (``attribute_not_exists``). The keys of a call are claimed first in one
``TransactWriteItems`` request per 100 keys (the common case: none has a record yet), because a request
costs a Lambda far more CPU than DynamoDB time: one request instead of ten cuts a batch's claims several
fold. A transaction is all or nothing, so when it is cancelled (a key has a record: a redelivery or a
duplicate) or fails, its keys are claimed one by one, concurrently. There, when a record is there, it
is read after the failed condition and taken over only by a compare-and-swap on exactly the owner, lease
and status that were seen, so two claimants can never both win (DynamoDB applies each conditional write
and each transaction atomically). A record that carries the claim's own owner token is the claim's own
write whose answer was lost (the transaction committed, then the connection failed): it is claimed.
Time is the wall clock (``time.time``), injectable: leases are compared across machines.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from jira_connect.tenant import secret_name_suffix

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        AttributeValueTypeDef,
        TransactWriteItemTypeDef,
        WriteRequestUnionTypeDef,
    )

__all__ = [
    "COMPLETED",
    "DEFAULT_KEY_PREFIX",
    "DEFAULT_TTL_SECONDS",
    "IN_PROGRESS",
    "UNKNOWN",
    "AlreadyCreated",
    "Claim",
    "Claimed",
    "DynamoDBIdempotencyStore",
    "IdempotencyKey",
    "InFlightElsewhere",
    "IssueRef",
    "create_table",
    "record_id",
]

IN_PROGRESS: Final = "IN_PROGRESS"
UNKNOWN: Final = "UNKNOWN"
COMPLETED: Final = "COMPLETED"
#: Shared by every function that creates issues (worker, HTTP API), so they deduplicate against each other.
DEFAULT_KEY_PREFIX: Final = "issue"
DEFAULT_TTL_SECONDS: Final = 7 * 24 * 3600
#: Shorter than an hour would forget an issue while its message or request may still be retried.
MIN_TTL_SECONDS: Final = 3600
#: After its lease, a crashed attempt's claim is taken over; the margin covers clock skew between hosts.
LEASE_MARGIN_SECONDS: Final = 5.0
#: How long Jira's search may lag behind a create, unless configured (JIRA_INDEX_LAG_SECONDS).
DEFAULT_INDEX_LAG_SECONDS: Final = 10.0
#: SQS names a FIFO queue (and so its URL) with this suffix.
FIFO_SUFFIX: Final = ".fifo"
ID_SEPARATOR: Final = "#"
#: DynamoDB allows 2,048 bytes of partition key; longer ids are hashed well before that.
MAX_PLAIN_ID_BYTES: Final = 1024
#: Concurrent DynamoDB calls of one claim or settle; boto3's connection pool is sized to match.
DEFAULT_CONCURRENCY: Final = 10
_CONDITION_FAILED: Final = "ConditionalCheckFailedException"
#: DynamoDB's BatchWriteItem limit.
BATCH_WRITE_LIMIT: Final = 25
#: Items in one TransactWriteItems call.
TRANSACTION_LIMIT: Final = 100
#: Rounds of put-read-takeover that lose a race before a claim gives up for now.
MAX_CLAIM_TRIES: Final = 3
#: The table's TTL attribute: DynamoDB deletes the record some time after this epoch second.
TTL_ATTRIBUTE: Final = "expiration"

logger = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, order=True)
class IdempotencyKey:
    """An idempotency key in the scope of its tenant."""

    client_key: str
    key: str


@dataclass(frozen=True)
class IssueRef:
    """The issue a key produced. ``id`` is unknown when a search found the issue (it gives keys)."""

    key: str
    id: str | None = None


@dataclass(frozen=True)
class Claimed:
    """This attempt holds the key until the lease ends. ``search_first``: an earlier attempt may have
    created the issue (it crashed, timed out or met an ambiguous answer): search Jira before creating."""

    key: IdempotencyKey
    search_first: bool
    owner: str


@dataclass(frozen=True)
class AlreadyCreated:
    """The issue exists: the message is a duplicate."""

    key: IdempotencyKey
    issue: IssueRef


@dataclass(frozen=True)
class InFlightElsewhere:
    """Another attempt holds the key (or an ambiguous outcome waits for Jira's index): come back after
    ``retry_after`` seconds."""

    key: IdempotencyKey
    retry_after: float


Claim = Claimed | AlreadyCreated | InFlightElsewhere


def record_id(key: IdempotencyKey, prefix: str = DEFAULT_KEY_PREFIX) -> str:
    """The partition key of ``key``'s record."""
    plain = ID_SEPARATOR.join((prefix, secret_name_suffix(key.client_key), key.key))
    if len(plain.encode("utf-8")) <= MAX_PLAIN_ID_BYTES:
        return plain
    digest = hashlib.sha256(f"{key.client_key}\0{key.key}".encode()).hexdigest()
    return ID_SEPARATOR.join((prefix, "sha256", digest))


class DynamoDBIdempotencyStore:
    """Idempotency records in the DynamoDB table ``table`` (partition key ``id``, TTL ``expiration``).

    Settling methods (:meth:`complete`, :meth:`release`, :meth:`mark_unknown`) never raise: a record that
    could not be written leaves the claim to expire, after which the next attempt searches Jira first,
    which is safe. They return the errors, per item, for the caller to log.
    """

    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        *,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        concurrency: int = DEFAULT_CONCURRENCY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._client = client
        self._table = table
        self._prefix = key_prefix
        self._ttl = ttl_seconds
        self._clock = clock
        # Its own small pool: claims run while the caller's pool may be busy, so sharing could deadlock.
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="idempotency")

    def claim(self, keys: Sequence[IdempotencyKey], *, lease_seconds: float) -> list[Claim]:
        """Claim every key for ``lease_seconds``; one answer per key, in order.

        Raises only when DynamoDB itself fails (the caller retries those messages later), and then holds
        none of the keys: the ones it did claim are given back as they were found (free again, or still
        to be searched for first), so a retry is not kept waiting for leases nobody uses. Each key at most
        once per call (ValueError otherwise): the answers of one call share an owner.
        """
        if len(set(keys)) != len(keys):
            raise ValueError("claim each idempotency key at most once per call")
        owner = secrets.token_hex(16)

        def claim_one(key: IdempotencyKey) -> Claim | Exception:
            try:
                return self._claim_one(key, owner, lease_seconds)
            except Exception as e:  # given back below, then raised
                return e

        fresh = self._claim_fresh(keys, owner, lease_seconds)
        rest = [i for i, claim in enumerate(fresh) if claim is None]
        one_by_one = dict(zip(rest, self._map(claim_one, [keys[i] for i in rest]), strict=True))
        answers = [one_by_one[i] if claim is None else claim for i, claim in enumerate(fresh)]
        failures = [a for a in answers if isinstance(a, Exception)]
        if not failures:
            return [a for a in answers if not isinstance(a, Exception)]
        held = [a for a in answers if isinstance(a, Claimed)]
        self.release([c for c in held if not c.search_first])
        self.mark_unknown([c for c in held if c.search_first], search_after=0.0)
        raise failures[0]

    def complete(self, done: Sequence[tuple[Claimed, IssueRef]]) -> list[Exception | None]:
        """Record the issue each claim created: later duplicates get :class:`AlreadyCreated`.

        Unconditional, in BatchWriteItem calls of 25: the issue exists whatever the record said before.
        """
        now = self._clock()
        items = [self._record(claim.key, COMPLETED, now, issue=issue) for claim, issue in done]
        errors: list[Exception | None] = []
        for start in range(0, len(items), BATCH_WRITE_LIMIT):
            errors.extend(self._put_all(items[start : start + BATCH_WRITE_LIMIT]))
        return errors

    def release(self, claims: Sequence[Claimed]) -> list[Exception | None]:
        """Forget the claims (Jira did not create anything): the key may be tried afresh."""
        return self._map(self._guarded(self._release_one), claims)

    def mark_unknown(self, claims: Sequence[Claimed], *, search_after: float) -> list[Exception | None]:
        """The outcome is ambiguous: the next claim must search Jira, not before ``search_after`` seconds
        (Jira's search index lags behind its writes)."""
        return self._map(self._guarded(lambda c: self._mark_unknown_one(c, search_after)), claims)

    def lookup(self, key: IdempotencyKey) -> Mapping[str, Any] | None:
        """The record as stored (plain Python values), or None. For tests and operators."""
        item = self._read(key)
        return None if item is None else {name: _plain(value) for name, value in item.items()}

    def close(self) -> None:
        self._pool.shutdown(wait=False)

    # --- many keys at once ------------------------------------------------------------------------

    def _claim_fresh(
        self, keys: Sequence[IdempotencyKey], owner: str, lease_seconds: float
    ) -> list[Claim | None]:
        """The common case in one request per TRANSACTION_LIMIT keys: none of them has a record yet.

        A TransactWriteItems call of conditional puts writes all of its records or none, so any key with a
        record (a redelivery, a duplicate), a conflict or an error sends its whole chunk (None) to the
        one-key path, which sorts out each key; a chunk that was in fact written before an error is
        recognised there by its owner token. One request instead of one per key costs the Lambda far
        less CPU per batch; DynamoDB bills a transactional write as two."""
        if len(keys) < 2:
            return [None] * len(keys)  # one key: a plain conditional put is as fast, at half the price
        now = self._clock()
        answers: list[Claim | None] = []
        for number, start in enumerate(range(0, len(keys), TRANSACTION_LIMIT)):
            chunk = keys[start : start + TRANSACTION_LIMIT]
            puts: list[TransactWriteItemTypeDef] = [
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": self._claim_record(key, owner, now, lease_seconds),
                        "ConditionExpression": "attribute_not_exists(id)",
                    }
                }
                for key in chunk
            ]
            try:
                # The token makes botocore's retry of this very call harmless (DynamoDB: 10 minutes).
                self._client.transact_write_items(TransactItems=puts, ClientRequestToken=f"{owner}-{number}")
            except (ClientError, BotoCoreError) as e:
                logger.debug("claims go one by one", extra={"reason": type(e).__name__})
                answers.extend([None] * len(chunk))
                continue
            answers.extend(Claimed(key=key, search_first=False, owner=owner) for key in chunk)
        return answers

    # --- one key each ---------------------------------------------------------------------------

    def _claim_one(self, key: IdempotencyKey, owner: str, lease_seconds: float) -> Claim:
        """Optimistic: write a new record if there is none (the common case, one cheap conditional put);
        otherwise look at the one there, and take it over only if it is still exactly what was seen."""
        now = self._clock()
        record = self._claim_record(key, owner, now, lease_seconds)
        for _ in range(MAX_CLAIM_TRIES):
            seen = self._put_if(record, "attribute_not_exists(id)", {}, {})
            if seen is None:
                return Claimed(key=key, search_first=False, owner=owner)
            if not seen:
                continue  # released between the put and the read: try afresh
            verdict = self._verdict(key, seen, now, owner)
            if verdict is not None:
                return verdict
            # Abandoned (lease over) or ambiguous (search delay over): ours, unless it changed since read.
            changed = self._put_if(
                record,
                "#owner = :owner AND leaseExpiresAt = :lease AND #status = :status",
                {"#owner": "owner", "#status": "status"},
                {":owner": seen["owner"], ":lease": seen["leaseExpiresAt"], ":status": seen["status"]},
            )
            if changed is None:
                return Claimed(key=key, search_first=True, owner=owner)
        return InFlightElsewhere(key, retry_after=0.0)  # contended: let the queue bring it back

    def _verdict(self, key: IdempotencyKey, item: Mapping[str, Any], now: float, owner: str) -> Claim | None:
        """What an existing record means, or None when it may be taken over."""
        record = {name: _plain(value) for name, value in item.items()}
        if record.get("owner") == owner and record.get("status") == IN_PROGRESS:
            return Claimed(key=key, search_first=False, owner=owner)  # ours: a write that seemed to fail
        if record.get("status") == COMPLETED:
            issue_id = record.get("issueId")
            return AlreadyCreated(
                key, IssueRef(str(record["issueKey"]), None if issue_id is None else str(issue_id))
            )
        lease = float(record.get("leaseExpiresAt") or 0)
        if lease > now:
            return InFlightElsewhere(key, retry_after=lease - now)
        if "owner" not in item or "leaseExpiresAt" not in item or "status" not in item:
            raise ValueError(f"idempotency record {record_id(key, self._prefix)!r} is malformed")
        return None

    def _put_if(
        self,
        item: Mapping[str, AttributeValueTypeDef],
        condition: str,
        names: Mapping[str, str],
        values: Mapping[str, AttributeValueTypeDef],
    ) -> Mapping[str, Any] | None:
        """Put ``item`` if ``condition`` holds: None when written, else the item that is there."""
        extra: dict[str, Any] = {}
        if names:
            extra["ExpressionAttributeNames"] = dict(names)
        if values:
            extra["ExpressionAttributeValues"] = dict(values)
        try:
            self._client.put_item(
                TableName=self._table, Item=dict(item), ConditionExpression=condition, **extra
            )
        except ClientError as e:
            if _error_code(e) != _CONDITION_FAILED:
                raise
            # Read what is there (consistently) rather than ask for it on every put: the condition almost
            # always holds, and ReturnValuesOnConditionCheckFailure makes every put dearer on moto.
            return self._read_key(item["id"]) or {}
        return None

    def _put_all(self, items: Sequence[dict[str, AttributeValueTypeDef]]) -> list[Exception | None]:
        requests: list[WriteRequestUnionTypeDef] = [{"PutRequest": {"Item": item}} for item in items]
        try:
            answer = self._client.batch_write_item(RequestItems={self._table: requests})
            # Throttled or too big: DynamoDB hands some back; write those one by one.
            left = answer.get("UnprocessedItems", {}).get(self._table, [])
        except (ClientError, BotoCoreError) as e:
            logger.warning("idempotency records not written", extra={"error": type(e).__name__})
            return [e] * len(items)
        unprocessed = {str(r["PutRequest"]["Item"]["id"].get("S")) for r in left if "PutRequest" in r}
        errors: list[Exception | None] = []
        for item in items:
            if str(item["id"].get("S")) not in unprocessed:
                errors.append(None)
                continue
            errors.append(self._guarded(self._put)(item))
        return errors

    def _put(self, item: dict[str, AttributeValueTypeDef]) -> None:
        self._client.put_item(TableName=self._table, Item=item)

    def _release_one(self, claim: Claimed) -> None:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=self._key(claim.key),
                ConditionExpression="#owner = :owner AND #status = :in_progress",
                ExpressionAttributeNames={"#owner": "owner", "#status": "status"},
                ExpressionAttributeValues={":owner": {"S": claim.owner}, ":in_progress": {"S": IN_PROGRESS}},
            )
        except ClientError as e:
            if _error_code(e) != _CONDITION_FAILED:
                raise
            # Someone else holds it now (our lease ran out): theirs to settle.

    def _mark_unknown_one(self, claim: Claimed, search_after: float) -> None:
        now = self._clock()
        record = self._record(claim.key, UNKNOWN, now, owner=claim.owner, lease_until=now + search_after)
        self._put_if(
            record,
            "#owner = :owner AND #status = :in_progress",
            {"#owner": "owner", "#status": "status"},
            {":owner": {"S": claim.owner}, ":in_progress": {"S": IN_PROGRESS}},
        )  # not ours any more (lease over, taken over): the new holder decides

    def _claim_record(
        self, key: IdempotencyKey, owner: str, now: float, lease_seconds: float
    ) -> dict[str, AttributeValueTypeDef]:
        return self._record(key, IN_PROGRESS, now, owner=owner, lease_until=now + lease_seconds)

    def _record(
        self,
        key: IdempotencyKey,
        status: str,
        now: float,
        *,
        owner: str | None = None,
        lease_until: float | None = None,
        issue: IssueRef | None = None,
    ) -> dict[str, AttributeValueTypeDef]:
        """A whole record: every write replaces the item. Claims carry only what the protocol reads (the
        id already names the tenant and key); a completion adds the issue and readable fields."""
        item: dict[str, AttributeValueTypeDef] = {
            "id": {"S": record_id(key, self._prefix)},
            "status": {"S": status},
            TTL_ATTRIBUTE: _number(int(now) + self._ttl),
        }
        if owner is not None:
            item["owner"] = {"S": owner}
        if lease_until is not None:
            item["leaseExpiresAt"] = _number(lease_until)
        if issue is not None:
            item["issueKey"] = {"S": issue.key}
            if issue.id is not None:
                item["issueId"] = {"S": issue.id}
            item["clientKey"] = {"S": key.client_key}
            item["idempotencyKey"] = {"S": key.key}
            item["updatedAt"] = _number(now)
        return item

    def _read(self, key: IdempotencyKey) -> Mapping[str, Any] | None:
        return self._read_key(self._key(key)["id"])

    def _read_key(self, ident: AttributeValueTypeDef) -> Mapping[str, Any] | None:
        response = self._client.get_item(TableName=self._table, Key={"id": ident}, ConsistentRead=True)
        return response.get("Item")

    # --- helpers ------------------------------------------------------------------------------------

    def _key(self, key: IdempotencyKey) -> dict[str, AttributeValueTypeDef]:
        return {"id": {"S": record_id(key, self._prefix)}}

    def _map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        items = list(items)
        if len(items) <= 1:
            return [fn(item) for item in items]
        return list(self._pool.map(fn, items))

    @staticmethod
    def _guarded(fn: Callable[[T], None]) -> Callable[[T], Exception | None]:
        def run(item: T) -> Exception | None:
            try:
                fn(item)
            except Exception as e:  # reported per item, see the class docstring
                logger.warning("idempotency record not written", extra={"error": type(e).__name__})
                return e
            return None

        return run


def _number(value: float) -> AttributeValueTypeDef:
    # Milliseconds are plenty; DynamoDB numbers are decimal strings.
    return {"N": str(round(Decimal(value), 3))}


def _plain(value: Mapping[str, Any]) -> Any:
    if "S" in value:
        return value["S"]
    if "N" in value:
        return Decimal(value["N"])
    if "BOOL" in value:
        return value["BOOL"]
    return None


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def create_table(client: DynamoDBClient, table: str) -> None:
    """Create the table as template.yaml declares it (for the local stack and tests), and wait for it."""
    client.create_table(
        TableName=table,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    client.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    client.update_time_to_live(
        TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE}
    )
