"""Create one issue at most once per (clientKey, idempotency key), synchronously: the HTTP API's create.

The same idempotency records, and the same rules, as the issue worker (:mod:`jira_connect.worker`), so an
HTTP create and a queued message carrying the same key make one issue between them:

1. Claim the key for ``lease_seconds`` (longer than the caller can still run, plus Jira's index lag).
   ``AlreadyCreated`` -> that issue, replayed. ``InFlightElsewhere`` -> :class:`DeliveryInProgress` with
   ``retry_after``: another request or message holds the key right now.
2. A claim marked ``search_first`` (an earlier attempt crashed or met an ambiguous answer) first searches
   Jira for the idempotency property: found -> that issue, replayed, and the record completed.
3. Create the issue with the idempotency property added to its ``properties`` (set atomically with it).
4. Settle the record: created -> COMPLETED; an ambiguous failure, or any failure when Jira is not known
   to lack the issue (the search did not run to the end) -> UNKNOWN, so the next attempt searches first,
   after the index lag; any other failure -> released, so a retry with the same key starts afresh.
   An unexpected exception counts as ambiguous: it is re-raised after the record is marked UNKNOWN.

The worker does steps 2-4 for many messages at once (bulk creates); this module is its one-issue form.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from jira_connect.batch import DeliveryInProgress, IdempotencyStoreUnavailable
from jira_connect.errors import AmbiguousError, IssueCreatorError
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
from jira_connect.retry_policy import Deadline
from jira_connect.worker import IdempotencyStore, JiraClientLike

__all__ = ["IssueOutcome", "create_issue_once"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class IssueOutcome:
    """The issue a create made or found. ``replayed``: an earlier attempt with the same key made it; its
    ``id`` is None when only Jira's search found it (search answers keys). ``url`` is Jira's ``self`` for a
    fresh create, None otherwise (the caller builds it from the tenant's base URL)."""

    key: str
    id: str | None
    url: str | None = None
    replayed: bool = False


def create_issue_once(
    client: JiraClientLike,
    store: IdempotencyStore,
    key: IdempotencyKey,
    issue: Mapping[str, Any],
    *,
    lease_seconds: float,
    search_delay: float,
    deadline: Deadline = None,
) -> IssueOutcome:
    """Steps 1-4 of the module docstring. Raises the taxonomy error of a failed create (after settling
    the record), :class:`DeliveryInProgress` when the key is held, :class:`IdempotencyStoreUnavailable`
    when the claim could not be written (nothing was sent to Jira then)."""
    claim = _claim(store, key, lease_seconds)
    if isinstance(claim, AlreadyCreated):
        return IssueOutcome(claim.issue.key, claim.issue.id, replayed=True)
    if isinstance(claim, InFlightElsewhere):
        raise DeliveryInProgress(
            "another request or queued message with this Idempotency-Key is in progress, or waits for "
            "Jira's search index; retry after the time given",
            retry_after=claim.retry_after,
        )
    absent = not claim.search_first
    try:
        if not absent:
            found = client.find_issues_by_property(
                IDEMPOTENCY_PROPERTY_KEY, IDEMPOTENCY_PROPERTY_PATH, key.key, deadline=deadline
            )
            if found:
                _settle(store.complete([(claim, IssueRef(key=found[0]))]), key, "complete")
                return IssueOutcome(found[0], None, replayed=True)
            absent = True
        created = client.create_issue(
            with_idempotency_property(issue, key.key, key.client_key), deadline=deadline
        )
    except IssueCreatorError as error:
        if isinstance(error, AmbiguousError) or not absent:
            _mark_unknown(store, claim, search_delay)
        else:
            _settle(store.release([claim]), key, "release")
        raise
    except BaseException:
        _mark_unknown(store, claim, search_delay)
        raise
    _settle(store.complete([(claim, IssueRef(key=created.key, id=created.id))]), key, "complete")
    return IssueOutcome(created.key, created.id, url=created.self)


def _claim(store: IdempotencyStore, key: IdempotencyKey, lease_seconds: float) -> Claim:
    try:
        [claim] = store.claim([key], lease_seconds=lease_seconds)
    except Exception as e:
        logger.exception("idempotency claim failed", extra={"clientKey": key.client_key})
        raise IdempotencyStoreUnavailable(
            f"the idempotency table could not be written ({type(e).__name__}); nothing was sent to Jira"
        ) from e
    return claim


def _mark_unknown(store: IdempotencyStore, claim: Claimed, search_delay: float) -> None:
    _settle(store.mark_unknown([claim], search_after=search_delay), claim.key, "mark_unknown")


def _settle(errors: Sequence[Exception | None], key: IdempotencyKey, what: str) -> None:
    # The store never raises here; a record left unwritten expires, after which the next claim searches
    # Jira first, which is safe. Worth a warning, not a failed request.
    for error in errors:
        if error is not None:
            logger.warning(
                "idempotency record not settled",
                extra={"clientKey": key.client_key, "settle": what, "error": type(error).__name__},
            )
