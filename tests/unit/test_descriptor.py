"""The app descriptor and the idempotency property it indexes."""

from __future__ import annotations

import json
import re

import pytest

from jira_connect.descriptor import INSTALLED_PATH, UNINSTALLED_PATH, app_descriptor
from jira_connect.idempotency_property import (
    IDEMPOTENCY_PROPERTY_ALIAS,
    IDEMPOTENCY_PROPERTY_KEY,
    IDEMPOTENCY_PROPERTY_PATH,
    idempotency_jql,
    idempotency_property,
)

APP_KEY = "com.example.jira-issue-creator"
BASE_URL = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod"
# Connect module keys: lower-case letters, digits and dashes.
MODULE_KEY = re.compile(r"[a-z0-9-]+")


def test_descriptor_names_the_app_and_where_it_lives() -> None:
    descriptor = app_descriptor(app_key=APP_KEY, base_url=BASE_URL + "/")
    assert descriptor["key"] == APP_KEY
    assert descriptor["baseUrl"] == BASE_URL
    assert descriptor["name"]
    assert descriptor["description"]
    assert descriptor["authentication"] == {"type": "jwt"}


def test_descriptor_declares_the_lifecycle_callbacks_the_function_serves() -> None:
    descriptor = app_descriptor(app_key=APP_KEY, base_url=BASE_URL)
    assert descriptor["lifecycle"] == {"installed": "/installed", "uninstalled": "/uninstalled"}
    assert (INSTALLED_PATH, UNINSTALLED_PATH) == ("/installed", "/uninstalled")


def test_descriptor_asks_for_the_scopes_the_worker_needs() -> None:
    assert app_descriptor(app_key=APP_KEY, base_url=BASE_URL)["scopes"] == ["READ", "WRITE", "ACT_AS_USER"]


def test_descriptor_opts_into_signed_install_context_qsh_and_gdpr() -> None:
    migrations = app_descriptor(app_key=APP_KEY, base_url=BASE_URL)["apiMigrations"]
    assert migrations == {"signed-install": True, "context-qsh": True, "gdpr": True}


def test_descriptor_indexes_the_idempotency_property_as_an_exact_match_string() -> None:
    modules = app_descriptor(app_key=APP_KEY, base_url=BASE_URL)["modules"]
    [index] = modules["jiraEntityProperties"]
    assert MODULE_KEY.fullmatch(index["key"])
    assert index["entityType"] == "issue"
    assert index["name"]["value"]
    [configuration] = index["keyConfigurations"]
    assert configuration["propertyKey"] == "jira-issue-creator.idempotency" == IDEMPOTENCY_PROPERTY_KEY
    assert configuration["extractions"] == [
        {"objectName": "key", "type": "string", "alias": "issueCreatorIdempotencyKey"}
    ]


def test_descriptor_is_plain_json_and_a_fresh_copy_each_time() -> None:
    first = app_descriptor(app_key=APP_KEY, base_url=BASE_URL)
    first["scopes"].append("ADMIN")
    first["apiMigrations"]["signed-install"] = False
    second = app_descriptor(app_key=APP_KEY, base_url=BASE_URL)
    assert json.loads(json.dumps(second)) == second
    assert "ADMIN" not in second["scopes"]
    assert second["apiMigrations"]["signed-install"] is True


@pytest.mark.parametrize(("app_key", "base_url"), [("", BASE_URL), (APP_KEY, "")])
def test_descriptor_without_key_or_base_url_is_refused(app_key: str, base_url: str) -> None:
    with pytest.raises(ValueError, match="required"):
        app_descriptor(app_key=app_key, base_url=base_url)


def test_idempotency_property_holds_the_key_under_the_indexed_path() -> None:
    assert idempotency_property("order-42") == {
        "key": "jira-issue-creator.idempotency",
        "value": {"key": "order-42"},
    }
    assert IDEMPOTENCY_PROPERTY_PATH == "key"
    assert IDEMPOTENCY_PROPERTY_ALIAS == "issueCreatorIdempotencyKey"


def test_idempotency_property_records_the_tenant_when_given() -> None:
    prop = idempotency_property("order-42", client_key="jira:abc")
    assert prop["value"] == {"key": "order-42", "clientKey": "jira:abc"}


def test_empty_idempotency_key_is_refused() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        idempotency_property("")
    with pytest.raises(ValueError, match="non-empty"):
        idempotency_jql("")


def test_idempotency_jql_searches_the_indexed_path() -> None:
    assert idempotency_jql("order-42") == 'issue.property[jira-issue-creator.idempotency].key = "order-42"'


def test_idempotency_jql_escapes_quotes_and_backslashes_in_the_key() -> None:
    jql = idempotency_jql('a"b\\c\nd')
    assert jql.endswith(' = "a\\"b\\\\c\\nd"')
