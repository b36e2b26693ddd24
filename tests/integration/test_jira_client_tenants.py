"""Tenants from Secrets Manager (moto server) as the client sees them: one GetSecretValue per tenant per
TTL counted on the wire, a rotated shared secret picked up after a 401, and permanent tenant errors that
name the clientKey but never the secret."""

from __future__ import annotations

from typing import Any

import pytest

from jira_connect.errors import (
    JiraAuthenticationFailed,
    MalformedTenantRecord,
    TenantUninstalled,
    UnknownTenant,
)
from jira_connect.tenant_store import SecretsManagerTenantStore
from tests.integration.jira_client_support import (
    APP_KEY,
    PREFIX,
    FakeTime,
    SecretsOnTheWire,
    install_tenant,
    issue,
    jira_clients,
    requests_to,
    tenant_record,
    tenant_store,
)

pytest_plugins = ["tests.integration.jira_client_fixtures"]

GET_PROJECT = "GET /rest/api/{v}/project/{projectIdOrKey}"
CREATE = "POST /rest/api/{v}/issue"
ROTATED = "a-brand-new-shared-secret-after-reinstall"


def test_each_tenant_secret_is_read_once_per_ttl_per_execution_environment(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    install_tenant(emu, secrets, "acme")
    install_tenant(emu, secrets, "globex")
    clients = jira_clients(tenant_store(secrets, fake_time, ttl=300), fake_time)
    for _ in range(10):
        clients.for_tenant("acme").get_project("OPS")
        clients.for_tenant("globex").get_project("OPS")
    assert sorted(secrets.get_secret_value_calls) == [PREFIX + "acme", PREFIX + "globex"]
    fake_time.advance(299)
    clients.for_tenant("acme").create_issue(issue())
    assert secrets.count() == 2
    fake_time.advance(2)
    for _ in range(5):
        clients.for_tenant("acme").get_project("OPS")
        clients.for_tenant("globex").get_project("OPS")
    assert secrets.count() == 4


def test_rotated_shared_secret_is_picked_up_after_a_401(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    install_tenant(emu, secrets, "acme")
    client = jira_clients(tenant_store(secrets, fake_time), fake_time).for_tenant("acme")
    client.get_project("OPS")  # caches the record with the first secret
    # Re-install: Jira rotates the secret and the lifecycle function stores it (through its own store).
    install_tenant(emu, secrets, "acme", shared_secret=ROTATED)
    assert client.create_issue(issue()).key == "OPS-1"
    assert requests_to(emu, "acme", CREATE) == {"201": 1}
    assert requests_to(emu, "anonymous", CREATE) == {"401": 1}  # the stale secret's attempt
    assert secrets.count() == 2  # the first read, and the one re-read after the 401
    assert fake_time.sleeps == []


def test_401_that_a_fresh_record_cannot_fix_fails_for_good_after_one_reread(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    install_tenant(emu, secrets, "acme")
    # The stored record is wrong in a way a re-read does not change: the secret Jira has moved on from.
    emu.add_tenant(key=APP_KEY, client_key="acme", shared_secret=ROTATED)
    client = jira_clients(tenant_store(secrets, fake_time), fake_time).for_tenant("acme")
    with pytest.raises(JiraAuthenticationFailed) as caught:
        client.create_issue(issue())
    assert caught.value.fate == "permanent"
    assert caught.value.status == 401
    assert secrets.count() == 2
    assert requests_to(emu, "anonymous", CREATE) == {"401": 1}  # not sent again with the same record


def test_unknown_tenant_is_permanent_and_named(secrets: SecretsOnTheWire, fake_time: FakeTime) -> None:
    client = jira_clients(tenant_store(secrets, fake_time), fake_time).for_tenant("nobody:here")
    with pytest.raises(UnknownTenant) as caught:
        client.create_issue(issue())
    assert caught.value.client_key == "nobody:here"
    assert "nobody:here" in caught.value.message
    assert caught.value.fate == "permanent"


def test_uninstalled_tenant_is_permanent(emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime) -> None:
    install_tenant(emu, secrets, "acme")
    SecretsManagerTenantStore(secrets.client, PREFIX).mark_uninstalled("acme")
    client = jira_clients(tenant_store(secrets, fake_time), fake_time).for_tenant("acme")
    with pytest.raises(TenantUninstalled) as caught:
        client.get_project("OPS")
    assert caught.value.client_key == "acme"


@pytest.mark.parametrize("missing", ["key", "sharedSecret", "baseUrl"])
def test_malformed_record_names_the_field_and_never_the_secret(
    secrets: SecretsOnTheWire, fake_time: FakeTime, missing: str
) -> None:
    record = tenant_record("acme", "http://127.0.0.1:9", shared_secret="top-secret-value-never-shown")
    del record[missing]
    SecretsManagerTenantStore(secrets.client, PREFIX).save_installation(record)
    client = jira_clients(tenant_store(secrets, fake_time), fake_time).for_tenant("acme")
    with pytest.raises(MalformedTenantRecord) as caught:
        client.get_project("OPS")
    assert missing in caught.value.message
    assert "top-secret-value-never-shown" not in caught.value.describe()
    assert "top-secret-value-never-shown" not in repr(caught.value)
