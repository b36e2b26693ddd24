"""The API function's configuration: parsed once, typed, failing fast by name; the same defaults as the
worker's wherever the two settle the same idempotency records."""

from __future__ import annotations

import pytest

from jira_connect import api_settings, worker_settings
from jira_connect.api_settings import ApiSettings
from jira_connect.idempotency_property import with_idempotency_property
from jira_connect.settings import SettingsError

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
    assert api_settings.DEFAULT_INDEX_LAG_SECONDS == worker_settings.DEFAULT_INDEX_LAG_SECONDS
    assert api_settings.LEASE_MARGIN_SECONDS == worker_settings.LEASE_MARGIN_SECONDS
    assert api_settings.MIN_TTL_SECONDS == worker_settings.MIN_TTL_SECONDS
    assert api_settings.FIFO_SUFFIX == worker_settings.FIFO_SUFFIX


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
