"""The issue worker: one SQS batch in, Jira issues created exactly once, one outcome per message out.

The handler (functions/issue_worker/app.py) calls :meth:`IssueWorker.process` once per batch, then lets
Powertools' batch processor report the outcomes whose ``failed`` is true in ``batchItemFailures``.
Everything else is settled here: issues created, duplicates recognised, dead letters sent, throttled
messages re-sent with a delay, failed ones given the visibility timeout to come back with.

Standard queue, per batch:

1. Parse every body against the contract (:mod:`jira_connect.issue_message`). Invalid -> dead letter.
2. Messages with the same (clientKey, idempotency key) in one batch: the first goes on, the others wait
   for its outcome (and share its issue when it succeeds).
3. Claim every key in the idempotency table at once (:mod:`jira_connect.idempotency_store`), for a lease
   longer than this invocation can last. Already created -> deduplicated, without calling Jira. Held by
   another attempt -> retry when its lease ends.
4. Group the claimed messages by tenant. Each tenant gets up to ``tenant_concurrency`` lanes on a pool of
   ``concurrency`` threads, so tenants are served at the same time and a slow or throttled tenant holds
   up only its own lanes. A lane works through *units*: up to 50 of the tenant's messages for one bulk
   create, or one ``actAsUser`` message for a create as that user.
5. In a unit: a claim marked ``search_first`` (the last attempt crashed, timed out or met an ambiguous
   answer) first searches Jira for the idempotency property; found -> deduplicated. The rest are created,
   each body with the idempotency property added to its ``properties`` (set atomically with the issue).
6. Settle the idempotency records, once for the whole batch (all completions in one BatchWriteItem):
   created or found -> COMPLETED; ambiguous, or not known to be absent -> UNKNOWN (the next attempt
   searches first, after Jira's index lag); otherwise released.
7. Each failure's fate follows :func:`jira_connect.batch.decide`; then, in one SQS call per kind, dead
   letters are sent, throttled messages re-sent, and visibility timeouts set. A message whose dead letter
   or re-send could not be sent is retried instead: it is never acknowledged without going somewhere.

FIFO queue: the same steps, but per message group, one message at a time in order, with single creates;
the group stops at its first failed message and the rest of the group is retried behind it (Powertools'
``SqsFifoPartialProcessor(skip_group_on_error=True)`` reports them). Throttling cannot be deferred per
message on FIFO (no per-message delay), so it is retried with the wait as visibility timeout, and those
receives do count towards ``MAX_ATTEMPTS``.

Where the time goes: one Jira round trip per tenant (bulk), in parallel across tenants, between one
DynamoDB transaction (the claims) and one batch write (the completions). Tenant
records, HTTP sessions, boto3 clients and the thread pool live as long as the execution environment.

Containment: an exception in one unit or group fails only its own messages (as ambiguous: Jira may have
acted, so their next attempt searches first); an unexpected exception anywhere else fails the messages
that have no outcome yet. Nothing is lost: a failed message stays in the queue.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from jira_connect.batch import (
    Action,
    Delivery,
    DeliveryInProgress,
    IdempotencyStoreUnavailable,
    Outcome,
    PrecedingMessageFailed,
    RedeliveryPolicy,
    Uniform,
    WorkerFault,
    decide,
    delivery_from_record,
)
from jira_connect.dead_letter import DeadLetter
from jira_connect.errors import AmbiguousError, InvalidMessage, IssueCreatorError, RetryableError
from jira_connect.idempotency_property import (
    IDEMPOTENCY_PROPERTY_KEY,
    IDEMPOTENCY_PROPERTY_PATH,
    with_idempotency_property,
)
from jira_connect.idempotency_store import (
    AlreadyCreated,
    Claim,
    Claimed,
    IdempotencyKey,
    InFlightElsewhere,
    IssueRef,
)
from jira_connect.issue_message import IssueMessage, client_key_hint, parse_issue_message
from jira_connect.issue_queue import Deferral
from jira_connect.jira_answers import CreatedIssue
from jira_connect.retry_policy import Deadline

__all__ = [
    "BULK_LIMIT",
    "BatchReport",
    "DeadLetterSink",
    "IdempotencyStore",
    "IssueQueue",
    "IssueWorker",
    "JiraClientLike",
    "JiraClientsLike",
    "JiraTiming",
    "NotStartedInTime",
    "WorkerOptions",
]

logger = logging.getLogger(__name__)

#: Jira's bulk create takes at most 50 issues per request.
BULK_LIMIT = 50


# --- the ports ----------------------------------------------------------------------------------------


class JiraClientLike(Protocol):
    """What the worker needs of :class:`jira_connect.jira_client.JiraClient`."""

    def create_issue(self, issue: Mapping[str, Any], *, deadline: Deadline = None) -> CreatedIssue: ...

    def create_issues(
        self, issues: Sequence[Mapping[str, Any]], *, deadline: Deadline = None
    ) -> list[CreatedIssue | IssueCreatorError]: ...

    def find_issues_by_property(
        self, property_key: str, path: str, value: str, *, deadline: Deadline = None
    ) -> list[str]: ...

    def as_user(self, account_id: str) -> JiraClientLike: ...


class JiraClientsLike(Protocol):
    def for_tenant(self, client_key: str) -> JiraClientLike: ...


class IdempotencyStore(Protocol):
    """What the worker needs of :class:`jira_connect.idempotency_store.DynamoDBIdempotencyStore`."""

    def claim(self, keys: Sequence[IdempotencyKey], *, lease_seconds: float) -> list[Claim]: ...

    def complete(self, done: Sequence[tuple[Claimed, IssueRef]]) -> list[Exception | None]: ...

    def release(self, claims: Sequence[Claimed]) -> list[Exception | None]: ...

    def mark_unknown(self, claims: Sequence[Claimed], *, search_after: float) -> list[Exception | None]: ...


class DeadLetterSink(Protocol):
    def send(self, letters: Sequence[DeadLetter]) -> list[str | None]: ...


class IssueQueue(Protocol):
    def defer(self, deferrals: Sequence[Deferral]) -> list[str | None]: ...

    def change_visibility(self, changes: Sequence[tuple[str, int]]) -> list[str | None]: ...


# --- options and results --------------------------------------------------------------------------------


class NotStartedInTime(RetryableError):
    """Too little of the invocation was left to start a Jira request: nothing was sent."""


@dataclass(frozen=True)
class WorkerOptions:
    """How the worker runs (see :class:`jira_connect.worker_settings.WorkerSettings` for the variables)."""

    policy: RedeliveryPolicy = field(default_factory=RedeliveryPolicy)
    #: Threads serving tenants at once, and lanes per tenant.
    concurrency: int = 16
    tenant_concurrency: int = 4
    #: Longest wait the Jira client may spend in-process before a retry; longer waits go back to SQS.
    max_inline_wait: float = 2.0
    #: Seconds one Jira request may take (connect + read timeout): none starts with less time left.
    call_budget: float = 13.05
    #: Added to the invocation's remaining time to make a claim's lease.
    lease_margin: float = 5.0


@dataclass(frozen=True)
class JiraTiming:
    """One Jira call: ``operation`` is bulk_create, create or search; ``issues`` how many it carried;
    ``started`` the worker's clock when it began."""

    client_key: str
    operation: str
    seconds: float
    issues: int
    started: float = 0.0


@dataclass(frozen=True)
class BatchReport:
    """One outcome per record, in the event's order, and the Jira calls made."""

    outcomes: tuple[Outcome, ...]
    jira_timings: tuple[JiraTiming, ...] = ()

    def outcome_for(self, receipt_handle: str) -> Outcome | None:
        # Receipt handles are unique per receive, even if SQS delivers one message twice in a batch.
        return next((o for o in self.outcomes if o.delivery.receipt_handle == receipt_handle), None)

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.failed]


# --- internal state -------------------------------------------------------------------------------------


@dataclass
class _Work:
    index: int
    delivery: Delivery
    message: IssueMessage
    key: IdempotencyKey
    claim: Claimed | None = None


@dataclass(frozen=True)
class _Found:
    """The search found the issue an earlier attempt created."""

    key: str


_Result = CreatedIssue | _Found | IssueCreatorError


@dataclass
class _Attempt:
    """What Jira said for some claimed messages. ``absent``: Jira surely has no issue for the message
    (a fresh claim, or a search that found none), so a failure may release the claim."""

    works: list[_Work] = field(default_factory=list)
    results: dict[int, _Result] = field(default_factory=dict)
    absent: dict[int, bool] = field(default_factory=dict)

    def merge(self, other: _Attempt) -> None:
        self.works.extend(other.works)
        self.results.update(other.results)
        self.absent.update(other.absent)


@dataclass(frozen=True)
class _Unit:
    client_key: str
    works: tuple[_Work, ...]
    act_as_user: str | None = None
    #: One create per message (actAsUser, FIFO) instead of a bulk create.
    single: bool = False


class _Timings:
    def __init__(self) -> None:
        self._items: list[JiraTiming] = []
        self._lock = threading.Lock()

    def add(self, timing: JiraTiming) -> None:
        with self._lock:
            self._items.append(timing)

    def all(self) -> tuple[JiraTiming, ...]:
        with self._lock:
            return tuple(self._items)


# --- the worker -----------------------------------------------------------------------------------------


class IssueWorker:
    """Built once per execution environment; :meth:`process` once per batch."""

    def __init__(
        self,
        *,
        clients: JiraClientsLike,
        store: IdempotencyStore,
        dead_letters: DeadLetterSink,
        queue: IssueQueue,
        options: WorkerOptions | None = None,
        clock: Callable[[], float] = time.monotonic,
        uniform: Uniform = random.uniform,
    ) -> None:
        self._clients = clients
        self._store = store
        self._dead_letters = dead_letters
        self._queue = queue
        self.options = options or WorkerOptions()
        self._clock = clock
        self._uniform = uniform
        self._pool = ThreadPoolExecutor(
            max_workers=self.options.concurrency, thread_name_prefix="issue-worker"
        )

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def process(self, records: Sequence[Mapping[str, Any]], *, remaining: Callable[[], float]) -> BatchReport:
        """Process one batch. ``remaining``: seconds left in the invocation (the Lambda context's)."""
        deliveries = [delivery_from_record(record) for record in records]
        outcomes: dict[int, Outcome] = {}
        timings = _Timings()
        try:
            if self.options.policy.fifo:
                self._process_fifo(deliveries, outcomes, remaining, timings)
            else:
                self._process_standard(deliveries, outcomes, remaining, timings)
        except Exception as e:
            # Only a bug gets here. Whatever has no outcome yet is retried as it is (no dead letter: the
            # code that would send it is what just failed), and searches first next time.
            logger.exception("batch processing failed; messages without an outcome are retried")
            fault = WorkerFault(_fault_text(e))
            delay = math.ceil(self.options.policy.search_delay)
            missing = [i for i in range(len(deliveries)) if i not in outcomes]
            for i in missing:
                outcomes[i] = Outcome(deliveries[i], Action.RETRY, error=fault, delay_seconds=delay)
            self._set_visibility([outcomes[i] for i in missing])
        return BatchReport(tuple(outcomes[i] for i in range(len(deliveries))), timings.all())

    # --- standard queues ---

    def _process_standard(
        self,
        deliveries: Sequence[Delivery],
        outcomes: dict[int, Outcome],
        remaining: Callable[[], float],
        timings: _Timings,
    ) -> None:
        works = self._parse(deliveries, outcomes)
        primaries, followers = _split_duplicates(works)
        claimed = self._claim(primaries, outcomes, remaining)
        lanes = self._lanes(self._units(claimed))
        futures = [self._pool.submit(self._run_lane, lane, remaining, timings) for lane in lanes]
        done = _Attempt()
        for future in futures:
            for attempt in future.result():
                done.merge(attempt)
        # Settled once for the batch: all completions in one BatchWriteItem call.
        outcomes.update(self._settle_store(done))
        for follower, primary in followers:
            outcomes[follower.index] = self._follow(follower, outcomes[primary.index])
        settled = self._settle_sqs([outcomes[i] for i in sorted(outcomes)])
        outcomes.update(zip(sorted(outcomes), settled, strict=True))

    def _parse(self, deliveries: Sequence[Delivery], outcomes: dict[int, Outcome]) -> list[_Work]:
        works: list[_Work] = []
        for index, delivery in enumerate(deliveries):
            work = self._parse_one(index, delivery, outcomes)
            if work is not None:
                works.append(work)
        return works

    def _parse_one(self, index: int, delivery: Delivery, outcomes: dict[int, Outcome]) -> _Work | None:
        try:
            message = parse_issue_message(
                delivery.body,
                message_id=delivery.message_id,
                carried_idempotency_key=delivery.carried_idempotency_key,
            )
        except InvalidMessage as e:
            outcomes[index] = self._decide(delivery, e, client_key=client_key_hint(delivery.body))
            return None
        key = IdempotencyKey(message.client_key, message.idempotency_key)
        return _Work(index, delivery, message, key)

    def _claim(
        self, works: Sequence[_Work], outcomes: dict[int, Outcome], remaining: Callable[[], float]
    ) -> list[_Work]:
        if not works:
            return []
        try:
            claims = self._store.claim([w.key for w in works], lease_seconds=self._lease(remaining))
        except Exception as e:
            logger.exception("idempotency claims failed")
            error = IdempotencyStoreUnavailable(
                f"the idempotency table could not be written: {_fault_text(e)}"
            )
            for work in works:
                outcomes[work.index] = self._decide_work(work, error)
            return []
        claimed: list[_Work] = []
        for work, claim in zip(works, claims, strict=True):
            if isinstance(claim, AlreadyCreated):
                outcomes[work.index] = self._success(work, Action.DEDUPLICATED, claim.issue.key)
            elif isinstance(claim, InFlightElsewhere):
                busy = DeliveryInProgress(
                    "another delivery of this idempotency key is in progress, or waits for Jira's index",
                    retry_after=claim.retry_after,
                )
                outcomes[work.index] = self._decide_work(work, busy)
            else:
                work.claim = claim
                claimed.append(work)
        return claimed

    def _units(self, works: Iterable[_Work], *, single: bool = False) -> dict[str, list[_Unit]]:
        by_tenant: dict[str, list[_Work]] = {}
        for work in works:
            by_tenant.setdefault(work.key.client_key, []).append(work)
        units: dict[str, list[_Unit]] = {}
        for client_key, tenant_works in by_tenant.items():
            plain = [w for w in tenant_works if w.message.act_as_user is None]
            tenant_units = [
                _Unit(client_key, tuple(plain[i : i + BULK_LIMIT]), single=single)
                for i in range(0, len(plain), BULK_LIMIT)
            ]
            tenant_units.extend(
                _Unit(client_key, (w,), act_as_user=w.message.act_as_user, single=True)
                for w in tenant_works
                if w.message.act_as_user is not None
            )
            units[client_key] = tenant_units
        return units

    def _lanes(self, units: Mapping[str, list[_Unit]]) -> list[list[_Unit]]:
        lanes: list[list[_Unit]] = []
        for tenant_units in units.values():
            count = min(self.options.tenant_concurrency, len(tenant_units))
            lanes.extend(tenant_units[i::count] for i in range(count))
        return lanes

    def _run_lane(
        self, lane: Sequence[_Unit], remaining: Callable[[], float], timings: _Timings
    ) -> list[_Attempt]:
        return [self._run_unit(unit, remaining, timings) for unit in lane]

    def _run_unit(self, unit: _Unit, remaining: Callable[[], float], timings: _Timings) -> _Attempt:
        """Search and create one unit; any unexpected error fails only this unit's messages."""
        absent = {w.index: not _claim_of(w).search_first for w in unit.works}
        try:
            results = self._jira(unit, absent, remaining, timings)
        except Exception as e:
            logger.exception("unexpected error while creating issues", extra={"clientKey": unit.client_key})
            fault = WorkerFault(_fault_text(e))
            results = dict.fromkeys((w.index for w in unit.works), fault)
        return _Attempt(list(unit.works), results, absent)

    def _jira(
        self, unit: _Unit, absent: dict[int, bool], remaining: Callable[[], float], timings: _Timings
    ) -> dict[int, _Result]:
        if remaining() < self.options.call_budget:
            late = NotStartedInTime("too little time left in this invocation to call Jira")
            return dict.fromkeys((w.index for w in unit.works), late)
        client = self._clients.for_tenant(unit.client_key)
        if unit.act_as_user is not None:
            client = client.as_user(unit.act_as_user)
        deadline = self._deadline(remaining)
        results: dict[int, _Result] = {}
        to_create: list[_Work] = []
        for work in unit.works:
            if absent[work.index]:
                to_create.append(work)
                continue
            found = self._search(client, work, deadline, timings)
            if isinstance(found, list) and not found:
                absent[work.index] = True
                to_create.append(work)
            else:
                results[work.index] = found if isinstance(found, IssueCreatorError) else _Found(found[0])
        if to_create:
            results.update(self._create(client, unit, to_create, deadline, timings))
        return results

    def _search(
        self, client: JiraClientLike, work: _Work, deadline: Deadline, timings: _Timings
    ) -> list[str] | IssueCreatorError:
        started = self._clock()
        try:
            return client.find_issues_by_property(
                IDEMPOTENCY_PROPERTY_KEY, IDEMPOTENCY_PROPERTY_PATH, work.key.key, deadline=deadline
            )
        except IssueCreatorError as e:
            return e
        finally:
            timings.add(JiraTiming(work.key.client_key, "search", self._clock() - started, 1, started))

    def _create(
        self,
        client: JiraClientLike,
        unit: _Unit,
        works: Sequence[_Work],
        deadline: Deadline,
        timings: _Timings,
    ) -> dict[int, _Result]:
        bodies = [_with_idempotency_property(w) for w in works]
        results: dict[int, _Result] = {}
        started = self._clock()
        if unit.single:
            for work, body in zip(works, bodies, strict=True):
                started = self._clock()
                try:
                    results[work.index] = client.create_issue(body, deadline=deadline)
                except IssueCreatorError as e:
                    results[work.index] = e
                finally:
                    timings.add(JiraTiming(unit.client_key, "create", self._clock() - started, 1, started))
            return results
        created = client.create_issues(bodies, deadline=deadline)
        elapsed = self._clock() - started
        timings.add(JiraTiming(unit.client_key, "bulk_create", elapsed, len(bodies), started))
        logger.info(
            "bulk create",
            extra={
                "clientKey": unit.client_key,
                "issues": len(bodies),
                "issuesCreated": sum(isinstance(r, CreatedIssue) for r in created),
                "elapsedMs": round(elapsed * 1000, 1),
            },
        )
        return {work.index: result for work, result in zip(works, created, strict=True)}

    def _settle_store(self, attempt: _Attempt) -> list[tuple[int, Outcome]]:
        """Write each claim's fate to the idempotency table, and decide each message's outcome."""
        complete: list[tuple[Claimed, IssueRef]] = []
        unknown: list[Claimed] = []
        release: list[Claimed] = []
        done: list[tuple[int, Outcome]] = []
        results, absent = attempt.results, attempt.absent
        for work in attempt.works:
            result = results[work.index]
            claim = _claim_of(work)
            if isinstance(result, CreatedIssue):
                complete.append((claim, IssueRef(key=result.key, id=result.id)))
                done.append((work.index, self._success(work, Action.CREATED, result.key)))
            elif isinstance(result, _Found):
                complete.append((claim, IssueRef(key=result.key, id=None)))
                done.append((work.index, self._success(work, Action.DEDUPLICATED, result.key)))
            else:
                # Unless Jira surely did not create it, the next attempt must search first.
                if isinstance(result, AmbiguousError) or not absent[work.index]:
                    unknown.append(claim)
                else:
                    release.append(claim)
                done.append((work.index, self._decide_work(work, result)))
        if complete:
            self._store.complete(complete)
        if unknown:
            self._store.mark_unknown(unknown, search_after=self.options.policy.search_delay)
        if release:
            self._store.release(release)
        return done

    def _follow(self, follower: _Work, primary: Outcome) -> Outcome:
        """A second message with the same key in this batch shares the first one's success, or waits."""
        if primary.action in (Action.CREATED, Action.DEDUPLICATED) and primary.issue_key is not None:
            return self._success(follower, Action.DEDUPLICATED, primary.issue_key)
        error = DeliveryInProgress(
            "an earlier message in this batch has the same idempotency key and did not succeed",
            retry_after=float(primary.delay_seconds) if primary.delay_seconds else None,
        )
        return self._decide_work(follower, error)

    # --- FIFO queues ---

    def _process_fifo(
        self,
        deliveries: Sequence[Delivery],
        outcomes: dict[int, Outcome],
        remaining: Callable[[], float],
        timings: _Timings,
    ) -> None:
        groups: dict[str, list[int]] = {}
        for index, delivery in enumerate(deliveries):
            groups.setdefault(delivery.group_id or f"#{index}", []).append(index)
        futures = [
            self._pool.submit(self._run_group, [deliveries[i] for i in indexes], indexes, remaining, timings)
            for indexes in groups.values()
        ]
        skipped: list[Outcome] = []
        for future in futures:
            group_outcomes, group_skipped = future.result()
            outcomes.update(group_outcomes)
            skipped.extend(group_skipped)
        self._set_visibility(skipped)

    def _run_group(
        self,
        deliveries: Sequence[Delivery],
        indexes: Sequence[int],
        remaining: Callable[[], float],
        timings: _Timings,
    ) -> tuple[dict[int, Outcome], list[Outcome]]:
        """One message group, in order, one message at a time; the first failure holds back the rest."""
        outcomes: dict[int, Outcome] = {}
        skipped: list[Outcome] = []
        blocker: Outcome | None = None
        for index, delivery in zip(indexes, deliveries, strict=True):
            if blocker is not None:
                error = PrecedingMessageFailed("an earlier message of this message group failed")
                outcome = Outcome(delivery, Action.RETRY, error=error, delay_seconds=blocker.delay_seconds)
                outcomes[index] = outcome
                skipped.append(outcome)
                continue
            try:
                outcome = self._one_in_order(index, delivery, remaining, timings)
            except Exception as e:
                logger.exception("unexpected error in a message group")
                [outcome] = self._settle_sqs([self._decide(delivery, WorkerFault(_fault_text(e)))])
            outcomes[index] = outcome
            if outcome.failed:
                blocker = outcome
        return outcomes, skipped

    def _one_in_order(
        self, index: int, delivery: Delivery, remaining: Callable[[], float], timings: _Timings
    ) -> Outcome:
        found: dict[int, Outcome] = {}
        work = self._parse_one(index, delivery, found)
        if work is not None:
            for claimed in self._claim([work], found, remaining):
                for unit in self._units([claimed], single=True)[claimed.key.client_key]:
                    found.update(self._settle_store(self._run_unit(unit, remaining, timings)))
        # Settled now, before the next message of the group: its order depends on this one's fate.
        [outcome] = self._settle_sqs([found[index]])
        return outcome

    # --- SQS side effects ---

    def _settle_sqs(self, outcomes: Sequence[Outcome]) -> list[Outcome]:
        """Send dead letters and deferrals, then set the visibility of everything retried."""
        settled = list(outcomes)
        dead = [i for i, o in enumerate(settled) if o.action is Action.DEAD_LETTER]
        if dead:
            sent = self._dead_letters.send([DeadLetter.from_outcome(settled[i]) for i in dead])
            for i, failure in zip(dead, sent, strict=True):
                if failure is not None:
                    settled[i] = self._fallback(settled[i], f"the dead-letter queue refused it ({failure})")
        deferred = [i for i, o in enumerate(settled) if o.action is Action.DEFER]
        if deferred:
            sent = self._queue.defer([Deferral.from_outcome(settled[i]) for i in deferred])
            for i, failure in zip(deferred, sent, strict=True):
                if failure is not None:
                    settled[i] = self._fallback(settled[i], f"re-sending it with a delay failed ({failure})")
        self._set_visibility([o for o in settled if o.failed])
        return settled

    def _fallback(self, outcome: Outcome, why: str) -> Outcome:
        logger.error(
            "message kept in the queue", extra={"messageId": outcome.delivery.message_id, "reason": why}
        )
        delay = max(outcome.delay_seconds, math.ceil(self.options.policy.first_backoff))
        return replace(outcome, action=Action.RETRY, delay_seconds=delay, note=why)

    def _set_visibility(self, failed: Sequence[Outcome]) -> None:
        targets = [o for o in failed if o.delivery.receipt_handle]
        if not targets:
            return
        changes = [(o.delivery.receipt_handle, o.delay_seconds) for o in targets]
        for outcome, failure in zip(targets, self._queue.change_visibility(changes), strict=True):
            if failure is not None:
                # The message still comes back, after the queue's own visibility timeout.
                logger.warning(
                    "visibility timeout not set",
                    extra={"messageId": outcome.delivery.message_id, "reason": failure},
                )

    # --- helpers ---

    def _decide(self, delivery: Delivery, error: IssueCreatorError, client_key: str | None = None) -> Outcome:
        return decide(delivery, error, self.options.policy, client_key=client_key, uniform=self._uniform)

    def _decide_work(self, work: _Work, error: IssueCreatorError) -> Outcome:
        return decide(
            work.delivery,
            error,
            self.options.policy,
            client_key=work.key.client_key,
            idempotency_key=work.key.key,
            uniform=self._uniform,
        )

    @staticmethod
    def _success(work: _Work, action: Action, issue_key: str) -> Outcome:
        return Outcome(
            work.delivery,
            action,
            client_key=work.key.client_key,
            idempotency_key=work.key.key,
            issue_key=issue_key,
        )

    def _lease(self, remaining: Callable[[], float]) -> float:
        # Outlives this invocation, and covers Jira's index lag for whoever searches after it.
        return max(0.0, remaining()) + self.options.lease_margin + self.options.policy.search_delay

    def _deadline(self, remaining: Callable[[], float]) -> Callable[[], float]:
        # The client may wait before a retry only if a whole request still fits afterwards, and never
        # longer than max_inline_wait: longer waits are cheaper spent in the queue.
        budget, cap = self.options.call_budget, self.options.max_inline_wait
        return lambda: min(remaining() - budget, cap)


def _split_duplicates(works: Sequence[_Work]) -> tuple[list[_Work], list[tuple[_Work, _Work]]]:
    first: dict[IdempotencyKey, _Work] = {}
    followers: list[tuple[_Work, _Work]] = []
    for work in works:
        primary = first.setdefault(work.key, work)
        if primary is not work:
            followers.append((work, primary))
    return list(first.values()), followers


def _claim_of(work: _Work) -> Claimed:
    assert work.claim is not None, "only claimed work reaches Jira"
    return work.claim


def _with_idempotency_property(work: _Work) -> dict[str, Any]:
    """The message's create body plus the idempotency property; the message itself is not changed."""
    return with_idempotency_property(work.message.issue, work.key.key, work.key.client_key)


def _fault_text(error: BaseException) -> str:
    text = str(error)
    short = text if len(text) <= 200 else text[:200] + "…"
    return f"{type(error).__name__}: {short}" if short else type(error).__name__
