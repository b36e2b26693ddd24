"""The worker's configuration: parsed once, typed, failing fast with the variable's name."""

from __future__ import annotations

import pytest

from jira_connect.settings import SettingsError
from jira_connect.worker_settings import WorkerSettings

BASE = {
    "TENANT_SECRET_PREFIX": "jira-issue-creator/tenants/",
    "ISSUE_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/issues",
    "DLQ_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/issues-dlq",
    "IDEMPOTENCY_TABLE": "issue-idempotency",
}


def test_defaults() -> None:
    settings = WorkerSettings.from_env(BASE)
    options = settings.worker_options()
    assert not settings.fifo
    assert (options.policy.max_attempts, options.policy.search_delay, options.policy.fifo) == (5, 10.0, False)
    assert (options.concurrency, options.tenant_concurrency, options.max_inline_wait) == (16, 4, 2.0)
    assert options.call_budget == pytest.approx(13.05)  # connect + read timeout
    assert settings.idempotency_ttl_seconds == 7 * 24 * 3600


def test_fifo_queue_url_switches_the_worker_to_fifo() -> None:
    settings = WorkerSettings.from_env(BASE | {"ISSUE_QUEUE_URL": BASE["ISSUE_QUEUE_URL"] + ".fifo"})
    assert settings.fifo
    assert settings.worker_options().policy.fifo


def test_values_are_read() -> None:
    settings = WorkerSettings.from_env(
        BASE
        | {
            "MAX_ATTEMPTS": "3",
            "JIRA_INDEX_LAG_SECONDS": "2.5",
            "MAX_THROTTLE_DEFERRALS": "10",
            "WORKER_CONCURRENCY": "8",
            "TENANT_CONCURRENCY": "2",
            "MAX_INLINE_WAIT_SECONDS": "0",
            "IDEMPOTENCY_TTL_SECONDS": "86400",
        }
    )
    policy = settings.worker_options().policy
    assert (policy.max_attempts, policy.search_delay, policy.max_throttle_deferrals) == (3, 2.5, 10)
    assert (settings.concurrency, settings.tenant_concurrency, settings.max_inline_wait_seconds) == (
        8,
        2,
        0.0,
    )
    assert settings.idempotency_ttl_seconds == 86400


@pytest.mark.parametrize(
    "missing", ["ISSUE_QUEUE_URL", "DLQ_URL", "IDEMPOTENCY_TABLE", "TENANT_SECRET_PREFIX"]
)
def test_missing_required_variable_is_named(missing: str) -> None:
    environ = {k: v for k, v in BASE.items() if k != missing}
    with pytest.raises(SettingsError, match=missing):
        WorkerSettings.from_env(environ)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WORKER_CONCURRENCY", "0"),
        ("TENANT_CONCURRENCY", "two"),
        ("JIRA_INDEX_LAG_SECONDS", "-1"),
        ("MAX_INLINE_WAIT_SECONDS", "nan"),
        ("IDEMPOTENCY_TTL_SECONDS", "60"),
        ("MAX_THROTTLE_DEFERRALS", "1.5"),
        ("MAX_ATTEMPTS", "0"),
    ],
)
def test_bad_value_is_refused_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        WorkerSettings.from_env(BASE | {name: value})
