"""The lifecycle function's configuration: parsed once, typed, and failing with the variable's name.

(Pure code; it lives beside the other lifecycle tests.)
"""

from __future__ import annotations

import pytest

from jira_connect.host_guard import DEFAULT_ALLOWED_HOSTS
from jira_connect.install_keys import DEFAULT_INSTALL_KEYS_URL
from jira_connect.lifecycle_settings import LifecycleSettings, SettingsError

REQUIRED = {
    "APP_KEY": "com.example.jira-issue-creator",
    "APP_BASE_URL": "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/",
    "TENANT_SECRET_PREFIX": "jira-issue-creator/prod/tenants/",
}


def test_required_variables_and_defaults() -> None:
    settings = LifecycleSettings.from_env(REQUIRED)
    assert settings.app_key == "com.example.jira-issue-creator"
    assert settings.app_base_url == "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
    assert settings.tenant_secret_prefix == "jira-issue-creator/prod/tenants/"
    assert (
        settings.install_keys_url == DEFAULT_INSTALL_KEYS_URL == "https://connect-install-keys.atlassian.com"
    )
    assert settings.host_guard.patterns == tuple(DEFAULT_ALLOWED_HOSTS.split(","))
    assert settings.uninstall_recovery_window_days == 7


def test_every_variable_can_be_set() -> None:
    settings = LifecycleSettings.from_env(
        {
            **REQUIRED,
            "CONNECT_INSTALL_KEYS_URL": "http://127.0.0.1:8080/__emu/install-keys/",
            "JIRA_ALLOWED_HOSTS": "127.0.0.1",
            "UNINSTALL_RECOVERY_WINDOW_DAYS": "30",
        }
    )
    assert settings.install_keys_url == "http://127.0.0.1:8080/__emu/install-keys"
    assert settings.host_guard.patterns == ("127.0.0.1",)
    assert settings.uninstall_recovery_window_days == 30


@pytest.mark.parametrize("variable", sorted(REQUIRED))
@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_required_variable_is_named(variable: str, value: str | None) -> None:
    environ = {k: v for k, v in REQUIRED.items() if k != variable}
    if value is not None:
        environ[variable] = value
    with pytest.raises(SettingsError, match=f"^{variable} is not set"):
        LifecycleSettings.from_env(environ)


@pytest.mark.parametrize("variable", ["APP_BASE_URL", "CONNECT_INSTALL_KEYS_URL"])
@pytest.mark.parametrize(
    "value",
    [
        "http://issue-creator.example.com",
        "ftp://issue-creator.example.com",
        "/prod",
        "issue-creator.example.com/prod",
        "https://issue-creator.example.com/prod?x=1",
        "https://issue-creator.example.com/prod#top",
        "https://user:pass@issue-creator.example.com",
    ],
)
def test_service_url_must_be_plain_https(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"^{variable} "):
        LifecycleSettings.from_env({**REQUIRED, variable: value})


@pytest.mark.parametrize("value", ["http://127.0.0.1:3000", "http://localhost:3000/dev", "http://[::1]:80"])
def test_plain_http_is_allowed_for_loopback_hosts(value: str) -> None:
    assert LifecycleSettings.from_env({**REQUIRED, "APP_BASE_URL": value}).app_base_url == value


@pytest.mark.parametrize("value", ["tenants with spaces/", "tenants/*", "tenänts/"])
def test_secret_prefix_must_be_valid_in_a_secret_name(value: str) -> None:
    with pytest.raises(SettingsError, match=r"^TENANT_SECRET_PREFIX "):
        LifecycleSettings.from_env({**REQUIRED, "TENANT_SECRET_PREFIX": value})


@pytest.mark.parametrize("value", ["6", "31", "seven", "7.5", "-7"])
def test_recovery_window_outside_secrets_manager_bounds_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match=r"^UNINSTALL_RECOVERY_WINDOW_DAYS "):
        LifecycleSettings.from_env({**REQUIRED, "UNINSTALL_RECOVERY_WINDOW_DAYS": value})


def test_bad_allowed_hosts_pattern_is_named() -> None:
    with pytest.raises(SettingsError, match=r"^JIRA_ALLOWED_HOSTS "):
        LifecycleSettings.from_env({**REQUIRED, "JIRA_ALLOWED_HOSTS": "*.atlassian.*"})
