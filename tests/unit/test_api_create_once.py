"""create_issue_once, the HTTP API's exactly-once create, against fakes of the store and the Jira client:
each claim answer and each failure settles the idempotency record as the worker would."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from jira_connect.batch import DeliveryInProgress, IdempotencyStoreUnavailable
from jira_connect.create_once import IssueOutcome, create_issue_once
from jira_connect.errors import (
    IssueCreatorError,
    JiraBadRequest,
    RateLimited,
    ResponseTimeout,
)
from jira_connect.idempotency_property import IDEMPOTENCY_PROPERTY_KEY
from jira_connect.idempotency_store import (
    AlreadyCreated,
    Claim,
    Claimed,
    IdempotencyKey,
    InFlightElsewhere,
    IssueRef,
)
from jira_connect.jira_answers import CreatedIssue

KEY = IdempotencyKey("jira:1", "alert-1")
ISSUE = {"fields": {"summary": "Disk full"}}
CREATED = CreatedIssue(id="10000", key="OPS-1", self="https://x.atlassian.net/rest/api/3/issue/10000")


@dataclass
class FakeStore:
    answer: Claim | Exception
    settled: list[tuple[str, Any]] = field(default_factory=list)

    def claim(self, keys: Sequence[IdempotencyKey], *, lease_seconds: float) -> list[Claim]:
        if isinstance(self.answer, Exception):
            raise self.answer
        return [self.answer]

    def complete(self, done: Sequence[tuple[Claimed, IssueRef]]) -> list[Exception | None]:
        self.settled.extend(("complete", issue) for _, issue in done)
        return [None] * len(done)

    def release(self, claims: Sequence[Claimed]) -> list[Exception | None]:
        self.settled.extend(("release", None) for _ in claims)
        return [None] * len(claims)

    def mark_unknown(self, claims: Sequence[Claimed], *, search_after: float) -> list[Exception | None]:
        self.settled.extend(("mark_unknown", search_after) for _ in claims)
        return [RuntimeError("DynamoDB down")] * len(claims)  # never raised, only logged


@dataclass
class FakeJira:
    create: CreatedIssue | BaseException = CREATED
    found: list[str] | IssueCreatorError = field(default_factory=list)
    sent: list[Mapping[str, Any]] = field(default_factory=list)
    searched: int = 0

    def create_issue(self, issue: Mapping[str, Any], *, deadline: Any = None) -> CreatedIssue:
        self.sent.append(issue)
        if isinstance(self.create, BaseException):
            raise self.create
        return self.create

    def find_issues_by_property(self, key: str, path: str, value: str, *, deadline: Any = None) -> list[str]:
        assert (key, value) == (IDEMPOTENCY_PROPERTY_KEY, KEY.key)
        self.searched += 1
        if isinstance(self.found, IssueCreatorError):
            raise self.found
        return self.found

    def create_issues(self, issues: Any, *, deadline: Any = None) -> Any:
        raise AssertionError("one issue, one create")

    def as_user(self, account_id: str) -> Any:
        raise AssertionError("the caller chooses the principal")


def run(store: FakeStore, jira: FakeJira) -> IssueOutcome:
    return create_issue_once(jira, store, KEY, ISSUE, lease_seconds=40, search_delay=10)


def claimed(*, search_first: bool = False) -> Claimed:
    return Claimed(KEY, search_first=search_first, owner="o")


def test_a_fresh_key_creates_with_the_property_and_completes() -> None:
    store, jira = FakeStore(claimed()), FakeJira()
    assert run(store, jira) == IssueOutcome("OPS-1", "10000", url=CREATED.self)
    [sent] = jira.sent
    assert sent["properties"][-1]["key"] == IDEMPOTENCY_PROPERTY_KEY
    assert "properties" not in ISSUE
    assert store.settled == [("complete", IssueRef("OPS-1", "10000"))]
    assert jira.searched == 0


def test_an_already_created_key_replays_without_calling_jira() -> None:
    store, jira = FakeStore(AlreadyCreated(KEY, IssueRef("OPS-7", "10007"))), FakeJira()
    assert run(store, jira) == IssueOutcome("OPS-7", "10007", replayed=True)
    assert (jira.sent, store.settled) == ([], [])


def test_a_held_key_is_delivery_in_progress_with_the_wait() -> None:
    with pytest.raises(DeliveryInProgress) as caught:
        run(FakeStore(InFlightElsewhere(KEY, retry_after=12.5)), FakeJira())
    assert caught.value.retry_after == 12.5


def test_a_claim_that_cannot_be_written_sends_nothing_to_jira() -> None:
    jira = FakeJira()
    with pytest.raises(IdempotencyStoreUnavailable):
        run(FakeStore(RuntimeError("throttled")), jira)
    assert jira.sent == []


def test_search_first_finds_the_issue_of_an_earlier_attempt() -> None:
    store, jira = FakeStore(claimed(search_first=True)), FakeJira(found=["OPS-3"])
    assert run(store, jira) == IssueOutcome("OPS-3", None, replayed=True)
    assert jira.sent == []
    assert store.settled == [("complete", IssueRef("OPS-3"))]


def test_search_first_that_finds_nothing_creates() -> None:
    store, jira = FakeStore(claimed(search_first=True)), FakeJira(found=[])
    assert run(store, jira).key == "OPS-1"
    assert jira.searched == 1


@pytest.mark.parametrize(
    ("claim", "jira", "settled"),
    [
        # Jira surely did not create it: the key is free again.
        (claimed(), FakeJira(create=JiraBadRequest("400", status=400)), "release"),
        (claimed(), FakeJira(create=RateLimited("429", status=429)), "release"),
        (claimed(search_first=True), FakeJira(create=RateLimited("429", status=429)), "release"),
        # It may exist: the next attempt searches first.
        (claimed(), FakeJira(create=ResponseTimeout("sent, no answer")), "mark_unknown"),
        (claimed(search_first=True), FakeJira(found=RateLimited("429 on search")), "mark_unknown"),
        (claimed(), FakeJira(create=KeyError("a bug")), "mark_unknown"),
    ],
    ids=["400", "429", "429-after-search", "timeout", "search-failed", "bug"],
)
def test_failures_settle_the_record_and_are_raised(claim: Claimed, jira: FakeJira, settled: str) -> None:
    store = FakeStore(claim)
    with pytest.raises((IssueCreatorError, KeyError)):
        run(store, jira)
    assert [what for what, _ in store.settled] == [settled]
    if settled == "mark_unknown":
        assert store.settled[0][1] == 10
