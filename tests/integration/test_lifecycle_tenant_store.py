"""The tenant store's lifecycle writes against moto server: install, re-install, uninstall, reinstall."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import boto3
import pytest

from devstack.aws import MotoServer
from jira_connect.errors import TenantUninstalled, UnknownTenant
from jira_connect.tenant_store import SecretsManagerTenantStore

PREFIX = "jira-issue-creator/test/tenants/"
CLIENT_KEY = "jira:ab_c"
SECRET_NAME = PREFIX + "jira_3Aab_5Fc"
FIRST_SECRET = "secret-one"


def installed(shared_secret: str = FIRST_SECRET, **overrides: Any) -> dict[str, Any]:
    body = {
        "key": "com.example.jira-issue-creator",
        "clientKey": CLIENT_KEY,
        "sharedSecret": shared_secret,
        "baseUrl": "https://acme.atlassian.net",
        "productType": "jira",
        "eventType": "installed",
    }
    body.update(overrides)
    return body


@pytest.fixture
def client(aws: MotoServer) -> Any:
    return boto3.client("secretsmanager")


@pytest.fixture
def store(client: Any) -> SecretsManagerTenantStore:
    return SecretsManagerTenantStore(client, PREFIX)


def stored(client: Any) -> dict[str, Any]:
    return dict(json.loads(client.get_secret_value(SecretId=SECRET_NAME)["SecretString"]))


def test_install_creates_one_tagged_secret_named_after_the_client_key(
    store: SecretsManagerTenantStore, client: Any
) -> None:
    assert store.save_installation(installed()) == SECRET_NAME
    assert stored(client) == installed()
    [secret] = client.list_secrets()["SecretList"]
    assert secret["Name"] == SECRET_NAME
    assert {"Key": "managed-by", "Value": "jira-issue-creator"} in secret["Tags"]
    assert {"Key": "clientKey", "Value": "jira:ab_c"} in secret["Tags"]
    assert store.get(CLIENT_KEY).shared_secret == "secret-one"


def test_reinstall_with_a_new_shared_secret_takes_effect_at_once(
    store: SecretsManagerTenantStore, client: Any
) -> None:
    store.save_installation(installed("secret-one"))
    assert store.get(CLIENT_KEY).shared_secret == "secret-one"  # now cached
    store.save_installation(installed("secret-two"))
    assert store.get(CLIENT_KEY).shared_secret == "secret-two"
    assert stored(client)["sharedSecret"] == "secret-two"
    assert len(client.list_secrets()["SecretList"]) == 1


def test_uninstall_marks_the_record_and_schedules_deletion_with_the_recovery_window(
    store: SecretsManagerTenantStore, client: Any
) -> None:
    store.save_installation(installed())
    store.get(CLIENT_KEY)
    before = dt.datetime.now(dt.UTC)
    assert store.mark_uninstalled(CLIENT_KEY, recovery_window_days=10) is True
    description = client.describe_secret(SecretId=SECRET_NAME)
    deleted_at = description["DeletedDate"]
    assert before + dt.timedelta(days=9) < deleted_at < before + dt.timedelta(days=11)
    with pytest.raises(TenantUninstalled):
        store.get(CLIENT_KEY)
    with pytest.raises(TenantUninstalled):
        SecretsManagerTenantStore(client, PREFIX).get(CLIENT_KEY)


def test_uninstall_records_the_event_in_the_secret_before_deleting_it(
    store: SecretsManagerTenantStore, client: Any
) -> None:
    store.save_installation(installed())
    store.mark_uninstalled(CLIENT_KEY)
    client.restore_secret(SecretId=SECRET_NAME)  # what an operator could do inside the window
    assert stored(client) == {**installed(), "eventType": "uninstalled"}
    with pytest.raises(TenantUninstalled):
        store.get(CLIENT_KEY)


def test_reinstall_after_uninstall_restores_the_tenant(store: SecretsManagerTenantStore, client: Any) -> None:
    store.save_installation(installed("secret-one"))
    store.mark_uninstalled(CLIENT_KEY)
    store.save_installation(installed("secret-three"))
    assert "DeletedDate" not in client.describe_secret(SecretId=SECRET_NAME)
    assert store.get(CLIENT_KEY).shared_secret == "secret-three"
    assert stored(client)["eventType"] == "installed"


def test_repeated_uninstall_changes_nothing(store: SecretsManagerTenantStore, client: Any) -> None:
    store.save_installation(installed())
    assert store.mark_uninstalled(CLIENT_KEY) is True
    first = client.describe_secret(SecretId=SECRET_NAME)
    assert store.mark_uninstalled(CLIENT_KEY) is False
    again = client.describe_secret(SecretId=SECRET_NAME)
    assert again["DeletedDate"] == first["DeletedDate"]
    assert again["VersionIdsToStages"] == first["VersionIdsToStages"]


def test_uninstall_of_a_tenant_never_installed_creates_nothing(
    store: SecretsManagerTenantStore, client: Any
) -> None:
    assert store.mark_uninstalled("jira:never-seen") is False
    assert client.list_secrets()["SecretList"] == []
    with pytest.raises(UnknownTenant):
        store.get("jira:never-seen")


def test_uninstall_of_a_damaged_record_still_takes_effect(
    store: SecretsManagerTenantStore, client: Any
) -> None:
    client.create_secret(Name=SECRET_NAME, SecretString="not json")
    assert store.mark_uninstalled(CLIENT_KEY) is True
    with pytest.raises(TenantUninstalled):
        store.get(CLIENT_KEY)


class CreatedConcurrently:
    """A Secrets Manager client on which another callback creates the secret just before we do."""

    def __init__(self, client: Any, other: SecretsManagerTenantStore, payload: dict[str, Any]) -> None:
        self._client = client
        self._other = other
        self._payload = payload

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def create_secret(self, **kwargs: Any) -> Any:
        self._other.save_installation(self._payload)
        return self._client.create_secret(**kwargs)


def test_concurrent_first_installs_end_with_one_secret_holding_the_later_payload(client: Any) -> None:
    other = SecretsManagerTenantStore(client, PREFIX)
    racing = SecretsManagerTenantStore(CreatedConcurrently(client, other, installed("secret-first")), PREFIX)
    racing.save_installation(installed("secret-second"))
    assert len(client.list_secrets()["SecretList"]) == 1
    assert stored(client)["sharedSecret"] == "secret-second"
