"""Wiring from Settings, and what the client leaves behind: logs and errors that never carry a shared
secret, a JWT or an access token, even through a 401 re-read, a retried 429 and acting as a user."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from jira_connect.errors import IssueCreatorError
from jira_connect.jira_client import JiraClients
from jira_connect.settings import Settings
from tests.integration.jira_client_support import (
    APP_KEY,
    PREFIX,
    FakeTime,
    SecretsOnTheWire,
    install_tenant,
    issue,
    jira_clients,
    low_end,
    tenant_store,
)

pytest_plugins = ["tests.integration.jira_client_fixtures"]

FIRST_SECRET = "first-shared-secret-0123456789abcdef"
SECOND_SECRET = "second-shared-secret-0123456789abcdef"


def test_clients_built_from_settings_use_the_configured_api_version_and_hosts(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    install_tenant(emu, secrets, "acme")
    settings = Settings.from_env(
        {
            "TENANT_SECRET_PREFIX": PREFIX,
            "JIRA_API_VERSION": "2",
            "JIRA_ALLOWED_HOSTS": "127.0.0.1",
            "JIRA_CONNECT_TIMEOUT": "1",
            "JIRA_READ_TIMEOUT": "5",
            "OAUTH_TOKEN_URL": emu.url + "/oauth2/token",
        }
    )
    store = tenant_store(secrets, fake_time, ttl=settings.tenant_cache_ttl_seconds)
    client = JiraClients.from_settings(settings, store).for_tenant("acme")
    created = client.create_issue(issue(description="plain text stays plain on v2"))
    assert "/rest/api/2/issue/" in created.self


def test_default_allow_list_refuses_the_local_emulator(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    install_tenant(emu, secrets, "acme")
    settings = Settings.from_env({"TENANT_SECRET_PREFIX": PREFIX})
    client = JiraClients.from_settings(settings, tenant_store(secrets, fake_time)).for_tenant("acme")
    with pytest.raises(IssueCreatorError, match="plain http"):
        client.get_project("OPS")
    assert emu.stats()["requests"] == {}


def test_logs_and_errors_never_carry_secrets_jwts_or_access_tokens(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    # The layer's loggers and the HTTP stack under it. (botocore's own DEBUG log prints secret values:
    # functions must keep botocore above DEBUG; that is outside this client.)
    for name in ("jira_connect", "urllib3", "requests"):
        caplog.set_level(logging.DEBUG, logger=name)
    install_tenant(emu, secrets, "acme", shared_secret=FIRST_SECRET, scopes=["READ", "WRITE", "ACT_AS_USER"])
    clients = jira_clients(
        tenant_store(secrets, fake_time),
        fake_time,
        uniform=low_end,
        oauth_token_url=emu.url + "/oauth2/token",
    )
    client = clients.for_tenant("acme")
    client.get_project("OPS")
    install_tenant(emu, secrets, "acme", shared_secret=SECOND_SECRET, scopes=["READ", "WRITE", "ACT_AS_USER"])
    emu.add_fault(mode="rate_limit", client_key="acme", endpoint="create_issue", retry_after=1, count=1)
    client.create_issue(issue())  # a 401 re-read, then a 429 retry
    client.as_user("5b10a2844c20165700ede21g").create_issue(issue())
    errors: list[str] = []
    try:
        clients.for_tenant("acme").as_user("5b10a2844c20165700ede21g").get_project("NOPE")
    except IssueCreatorError as error:
        errors.append(error.describe())
        errors.append(repr(error))
    emu.add_tenant(key=APP_KEY, client_key="acme", shared_secret="third-secret-jira-moved-on-to-xxxxxxx")
    try:
        clients.for_tenant("acme").get_project("OPS")
    except IssueCreatorError as error:
        errors.append(error.describe())
    assert len(errors) == 3
    assert any("retrying" in r.getMessage() for r in caplog.records)
    texts = errors + [r.getMessage() for r in caplog.records] + [repr(vars(r)) for r in caplog.records]
    for text in texts:
        assert FIRST_SECRET not in text
        assert SECOND_SECRET not in text
        assert "eyJ" not in text  # the start of every JWT (base64 of '{"')
        assert "Bearer " not in text
        assert "access_token" not in text
