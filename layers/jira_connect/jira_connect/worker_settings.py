"""The issue worker's configuration: read once from the environment, typed, failing fast.

The Jira client's settings (:class:`jira_connect.settings.Settings`: ``TENANT_SECRET_PREFIX``,
``JIRA_API_VERSION``, ``JIRA_ALLOWED_HOSTS``, timeouts, ``MAX_ATTEMPTS`` ...) plus:

==============================  ======================================================================
``ISSUE_QUEUE_URL``             the issue queue (required): throttled messages are re-sent to it and
                                visibility timeouts set on it. A URL ending in ``.fifo`` switches the
                                worker to in-order processing per message group.
``DLQ_URL``                     the dead-letter queue (required)
``IDEMPOTENCY_TABLE``           the DynamoDB table of idempotency records (required)
``MAX_ATTEMPTS``                attempts before the worker dead-letters a message itself (default 5);
                                must be below the queue's ``maxReceiveCount`` (template.yaml sets it)
``JIRA_INDEX_LAG_SECONDS``      how long Jira's search may lag behind a create (default 10): an
                                ambiguous outcome is searched for no sooner
``MAX_THROTTLE_DEFERRALS``      re-sends for throttling before giving up (default 96: a day at 15 min)
``WORKER_CONCURRENCY``          threads serving tenants at once (default 16)
``TENANT_CONCURRENCY``          concurrent Jira requests per tenant (default 4)
``MAX_INLINE_WAIT_SECONDS``     longest in-process wait before a Jira retry (default 2); longer waits
                                happen in the queue
``IDEMPOTENCY_TTL_SECONDS``     how long an idempotency record is kept (default 604800: 7 days)
==============================  ======================================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from jira_connect.batch import RedeliveryPolicy
from jira_connect.idempotency_store import (
    DEFAULT_INDEX_LAG_SECONDS,
    DEFAULT_TTL_SECONDS,
    FIFO_SUFFIX,
    LEASE_MARGIN_SECONDS,
    MIN_TTL_SECONDS,
)
from jira_connect.settings import Settings, seconds_setting, whole_number_setting
from jira_connect.worker import WorkerOptions

__all__ = ["WorkerSettings"]

DEFAULT_MAX_THROTTLE_DEFERRALS = 96
DEFAULT_CONCURRENCY = 16
DEFAULT_TENANT_CONCURRENCY = 4
DEFAULT_MAX_INLINE_WAIT = 2.0


@dataclass(frozen=True)
class WorkerSettings:
    jira: Settings
    issue_queue_url: str
    dlq_url: str
    idempotency_table: str
    index_lag_seconds: float = DEFAULT_INDEX_LAG_SECONDS
    max_throttle_deferrals: int = DEFAULT_MAX_THROTTLE_DEFERRALS
    concurrency: int = DEFAULT_CONCURRENCY
    tenant_concurrency: int = DEFAULT_TENANT_CONCURRENCY
    max_inline_wait_seconds: float = DEFAULT_MAX_INLINE_WAIT
    idempotency_ttl_seconds: int = DEFAULT_TTL_SECONDS

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> WorkerSettings:
        """Parse every variable; the first bad one raises :class:`SettingsError` naming it."""
        jira = Settings.from_env(environ)
        return cls(
            jira=jira,
            issue_queue_url=jira.require("issue_queue_url"),
            dlq_url=jira.require("dlq_url"),
            idempotency_table=jira.require("idempotency_table"),
            index_lag_seconds=seconds_setting(
                environ, "JIRA_INDEX_LAG_SECONDS", DEFAULT_INDEX_LAG_SECONDS, allow_zero=True
            ),
            max_throttle_deferrals=whole_number_setting(
                environ, "MAX_THROTTLE_DEFERRALS", DEFAULT_MAX_THROTTLE_DEFERRALS, minimum=0
            ),
            concurrency=whole_number_setting(environ, "WORKER_CONCURRENCY", DEFAULT_CONCURRENCY),
            tenant_concurrency=whole_number_setting(
                environ, "TENANT_CONCURRENCY", DEFAULT_TENANT_CONCURRENCY
            ),
            max_inline_wait_seconds=seconds_setting(
                environ, "MAX_INLINE_WAIT_SECONDS", DEFAULT_MAX_INLINE_WAIT, allow_zero=True
            ),
            idempotency_ttl_seconds=whole_number_setting(
                environ, "IDEMPOTENCY_TTL_SECONDS", DEFAULT_TTL_SECONDS, minimum=MIN_TTL_SECONDS
            ),
        )

    @property
    def fifo(self) -> bool:
        return self.issue_queue_url.endswith(FIFO_SUFFIX)

    def worker_options(self) -> WorkerOptions:
        policy = RedeliveryPolicy(
            max_attempts=self.jira.max_attempts,
            max_throttle_deferrals=self.max_throttle_deferrals,
            search_delay=self.index_lag_seconds,
            fifo=self.fifo,
        )
        return WorkerOptions(
            policy=policy,
            concurrency=self.concurrency,
            tenant_concurrency=self.tenant_concurrency,
            max_inline_wait=self.max_inline_wait_seconds,
            call_budget=self.jira.jira_connect_timeout + self.jira.jira_read_timeout,
            lease_margin=LEASE_MARGIN_SECONDS,
        )
