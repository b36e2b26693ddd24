"""Settings are parsed once from the environment, typed, with defaults, and fail fast naming the variable."""

from __future__ import annotations

import pytest

from jira_connect.host_guard import DEFAULT_ALLOWED_HOSTS
from jira_connect.settings import DEFAULT_OAUTH_TOKEN_URL, Settings, SettingsError

MINIMAL = {"TENANT_SECRET_PREFIX": "jira-issue-creator/tenants/"}


def test_minimal_environment_gives_the_documented_defaults() -> None:
    settings = Settings.from_env(MINIMAL)
    assert settings.tenant_secret_prefix == "jira-issue-creator/tenants/"
    assert settings.jira_api_version == 3
    assert settings.jira_allowed_hosts == DEFAULT_ALLOWED_HOSTS
    assert settings.jira_connect_timeout == 3.05
    assert settings.jira_read_timeout == 10.0
    assert settings.tenant_cache_ttl_seconds == 300.0
    assert settings.oauth_token_url == DEFAULT_OAUTH_TOKEN_URL
    assert settings.max_attempts == 5
    assert settings.issue_queue_url is None
    assert settings.dlq_url is None
    assert settings.idempotency_table is None


def test_every_variable_is_read() -> None:
    settings = Settings.from_env(
        {
            **MINIMAL,
            "JIRA_API_VERSION": "2",
            "JIRA_ALLOWED_HOSTS": "*.atlassian.net,127.0.0.1",
            "JIRA_CONNECT_TIMEOUT": "1.5",
            "JIRA_READ_TIMEOUT": "20",
            "TENANT_CACHE_TTL_SECONDS": "0",
            "OAUTH_TOKEN_URL": "http://127.0.0.1:9/oauth2/token",
            "MAX_ATTEMPTS": "8",
            "ISSUE_QUEUE_URL": "http://q",
            "DLQ_URL": "http://dlq",
            "IDEMPOTENCY_TABLE": "idem",
        }
    )
    assert settings.jira_api_version == 2
    assert settings.host_guard.patterns == ("*.atlassian.net", "127.0.0.1")
    assert (settings.jira_connect_timeout, settings.jira_read_timeout) == (1.5, 20.0)
    assert settings.tenant_cache_ttl_seconds == 0.0
    assert settings.oauth_token_url == "http://127.0.0.1:9/oauth2/token"
    assert settings.max_attempts == 8
    assert (settings.issue_queue_url, settings.dlq_url, settings.idempotency_table) == (
        "http://q",
        "http://dlq",
        "idem",
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TENANT_SECRET_PREFIX", ""),
        ("JIRA_API_VERSION", "4"),
        ("JIRA_API_VERSION", "three"),
        ("JIRA_ALLOWED_HOSTS", "acme.*.net"),
        ("JIRA_CONNECT_TIMEOUT", "0"),
        ("JIRA_CONNECT_TIMEOUT", "-1"),
        ("JIRA_READ_TIMEOUT", "soon"),
        ("JIRA_READ_TIMEOUT", "inf"),
        ("TENANT_CACHE_TTL_SECONDS", "-1"),
        ("OAUTH_TOKEN_URL", "http://auth.example.com/oauth2/token"),
        ("OAUTH_TOKEN_URL", "ftp://auth.example.com"),
        ("MAX_ATTEMPTS", "0"),
        ("MAX_ATTEMPTS", "2.5"),
    ],
)
def test_bad_value_fails_fast_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({**MINIMAL, variable: value})


def test_missing_prefix_fails_fast_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="TENANT_SECRET_PREFIX"):
        Settings.from_env({})


def test_required_optional_setting_names_the_variable_when_missing() -> None:
    settings = Settings.from_env(MINIMAL)
    with pytest.raises(SettingsError, match="DLQ_URL"):
        settings.require("dlq_url")
    assert Settings.from_env({**MINIMAL, "DLQ_URL": "http://dlq"}).require("dlq_url") == "http://dlq"


def test_settings_built_in_code_are_validated_too() -> None:
    with pytest.raises(SettingsError, match="JIRA_ALLOWED_HOSTS"):
        Settings(tenant_secret_prefix="p", jira_allowed_hosts="a.*.b")
