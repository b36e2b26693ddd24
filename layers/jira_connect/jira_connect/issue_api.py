"""What the HTTP API does, one method per route: the tenant's projects, and issues created now or queued.

Built once per execution environment by the function module (functions/api/app.py), which hands each
method the request's parsed parameters and the seconds its invocation has left; errors are the taxonomy's
(:mod:`jira_connect.errors`) plus :class:`DeliveryInProgress` / :class:`IdempotencyStoreUnavailable`
(:mod:`jira_connect.batch`) and :class:`MessageTooLarge`, and the function turns them into HTTP answers.

* Projects: one page of Jira's ``project/search`` when ``start_at`` or ``max_results`` is given, otherwise
  every page gathered, up to :data:`MAX_GATHERED_PROJECTS` (then ``isLast`` is false: page on from there).
* Create now: the body is checked against the issue message contract, the tenant is looked up (an
  uninstalled tenant is refused before anything else), then the issue is created, exactly once per
  ``Idempotency-Key`` (:mod:`jira_connect.create_once`, the worker's records and rules), or plainly when no
  key is given.
* Create later: the same checks, then the issue message (the contract's envelope around the body) is sent
  to the issue queue for the worker; on a FIFO queue the message group is the clientKey and the
  deduplication id is derived from the idempotency key.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final, Protocol

from jira_connect.api_settings import ApiSettings
from jira_connect.create_once import IssueOutcome, create_issue_once
from jira_connect.errors import ActAsUserUnavailable, InvalidMessage
from jira_connect.idempotency_store import LEASE_MARGIN_SECONDS, IdempotencyKey
from jira_connect.issue_message import validate_issue_message
from jira_connect.jira_client import JiraClient, JiraClients
from jira_connect.worker import IdempotencyStore

__all__ = [
    "MAX_GATHERED_PROJECTS",
    "MAX_MESSAGE_BYTES",
    "Enqueued",
    "IssueApi",
    "IssueOutcome",
    "MessageTooLarge",
    "ProjectList",
]

#: Projects gathered across pages for one answer: about 0.6 MB of JSON, well inside Lambda's 6 MB response.
MAX_GATHERED_PROJECTS: Final = 1000
#: Jira's largest project/search page.
PROJECT_PAGE_SIZE: Final = 100
#: SQS's limit for one message (body and attributes; the API sends no attributes).
MAX_MESSAGE_BYTES: Final = 256 * 1024
#: Kept free after the deadline for the idempotency record and the response.
SETTLE_MARGIN_SECONDS: Final = 1.0


class MessageTooLarge(InvalidMessage):
    """The issue message would exceed SQS's size limit."""


class IssueQueueLike(Protocol):
    """What the API needs of :class:`jira_connect.issue_queue.SqsIssueQueue`."""

    def send(self, body: str, *, group_id: str | None = None, deduplication_id: str | None = None) -> str: ...


@dataclass(frozen=True)
class ProjectList:
    """Projects in Jira's page shape; ``total`` is None when Jira did not count them."""

    values: list[dict[str, Any]]
    start_at: int
    max_results: int
    total: int | None
    is_last: bool


@dataclass(frozen=True)
class Enqueued:
    message_id: str
    idempotency_key: str | None


class IssueApi:
    """Built once per execution environment; every method serves one request."""

    def __init__(
        self,
        *,
        settings: ApiSettings,
        clients: JiraClients,
        store: IdempotencyStore,
        queue: IssueQueueLike,
    ) -> None:
        self.settings = settings
        self._clients = clients
        self._store = store
        self._queue = queue

    # --- projects ---

    def projects(
        self,
        client_key: str,
        *,
        start_at: int | None,
        max_results: int | None,
        query: str | None,
        remaining: Callable[[], float],
    ) -> ProjectList:
        """One page when ``start_at`` or ``max_results`` is given; otherwise every page, up to the cap."""
        client = self._clients.for_tenant(client_key)
        deadline = self._deadline(remaining)
        if start_at is not None or max_results is not None:
            page = client.project_page(
                start_at or 0, max_results or PROJECT_PAGE_SIZE, query=query, deadline=deadline
            )
            values = [v for v in page.get("values") or [] if isinstance(v, dict)]
            total = page.get("total")
            return ProjectList(
                values=values,
                start_at=_int(page.get("startAt"), start_at or 0),
                max_results=_int(page.get("maxResults"), max_results or PROJECT_PAGE_SIZE),
                total=total if isinstance(total, int) else None,
                is_last=bool(page.get("isLast", True)),
            )
        gathered = list(
            itertools.islice(
                client.iter_projects(query=query, page_size=PROJECT_PAGE_SIZE, deadline=deadline),
                MAX_GATHERED_PROJECTS + 1,
            )
        )
        complete = len(gathered) <= MAX_GATHERED_PROJECTS
        values = gathered[:MAX_GATHERED_PROJECTS]
        return ProjectList(
            values=values,
            start_at=0,
            max_results=len(values),
            total=len(values) if complete else None,
            is_last=complete,
        )

    def project(self, client_key: str, key_or_id: str, *, remaining: Callable[[], float]) -> dict[str, Any]:
        return self._clients.for_tenant(client_key).get_project(key_or_id, deadline=self._deadline(remaining))

    # --- issues ---

    def create_issue(
        self,
        client_key: str,
        issue: Mapping[str, Any],
        *,
        idempotency_key: str | None,
        act_as_user: str | None,
        remaining: Callable[[], float],
    ) -> IssueOutcome:
        """Create the issue now; with ``idempotency_key``, at most once for that key (and replay it)."""
        validate_issue_message(_message(client_key, issue, idempotency_key, act_as_user))
        client = self._client(client_key, act_as_user)
        deadline = self._deadline(remaining)
        if idempotency_key is None:
            created = client.create_issue(issue, deadline=deadline)
            return IssueOutcome(created.key, created.id, url=created.self)
        outcome = create_issue_once(
            client,
            self._store,
            IdempotencyKey(client_key, idempotency_key),
            issue,
            # Outlives this invocation, and covers Jira's index lag for whoever searches after it.
            lease_seconds=max(0.0, remaining()) + LEASE_MARGIN_SECONDS + self.settings.index_lag_seconds,
            search_delay=self.settings.index_lag_seconds,
            deadline=deadline,
        )
        if outcome.url is None:
            outcome = replace(outcome, url=self._issue_url(client, outcome))
        return outcome

    def enqueue_issue(
        self,
        client_key: str,
        issue: Mapping[str, Any],
        *,
        idempotency_key: str | None,
        act_as_user: str | None,
    ) -> Enqueued:
        """Check the message and the tenant now, then leave the create to the worker."""
        document = _message(client_key, issue, idempotency_key, act_as_user)
        validate_issue_message(document)
        self._client(client_key, act_as_user)
        body = json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        size = len(body.encode("utf-8"))
        if size > MAX_MESSAGE_BYTES:
            # Only reachable when re-serialising grew the body (1e5 -> 100000.0): say which limit it was.
            raise MessageTooLarge(
                f"the issue message is {size} bytes, "
                f"over the issue queue's limit of {MAX_MESSAGE_BYTES} bytes"
            )
        group_id = dedup_id = None
        if self.settings.fifo:
            group_id = client_key
            dedup_id = _deduplication_id(client_key, idempotency_key)
        message_id = self._queue.send(body, group_id=group_id, deduplication_id=dedup_id)
        return Enqueued(message_id, idempotency_key)

    # --- helpers ---

    def _client(self, client_key: str, act_as_user: str | None) -> JiraClient:
        """The tenant's client, once the tenant is known, installed and allowed (an early, clear refusal)."""
        client = self._clients.for_tenant(client_key)
        tenant = client.tenant()
        if act_as_user is None:
            return client
        if not tenant.oauth_client_id:
            raise ActAsUserUnavailable(
                f"tenant {client_key!r} has no oauthClientId in its installation, "
                "so the app cannot act as a user there"
            )
        return client.as_user(act_as_user)

    def _deadline(self, remaining: Callable[[], float]) -> Callable[[], float]:
        # A retry may only start if a whole Jira request, and settling afterwards, still fits.
        budget = self.settings.call_budget + SETTLE_MARGIN_SECONDS
        return lambda: remaining() - budget

    def _issue_url(self, client: JiraClient, outcome: IssueOutcome) -> str:
        # Jira's ``self`` for an issue the idempotency record remembers only by key and id.
        version = self.settings.jira.jira_api_version
        return f"{client.tenant().base_url}/rest/api/{version}/issue/{outcome.id or outcome.key}"


def _message(
    client_key: str, issue: Mapping[str, Any], idempotency_key: str | None, act_as_user: str | None
) -> dict[str, Any]:
    """The issue message contract's document for this request."""
    document: dict[str, Any] = {"clientKey": client_key, "issue": dict(issue)}
    if idempotency_key is not None:
        document["idempotencyKey"] = idempotency_key
    if act_as_user is not None:
        document["actAsUser"] = act_as_user
    return document


def _deduplication_id(client_key: str, idempotency_key: str | None) -> str:
    # SQS allows 128 characters; a digest fits any key. No key: every request is its own message.
    if idempotency_key is None:
        return uuid.uuid4().hex
    return hashlib.sha256(f"{client_key}\0{idempotency_key}".encode()).hexdigest()


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
