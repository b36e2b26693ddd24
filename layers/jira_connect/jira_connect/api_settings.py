"""The HTTP API function's configuration: read once from the environment, typed, failing fast.

The Jira client's settings (:class:`jira_connect.settings.Settings`: ``TENANT_SECRET_PREFIX``,
``JIRA_API_VERSION``, ``JIRA_ALLOWED_HOSTS``, timeouts ...) plus:

==============================  ======================================================================
``ISSUE_QUEUE_URL``             the issue queue (required): ``Prefer: respond-async`` creates go there.
                                A URL ending in ``.fifo`` makes each message's group its clientKey.
``IDEMPOTENCY_TABLE``           the worker's idempotency table (required): an ``Idempotency-Key`` is
                                claimed there, so the API and the worker deduplicate against each other
``JIRA_INDEX_LAG_SECONDS``      how long Jira's search may lag behind a create (default 10); the same
                                value as the worker's, since both settle the same records
``IDEMPOTENCY_TTL_SECONDS``     how long an idempotency record is kept (default 604800: 7 days)
==============================  ======================================================================

The defaults and bounds it shares with the worker (index lag, lease margin, record TTL) are defined once, in
:mod:`jira_connect.idempotency_store`; :mod:`jira_connect.worker_settings` is not imported here: it reads
the worker's own variables, which this function does not set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from jira_connect.idempotency_store import (
    DEFAULT_INDEX_LAG_SECONDS,
    DEFAULT_TTL_SECONDS,
    FIFO_SUFFIX,
    MIN_TTL_SECONDS,
)
from jira_connect.settings import Settings, seconds_setting, whole_number_setting

__all__ = ["ApiSettings"]

#: Required through ``Settings.require``, which the template check cannot see as reads.
ENV_VARS = ("ISSUE_QUEUE_URL", "IDEMPOTENCY_TABLE")


@dataclass(frozen=True)
class ApiSettings:
    jira: Settings
    issue_queue_url: str
    idempotency_table: str
    index_lag_seconds: float = DEFAULT_INDEX_LAG_SECONDS
    idempotency_ttl_seconds: int = DEFAULT_TTL_SECONDS

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> ApiSettings:
        """Parse every variable; the first bad one raises ``SettingsError`` naming it."""
        jira = Settings.from_env(environ)
        return cls(
            jira=jira,
            issue_queue_url=jira.require("issue_queue_url"),
            idempotency_table=jira.require("idempotency_table"),
            index_lag_seconds=seconds_setting(
                environ, "JIRA_INDEX_LAG_SECONDS", DEFAULT_INDEX_LAG_SECONDS, allow_zero=True
            ),
            idempotency_ttl_seconds=whole_number_setting(
                environ, "IDEMPOTENCY_TTL_SECONDS", DEFAULT_TTL_SECONDS, minimum=MIN_TTL_SECONDS
            ),
        )

    @property
    def fifo(self) -> bool:
        return self.issue_queue_url.endswith(FIFO_SUFFIX)

    @property
    def call_budget(self) -> float:
        """Seconds one Jira request may take (connect + read timeout)."""
        return self.jira.jira_connect_timeout + self.jira.jira_read_timeout
