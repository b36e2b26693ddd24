"""The DynamoDB idempotency store on moto server: claims, leases, settling, and racing claimants."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError

from devstack.aws import MotoServer
from jira_connect.idempotency_store import (
    COMPLETED,
    IN_PROGRESS,
    UNKNOWN,
    AlreadyCreated,
    Claim,
    Claimed,
    DynamoDBIdempotencyStore,
    IdempotencyKey,
    InFlightElsewhere,
    IssueRef,
    create_table,
    record_id,
)

TABLE = "idempotency"
KEY = IdempotencyKey("jira:tenant-1", "order-42")
ISSUE = IssueRef(key="OPS-1", id="10000")


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self, now: float = 1_767_225_600.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(aws: MotoServer, clock: Clock) -> Iterator[DynamoDBIdempotencyStore]:
    client = boto3.client("dynamodb")
    create_table(client, TABLE)
    store = DynamoDBIdempotencyStore(client, TABLE, clock=clock)
    yield store
    store.close()


def _claimed(claim: object) -> Claimed:
    assert isinstance(claim, Claimed), claim
    return claim


def test_first_claim_is_fresh_and_recorded_in_progress(store: DynamoDBIdempotencyStore, clock: Clock) -> None:
    [claim] = store.claim([KEY], lease_seconds=60)
    assert _claimed(claim).search_first is False
    record = store.lookup(KEY)
    assert record is not None
    assert record["status"] == IN_PROGRESS
    assert record["leaseExpiresAt"] == Decimal(clock.now + 60)
    assert record["expiration"] == int(clock.now) + 7 * 24 * 3600
    assert record["id"] == "issue#jira_3Atenant-1#order-42"


def test_duplicate_after_completion_gets_the_stored_issue(store: DynamoDBIdempotencyStore) -> None:
    [claim] = store.claim([KEY], lease_seconds=60)
    assert store.complete([(_claimed(claim), ISSUE)]) == [None]
    assert store.claim([KEY], lease_seconds=60) == [AlreadyCreated(KEY, ISSUE)]
    record = store.lookup(KEY)
    assert record is not None
    assert (record["status"], record["issueKey"], record["issueId"]) == (COMPLETED, "OPS-1", "10000")
    assert (record["clientKey"], record["idempotencyKey"]) == (KEY.client_key, KEY.key)


def test_claim_held_elsewhere_says_when_the_lease_ends(store: DynamoDBIdempotencyStore, clock: Clock) -> None:
    store.claim([KEY], lease_seconds=60)
    clock.now += 15
    assert store.claim([KEY], lease_seconds=60) == [InFlightElsewhere(KEY, retry_after=45.0)]


def test_expired_lease_is_reclaimed_with_a_search_first(
    store: DynamoDBIdempotencyStore, clock: Clock
) -> None:
    [first] = store.claim([KEY], lease_seconds=60)
    clock.now += 61
    [second] = store.claim([KEY], lease_seconds=60)
    assert _claimed(second).search_first is True
    assert _claimed(second).owner != _claimed(first).owner


def test_released_key_is_claimed_afresh(store: DynamoDBIdempotencyStore) -> None:
    [claim] = store.claim([KEY], lease_seconds=60)
    assert store.release([_claimed(claim)]) == [None]
    assert store.lookup(KEY) is None
    [again] = store.claim([KEY], lease_seconds=60)
    assert _claimed(again).search_first is False


def test_release_by_a_former_holder_leaves_the_new_holder_alone(
    store: DynamoDBIdempotencyStore, clock: Clock
) -> None:
    [old] = store.claim([KEY], lease_seconds=10)
    clock.now += 11
    [new] = store.claim([KEY], lease_seconds=60)
    store.release([_claimed(old)])
    record = store.lookup(KEY)
    assert record is not None
    assert record["owner"] == _claimed(new).owner


def test_unknown_outcome_waits_for_the_search_delay_then_searches_first(
    store: DynamoDBIdempotencyStore, clock: Clock
) -> None:
    [claim] = store.claim([KEY], lease_seconds=60)
    assert store.mark_unknown([_claimed(claim)], search_after=5) == [None]
    assert store.lookup(KEY)["status"] == UNKNOWN  # type: ignore[index]
    clock.now += 2
    assert store.claim([KEY], lease_seconds=60) == [InFlightElsewhere(KEY, retry_after=3.0)]
    clock.now += 3
    [again] = store.claim([KEY], lease_seconds=60)
    assert _claimed(again).search_first is True


def test_many_keys_are_claimed_in_one_call_in_order(store: DynamoDBIdempotencyStore) -> None:
    keys = [IdempotencyKey("jira:tenant-1", f"k{i}") for i in range(12)]
    [done] = store.claim([keys[3]], lease_seconds=60)
    store.complete([(_claimed(done), ISSUE)])
    claims = store.claim(keys, lease_seconds=60)
    assert [c.key for c in claims] == keys
    assert claims[3] == AlreadyCreated(keys[3], ISSUE)
    assert all(isinstance(c, Claimed) and not c.search_first for i, c in enumerate(claims) if i != 3)


def test_same_key_in_two_tenants_is_two_records(store: DynamoDBIdempotencyStore) -> None:
    other = IdempotencyKey("jira:tenant-2", KEY.key)
    claims = store.claim([KEY, other], lease_seconds=60)
    assert all(isinstance(c, Claimed) for c in claims)


def test_concurrent_claimants_exactly_one_wins(store: DynamoDBIdempotencyStore) -> None:
    # Many rounds: a race that a single round would hide shows up here (moto's server needs
    # devstack's DynamoDB serialisation for this; DynamoDB itself guarantees it).
    for round_number in range(30):
        key = IdempotencyKey("jira:tenant-1", f"race-{round_number}")
        results: list[object] = []
        barrier = threading.Barrier(4)

        def contend(
            key: IdempotencyKey = key, results: list[object] = results, barrier: threading.Barrier = barrier
        ) -> None:
            barrier.wait()
            results.extend(store.claim([key], lease_seconds=60))

        threads = [threading.Thread(target=contend) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sum(isinstance(r, Claimed) for r in results) == 1
        assert sum(isinstance(r, InFlightElsewhere) for r in results) == 3


def test_concurrent_takeovers_of_an_abandoned_claim_exactly_one_wins(
    store: DynamoDBIdempotencyStore, clock: Clock
) -> None:
    for round_number in range(15):
        key = IdempotencyKey("jira:tenant-1", f"abandoned-{round_number}")
        store.claim([key], lease_seconds=10)
        clock.now += 11  # the holder crashed; its lease is over
        results: list[object] = []
        barrier = threading.Barrier(4)

        def contend(
            key: IdempotencyKey = key, results: list[object] = results, barrier: threading.Barrier = barrier
        ) -> None:
            barrier.wait()
            results.extend(store.claim([key], lease_seconds=60))

        threads = [threading.Thread(target=contend) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = [r for r in results if isinstance(r, Claimed)]
        assert len(winners) == 1
        assert winners[0].search_first is True


def test_settling_errors_are_returned_not_raised(aws: MotoServer, clock: Clock) -> None:
    store = DynamoDBIdempotencyStore(boto3.client("dynamodb"), "no-such-table", clock=clock)
    claim = Claimed(KEY, search_first=False, owner="x")
    [error] = store.complete([(claim, ISSUE)])
    assert error is not None
    store.close()


def test_record_ids_cannot_collide_across_the_separator() -> None:
    assert record_id(IdempotencyKey("jira:a#b", "c")) != record_id(IdempotencyKey("jira:a", "b#c"))


def test_long_record_ids_are_hashed_under_the_partition_key_limit() -> None:
    long_id = record_id(IdempotencyKey("x" * 300, "y" * 800))
    assert long_id.startswith("issue#sha256#")
    assert len(long_id.encode()) <= 1024


def test_a_failed_claim_gives_back_the_keys_it_did_claim(aws: MotoServer, clock: Clock) -> None:
    class Flaky(DynamoDBIdempotencyStore):
        def _claim_one(self, key: IdempotencyKey, owner: str, lease_seconds: float) -> Claim:
            if key.key == "broken":
                raise RuntimeError("DynamoDB is down for this one")
            return super()._claim_one(key, owner, lease_seconds)

    client = boto3.client("dynamodb")
    create_table(client, TABLE)
    plain = DynamoDBIdempotencyStore(client, TABLE, clock=clock)
    abandoned = IdempotencyKey("jira:tenant-1", "abandoned")
    plain.claim([abandoned], lease_seconds=10)
    clock.now += 11
    flaky = Flaky(client, TABLE, clock=clock)

    with pytest.raises(RuntimeError):
        flaky.claim([KEY, abandoned, IdempotencyKey("jira:tenant-1", "broken")], lease_seconds=60)

    assert plain.lookup(KEY) is None  # free again
    [again] = plain.claim([abandoned], lease_seconds=60)
    assert _claimed(again).search_first is True  # still searched for first
    plain.close()
    flaky.close()


def _count_requests(client: Any) -> Counter[str]:
    """The DynamoDB operations ``client`` sends from now on, by name (botocore's own event hooks)."""
    sent: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        sent[model.name] += 1

    client.meta.events.register("before-call.dynamodb", count)
    return sent


def test_fresh_keys_are_claimed_in_one_transaction(aws: MotoServer, clock: Clock) -> None:
    client = boto3.client("dynamodb")
    create_table(client, TABLE)
    store = DynamoDBIdempotencyStore(client, TABLE, clock=clock)
    sent = _count_requests(client)
    keys = [IdempotencyKey(f"jira:tenant-{i % 3}", f"fresh-{i}") for i in range(150)]

    claims = store.claim(keys, lease_seconds=60)

    assert [_claimed(c).search_first for c in claims] == [False] * len(keys)
    assert sent == Counter({"TransactWriteItems": 2})  # 100 + 50
    assert {_claimed(c).owner for c in claims} == {store.lookup(k)["owner"] for k in keys}  # type: ignore[index]
    store.close()


def test_a_key_with_a_record_sends_its_transaction_one_by_one(aws: MotoServer, clock: Clock) -> None:
    client = boto3.client("dynamodb")
    create_table(client, TABLE)
    store = DynamoDBIdempotencyStore(client, TABLE, clock=clock)
    keys = [IdempotencyKey("jira:tenant-1", f"k{i}") for i in range(5)]
    [held] = store.claim([keys[1]], lease_seconds=30)
    [done] = store.claim([keys[3]], lease_seconds=30)
    store.complete([(_claimed(done), ISSUE)])
    sent = _count_requests(client)

    claims = store.claim(keys, lease_seconds=60)

    assert claims[1] == InFlightElsewhere(keys[1], retry_after=30.0)
    assert claims[3] == AlreadyCreated(keys[3], ISSUE)
    assert all(_claimed(claims[i]).search_first is False for i in (0, 2, 4))
    assert sent["TransactWriteItems"] == 1  # cancelled by the two keys with records,
    assert sent["PutItem"] == 5  # then one by one
    assert store.lookup(keys[1])["owner"] == _claimed(held).owner  # type: ignore[index]
    store.close()


def test_a_committed_transaction_whose_answer_was_lost_is_still_ours(aws: MotoServer, clock: Clock) -> None:
    client = boto3.client("dynamodb")
    create_table(client, TABLE)
    store = DynamoDBIdempotencyStore(client, TABLE, clock=clock)

    def lose_the_answer(**_: Any) -> None:
        raise ReadTimeoutError(endpoint_url="dynamodb")  # after DynamoDB committed the transaction

    client.meta.events.register("after-call.dynamodb.TransactWriteItems", lose_the_answer)
    keys = [IdempotencyKey("jira:tenant-1", f"lost-{i}") for i in range(4)]

    claims = store.claim(keys, lease_seconds=60)

    assert all(_claimed(c).search_first is False for c in claims)
    assert {store.lookup(k)["owner"] for k in keys} == {_claimed(claims[0]).owner}  # type: ignore[index]
    store.close()


def test_concurrent_batch_claims_win_each_key_once(aws: MotoServer, clock: Clock) -> None:
    client = boto3.client("dynamodb")
    create_table(client, TABLE)
    stores = [DynamoDBIdempotencyStore(client, TABLE, clock=clock) for _ in range(3)]
    for round_number in range(10):
        # Overlapping batches: each claimant's keys share some with the others'.
        keys = [IdempotencyKey("jira:tenant-1", f"batch-{round_number}-{i}") for i in range(12)]
        batches = [keys[0:8], keys[4:12], keys[2:10]]
        results: list[list[Claim]] = [[] for _ in stores]
        barrier = threading.Barrier(len(stores))

        def contend(
            n: int,
            batch: list[IdempotencyKey],
            results: list[list[Claim]] = results,
            barrier: threading.Barrier = barrier,
        ) -> None:
            barrier.wait()
            results[n].extend(stores[n].claim(batch, lease_seconds=60))

        threads = [threading.Thread(target=contend, args=(n, b)) for n, b in enumerate(batches)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = Counter(c.key for claims in results for c in claims if isinstance(c, Claimed))
        assert winners == Counter(keys)  # every key claimed, none twice
    for store in stores:
        store.close()


def test_a_key_twice_in_one_call_is_refused(store: DynamoDBIdempotencyStore) -> None:
    with pytest.raises(ValueError, match="at most once"):
        store.claim([KEY, IdempotencyKey(KEY.client_key, KEY.key)], lease_seconds=60)
