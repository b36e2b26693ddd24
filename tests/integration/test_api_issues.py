"""POST /tenants/{clientKey}/issues over real HTTP, with moto server and the Jira emulator behind it."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest

from functions.api import app as api_app
from jira_connect.idempotency_property import IDEMPOTENCY_PROPERTY_KEY
from jira_connect.idempotency_store import COMPLETED, UNKNOWN, IdempotencyKey
from tests.integration.test_api_stack import (  # noqa: F401 (fixture)
    INDEX_LAG_SECONDS,
    READ_TIMEOUT_SECONDS,
    ApiStack,
    api_fixture,
    issue_body,
)

USER = "5b10a2844c20165700ede21g"


def error(response: Any) -> dict[str, Any]:
    detail: dict[str, Any] = response.json()["error"]
    assert detail["status"] == response.status_code
    return detail


# --- created now --------------------------------------------------------------------------------------------


def test_sync_create_answers_201_with_jiras_created_issue(api: ApiStack) -> None:
    tenant = api.add_tenant()
    response = api.create(tenant, issue_body("Disk full on db-1", labels=["ops"], description="98% used"))

    assert response.status_code == 201
    created = response.json()
    [issue] = api.jira_issues(tenant)
    assert created == {"id": issue["id"], "key": issue["key"], "self": created["self"]}
    assert created["self"].endswith(f"/rest/api/3/issue/{issue['id']}")
    assert issue["fields"]["summary"] == "Disk full on db-1"
    assert issue["fields"]["labels"] == ["ops"]
    assert "Idempotent-Replayed" not in response.headers


def test_idempotency_key_replay_returns_the_same_issue_and_jira_has_exactly_one(api: ApiStack) -> None:
    tenant = api.add_tenant()
    headers = {"Idempotency-Key": "alert-7f3a9c"}

    first = api.create(tenant, headers=headers)
    again = api.create(tenant, issue_body("a different body changes nothing"), headers=headers)

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    [issue] = api.jira_issues(tenant)
    # The mark the worker's search looks for is set with the issue, scoped by the tenant.
    assert issue["properties"][IDEMPOTENCY_PROPERTY_KEY] == {"key": "alert-7f3a9c", "clientKey": tenant}
    record = api.record(tenant, "alert-7f3a9c")
    assert record is not None
    assert (record["status"], record["issueKey"]) == (COMPLETED, issue["key"])


def test_the_same_key_on_another_tenant_is_another_issue(api: ApiStack) -> None:
    one, two = api.add_tenant(), api.add_tenant()
    headers = {"Idempotency-Key": "shared-key"}
    assert api.create(one, headers=headers).status_code == 201
    assert api.create(two, headers=headers).status_code == 201
    assert len(api.jira_issues(one)) == len(api.jira_issues(two)) == 1


def test_a_duplicate_while_the_first_is_in_flight_is_409_with_retry_after(api: ApiStack) -> None:
    tenant = api.add_tenant()
    # Another request (or the worker) holds the key for 20 s.
    api.store.claim([IdempotencyKey(tenant, "busy-key")], lease_seconds=20)

    response = api.create(tenant, headers={"Idempotency-Key": "busy-key"})

    assert response.status_code == 409
    detail = error(response)
    assert detail["type"] == "DeliveryInProgress"
    assert 19 <= int(response.headers["Retry-After"]) <= 20 == detail["retryAfter"]
    assert api.jira_issues(tenant) == []


def test_a_created_issue_whose_answer_was_lost_is_found_not_created_again(api: ApiStack) -> None:
    tenant = api.add_tenant()
    api.emulator.configure({"search": {"indexLagMs": 300}})
    api.emulator.add_fault(mode="error_after_commit", client_key=tenant, endpoint="create_issue", status=500)
    headers = {"Idempotency-Key": "lost-answer"}

    lost = api.create(tenant, headers=headers)
    assert lost.status_code == 502
    detail = error(lost)
    assert detail["type"] == "JiraServerError"
    assert "Retrying with the same Idempotency-Key is safe" in detail["message"]
    record = api.record(tenant, "lost-answer")
    assert record is not None
    assert record["status"] == UNKNOWN
    # Too early: Jira's search may not show the issue yet, so nobody may act on the key.
    assert api.create(tenant, headers=headers).status_code == 409

    time.sleep(INDEX_LAG_SECONDS + 0.2)
    found = api.create(tenant, headers=headers)

    assert found.status_code == 201
    assert found.headers["Idempotent-Replayed"] == "true"
    [issue] = api.jira_issues(tenant)
    assert found.json()["key"] == issue["key"]


# --- queued -------------------------------------------------------------------------------------------------


def test_respond_async_puts_the_issue_message_on_the_queue_and_answers_202(api: ApiStack) -> None:
    tenant = api.add_tenant()
    body = issue_body("Queued", customfield_10010={"value": "High"})

    response = api.create(
        tenant, body, headers={"Prefer": "respond-async", "Idempotency-Key": "q-1", "X-Act-As-User": USER}
    )

    assert response.status_code == 202
    assert response.headers["Preference-Applied"] == "respond-async"
    [message] = api.queued()
    assert response.json() == {"messageId": message["MessageId"], "idempotencyKey": "q-1"}
    assert json.loads(message["Body"]) == {
        "clientKey": tenant,
        "issue": body,
        "idempotencyKey": "q-1",
        "actAsUser": USER,
    }
    assert api.jira_issues(tenant) == []


def test_respond_async_refuses_an_unknown_tenant_at_once_and_queues_nothing(api: ApiStack) -> None:
    response = api.create("jira:never-installed", headers={"Prefer": "respond-async"})
    assert (response.status_code, error(response)["type"]) == (404, "UnknownTenant")
    assert api.queued() == []


# --- Jira's answers, with Jira's meaning --------------------------------------------------------------------


def test_jiras_field_errors_pass_through_as_400(api: ApiStack) -> None:
    tenant = api.add_tenant()
    body = {"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Saga"}, "summary": "x"}}

    response = api.create(tenant, body, headers={"Idempotency-Key": "bad-type"})

    assert response.status_code == 400
    detail = error(response)
    assert detail["type"] == "JiraBadRequest"
    assert "issuetype" in detail["errors"]
    # Jira surely created nothing: the key is free for a corrected request.
    assert api.record(tenant, "bad-type") is None


def test_jiras_429_retry_after_is_passed_through(api: ApiStack) -> None:
    tenant = api.add_tenant()
    api.emulator.add_fault(
        mode="rate_limit", client_key=tenant, endpoint="create_issue", retry_after=120, count=1
    )

    response = api.create(tenant, headers={"Idempotency-Key": "throttled"})

    assert response.status_code == 429
    detail = error(response)
    assert (detail["type"], detail["rateLimitReason"]) == ("RateLimited", "jira-burst-based")
    assert int(response.headers["Retry-After"]) >= 120
    assert detail["retryAfter"] == int(response.headers["Retry-After"])
    assert api.jira_issues(tenant) == []
    assert api.record(tenant, "throttled") is None


def test_jira_too_slow_is_504_and_says_the_issue_may_exist(api: ApiStack) -> None:
    tenant = api.add_tenant()
    api.emulator.add_fault(
        mode="latency",
        client_key=tenant,
        endpoint="create_issue",
        latency_ms=(READ_TIMEOUT_SECONDS + 1) * 1000,
    )

    response = api.create(tenant, headers={"Idempotency-Key": "slow"})

    assert response.status_code == 504
    detail = error(response)
    assert detail["type"] == "ResponseTimeout"
    assert "may have been created" in detail["message"]
    record = api.record(tenant, "slow")
    assert record is not None
    assert record["status"] == UNKNOWN


def test_jira_busy_is_503_with_its_retry_after(api: ApiStack) -> None:
    tenant = api.add_tenant()
    api.emulator.add_fault(
        mode="error_before_commit", client_key=tenant, endpoint="create_issue", status=503, retry_after=90
    )
    response = api.create(tenant)
    assert (response.status_code, error(response)["type"]) == (503, "JiraUnavailable")
    assert int(response.headers["Retry-After"]) >= 90


def test_unknown_tenant_is_404(api: ApiStack) -> None:
    response = api.create("jira:never-installed")
    detail = error(response)
    assert (response.status_code, detail["type"]) == (404, "UnknownTenant")
    assert "jira:never-installed" in detail["message"]


# --- acting as a user ---------------------------------------------------------------------------------------


def test_x_act_as_user_creates_the_issue_as_that_user(api: ApiStack) -> None:
    tenant = api.add_tenant(scopes=["READ", "WRITE", "ACT_AS_USER"])
    response = api.create(tenant, headers={"X-Act-As-User": USER})
    assert response.status_code == 201
    [issue] = api.jira_issues(tenant)
    assert issue["fields"]["reporter"]["accountId"] == USER


def test_acting_as_a_user_without_the_scope_is_403(api: ApiStack) -> None:
    tenant = api.add_tenant(scopes=["READ", "WRITE"])
    response = api.create(tenant, headers={"X-Act-As-User": USER})
    assert (response.status_code, error(response)["type"]) == (403, "ActAsUserUnavailable")
    assert api.jira_issues(tenant) == []


# --- limits, each named -------------------------------------------------------------------------------------


def test_limits_are_refused_before_jira_naming_the_limit(api: ApiStack) -> None:
    tenant = api.add_tenant()

    long_summary = api.create(tenant, issue_body("x" * 256))
    many_labels = api.create(tenant, issue_body(labels=[f"l{i}" for i in range(101)]))
    too_big = api.create(tenant, issue_body(description="x" * 300_000))
    reserved = api.create(
        tenant, {**issue_body(), "properties": [{"key": IDEMPOTENCY_PROPERTY_KEY, "value": 1}]}
    )

    assert long_summary.status_code == 422
    assert "at most 255 characters" in error(long_summary)["errors"]["body.fields.summary"]
    assert many_labels.status_code == 422
    assert "at most 100 items" in error(many_labels)["errors"]["body.fields.labels"]
    assert too_big.status_code == 413
    assert "over the limit of 245760 bytes" in error(too_big)["message"]
    assert reserved.status_code == 422
    assert error(reserved)["type"] == "InvalidMessage"
    assert api.jira_issues(tenant) == []


def test_malformed_json_is_400(api: ApiStack) -> None:
    response = api.create(api.add_tenant(), data='{"fields": ')
    assert (response.status_code, error(response)["type"]) == (400, "MalformedBody")


# --- logs ------------------------------------------------------------------------------------------------


def test_debug_logs_hold_no_shared_secret_jwt_or_access_token(
    api: ApiStack, caplog: pytest.LogCaptureFixture
) -> None:
    tenant = api.add_tenant(scopes=["READ", "WRITE", "ACT_AS_USER"])
    secret = api.secrets.get(tenant).shared_secret
    previous = api_app.logger.log_level
    api_app.logger.setLevel("DEBUG")
    logging.getLogger("jira_connect").setLevel(logging.DEBUG)
    try:
        assert api.create(tenant, headers={"Idempotency-Key": "logged"}).status_code == 201
        assert api.create(tenant, headers={"X-Act-As-User": USER}).status_code == 201
        assert api.create(tenant, issue_body(issuetype={"name": "Saga"})).status_code == 400
    finally:
        api_app.logger.setLevel(previous)
        logging.getLogger("jira_connect").setLevel(previous)
    # Every record with all its structured fields, as the JSON formatter would write them.
    logs = "\n".join(str(record.__dict__) for record in caplog.records)
    assert "'clientKey': " in logs  # the logs are there...
    assert secret not in logs  # ...without the secret or anything signed with it
    assert "JWT ey" not in logs
    assert "Bearer " not in logs
