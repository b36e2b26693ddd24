"""The API function's configuration: parsed once, typed, failing fast by name; the same defaults as the
worker's wherever the two settle the same idempotency records."""

from __future__ import annotations

import pytest

from jira_connect.api_settings import ApiSettings
from jira_connect.idempotency_property import with_idempotency_property
from jira_connect.idempotency_store import MIN_TTL_SECONDS
from jira_connect.settings import SettingsError
from jira_connect.worker_settings import WorkerSettings

BASE = {
    "TENANT_SECRET_PREFIX": "jira-issue-creator/tenants/",
    "ISSUE_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/issues",
    "IDEMPOTENCY_TABLE": "idempotency",
}


def test_defaults() -> None:
    settings = ApiSettings.from_env(BASE)
    assert settings.issue_queue_url == BASE["ISSUE_QUEUE_URL"]
    assert settings.idempotency_table == "idempotency"
    assert settings.index_lag_seconds == 10.0
    assert settings.idempotency_ttl_seconds == 7 * 24 * 3600
    assert not settings.fifo
    assert settings.call_budget == pytest.approx(13.05)


def test_same_defaults_and_bounds_as_the_worker() -> None:
    worker_env = {**BASE, "DLQ_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/dlq"}
    api, worker = ApiSettings.from_env(BASE), WorkerSettings.from_env(worker_env)
    assert api.index_lag_seconds == worker.index_lag_seconds
    assert api.idempotency_ttl_seconds == worker.idempotency_ttl_seconds
    assert api.fifo == worker.fifo
    fifo = {"ISSUE_QUEUE_URL": BASE["ISSUE_QUEUE_URL"] + ".fifo"}
    assert ApiSettings.from_env({**BASE, **fifo}).fifo
    assert WorkerSettings.from_env({**worker_env, **fifo}).fifo
    shortest = str(MIN_TTL_SECONDS)
    too_short = str(MIN_TTL_SECONDS - 1)
    assert (
        ApiSettings.from_env({**BASE, "IDEMPOTENCY_TTL_SECONDS": shortest}).idempotency_ttl_seconds
        == MIN_TTL_SECONDS
    )
    assert (
        WorkerSettings.from_env({**worker_env, "IDEMPOTENCY_TTL_SECONDS": shortest}).idempotency_ttl_seconds
        == MIN_TTL_SECONDS
    )
    for parse, env in ((ApiSettings.from_env, BASE), (WorkerSettings.from_env, worker_env)):
        with pytest.raises(SettingsError, match="IDEMPOTENCY_TTL_SECONDS"):
            parse({**env, "IDEMPOTENCY_TTL_SECONDS": too_short})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ISSUE_QUEUE_URL", ""),
        ("IDEMPOTENCY_TABLE", ""),
        ("TENANT_SECRET_PREFIX", ""),
        ("JIRA_INDEX_LAG_SECONDS", "soon"),
        ("JIRA_INDEX_LAG_SECONDS", "-1"),
        ("IDEMPOTENCY_TTL_SECONDS", "60"),
        ("JIRA_API_VERSION", "4"),
    ],
)
def test_a_bad_or_missing_variable_fails_naming_it(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        ApiSettings.from_env({**BASE, name: value})


def test_a_fifo_queue_is_recognised() -> None:
    assert ApiSettings.from_env({**BASE, "ISSUE_QUEUE_URL": BASE["ISSUE_QUEUE_URL"] + ".fifo"}).fifo


def test_the_idempotency_property_is_added_without_changing_the_callers_body() -> None:
    issue = {"fields": {"summary": "x"}, "properties": [{"key": "mine", "value": 1}]}
    marked = with_idempotency_property(issue, "k-1", "jira:1")
    assert marked["properties"] == [
        {"key": "mine", "value": 1},
        {"key": "jira-issue-creator.idempotency", "value": {"key": "k-1", "clientKey": "jira:1"}},
    ]
    assert issue["properties"] == [{"key": "mine", "value": 1}]
    assert with_idempotency_property({"fields": {}}, "k", "c")["properties"][0]["value"]["key"] == "k"
