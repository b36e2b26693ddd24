"""functions/api/app.py through ``lambda_handler``, with the layer replaced by a fake: what each request
becomes (the call into the layer) and what each error becomes (status, the one error shape, headers)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.api import app
from jira_connect.api_settings import ApiSettings
from jira_connect.batch import DeliveryInProgress, IdempotencyStoreUnavailable
from jira_connect.create_once import IssueOutcome
from jira_connect.errors import (
    ActAsUserUnavailable,
    AnonymousRequest,
    ConnectionFailed,
    ConnectionLost,
    DisallowedBaseUrl,
    InvalidMessage,
    JiraAuthenticationFailed,
    JiraBadRequest,
    JiraForbidden,
    JiraNotFound,
    JiraServerError,
    JiraUnavailable,
    JiraUnprocessable,
    MalformedTenantRecord,
    RateLimited,
    ResponseTimeout,
    TenantUninstalled,
    UnknownTenant,
)
from jira_connect.http_api_contract import MAX_BODY_BYTES
from jira_connect.issue_api import Enqueued, MessageTooLarge, ProjectList
from jira_connect.settings import Settings, SettingsError

CLIENT_KEY = "jira:6f1c3b0e"
CREATED = IssueOutcome("OPS-1", "10000", url="https://x.atlassian.net/rest/api/3/issue/10000")
ISSUE = {"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "Disk full"}}


@dataclass
class FakeApi:
    """Records each call; raises ``error`` if set."""

    error: Exception | None = None
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = field(default_factory=list)
    outcome: IssueOutcome = field(default_factory=lambda: CREATED)

    def _record(self, name: str, *args: Any, **kwargs: Any) -> None:
        kwargs.pop("remaining", None)
        self.calls.append((name, args, kwargs))
        if self.error is not None:
            raise self.error

    def projects(self, *args: Any, **kwargs: Any) -> ProjectList:
        self._record("projects", *args, **kwargs)
        return ProjectList([{"key": "OPS"}], start_at=0, max_results=1, total=1, is_last=True)

    def project(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self._record("project", *args, **kwargs)
        return {"key": "OPS", "id": "10000"}

    def create_issue(self, *args: Any, **kwargs: Any) -> IssueOutcome:
        self._record("create_issue", *args, **kwargs)
        return self.outcome

    def enqueue_issue(self, *args: Any, **kwargs: Any) -> Enqueued:
        self._record("enqueue_issue", *args, **kwargs)
        return Enqueued("m-1", kwargs.get("idempotency_key"))


@dataclass(frozen=True)
class Context:
    function_name: str = "ApiFunction"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:ApiFunction"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeApi:
    api = FakeApi()
    settings = ApiSettings(Settings(tenant_secret_prefix="p/"), "https://sqs/q", "table")
    monkeypatch.setattr(app, "runtime", lambda: app.Runtime(settings, api))  # type: ignore[arg-type]
    return api


def event(
    method: str,
    path: str,
    *,
    route: str,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    base64_body: bool = False,
) -> dict[str, Any]:
    raw_query = "&".join(f"{k}={v}" for k, v in (query or {}).items())
    return {
        "version": "2.0",
        "routeKey": f"{method} {route}",
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": {"content-type": "application/json", **(headers or {})},
        **({"queryStringParameters": query} if query else {}),
        "requestContext": {
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "requestId": "r-1",
            "routeKey": f"{method} {route}",
            "stage": "$default",
        },
        **(
            {"body": base64.b64encode(body.encode()).decode() if base64_body else body}
            if body is not None
            else {}
        ),
        "isBase64Encoded": base64_body,
    }


def create(body: Any = ISSUE, *, raw: str | None = None, **headers: str) -> dict[str, Any]:
    text = raw if raw is not None else json.dumps(body)
    return event(
        "POST",
        f"/tenants/{CLIENT_KEY}/issues",
        route="/tenants/{clientKey}/issues",
        body=text,
        headers=headers,
    )


def call(request: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    response = app.lambda_handler(request, Context())  # type: ignore[arg-type]
    return response["statusCode"], json.loads(response["body"] or "null"), response.get("headers") or {}


# --- requests become one call into the layer ----------------------------------------------------------------


def test_create_passes_the_body_as_given_and_answers_201_with_jiras_created_issue(fake: FakeApi) -> None:
    body = {**ISSUE, "fields": {**ISSUE["fields"], "customfield_10001": {"value": 3.5}}, "update": {}}
    status, answer, headers = call(create(body, **{"idempotency-key": "k-1", "x-act-as-user": "5b10"}))

    assert status == 201
    assert answer == {"id": "10000", "key": "OPS-1", "self": "https://x.atlassian.net/rest/api/3/issue/10000"}
    assert "Idempotent-Replayed" not in headers
    assert fake.calls == [
        ("create_issue", (CLIENT_KEY, body), {"idempotency_key": "k-1", "act_as_user": "5b10"}),
    ]


def test_a_replay_says_so_in_a_header(fake: FakeApi) -> None:
    fake.outcome = IssueOutcome("OPS-1", None, url="https://x/rest/api/3/issue/OPS-1", replayed=True)
    status, answer, headers = call(create(**{"idempotency-key": "k-1"}))
    assert (status, answer["id"], headers["Idempotent-Replayed"]) == (201, None, "true")


@pytest.mark.parametrize("prefer", ["respond-async", "wait=5, Respond-Async", "respond-async; x=1"])
def test_prefer_respond_async_queues_the_create_and_answers_202(fake: FakeApi, prefer: str) -> None:
    status, answer, headers = call(create(prefer=prefer, **{"idempotency-key": "k-2"}))
    assert (status, answer) == (202, {"messageId": "m-1", "idempotencyKey": "k-2"})
    assert headers["Preference-Applied"] == "respond-async"
    assert fake.calls[0][0] == "enqueue_issue"


def test_other_preferences_create_now(fake: FakeApi) -> None:
    assert call(create(prefer="return=minimal"))[0] == 201
    assert fake.calls[0][0] == "create_issue"


def test_projects_one_page_or_all(fake: FakeApi) -> None:
    route = "/tenants/{clientKey}/projects"
    path = f"/tenants/{CLIENT_KEY}/projects"
    assert call(event("GET", path, route=route))[0] == 200
    status, answer, _ = call(event("GET", path, route=route, query={"startAt": "5", "query": "ops"}))
    assert status == 200
    assert answer == {"values": [{"key": "OPS"}], "startAt": 0, "maxResults": 1, "total": 1, "isLast": True}
    assert [c[2] for c in fake.calls] == [
        {"start_at": None, "max_results": None, "query": None},
        {"start_at": 5, "max_results": None, "query": "ops"},
    ]


# --- limits and malformed requests, named in the answer ---------------------------------------------------


def test_summary_over_255_characters_is_refused_naming_the_limit(fake: FakeApi) -> None:
    body = {"fields": {**ISSUE["fields"], "summary": "x" * 256}}
    status, answer, _ = call(create(body))
    assert status == 422
    assert answer["error"]["errors"] == {"body.fields.summary": "String should have at most 255 characters"}
    assert fake.calls == []


def test_more_than_100_labels_are_refused_naming_the_limit(fake: FakeApi) -> None:
    body = {"fields": {**ISSUE["fields"], "labels": [f"l{i}" for i in range(101)]}}
    status, answer, _ = call(create(body))
    assert status == 422
    assert "at most 100 items" in answer["error"]["errors"]["body.fields.labels"]


def test_a_body_over_the_size_limit_is_413_naming_the_limit(fake: FakeApi) -> None:
    body = {"fields": {**ISSUE["fields"], "customfield_1": "x" * MAX_BODY_BYTES}}
    status, answer, _ = call(create(body))
    assert status == 413
    assert answer["error"]["type"] == "BodyTooLarge"
    assert f"over the limit of {MAX_BODY_BYTES} bytes" in answer["error"]["message"]


@pytest.mark.parametrize(
    "raw",
    ["{", '{"fields": NaN}', '{"a": 1e999}', '{"a": ' + "9" * 5000 + "}", ""],
    ids=["truncated", "nan", "infinite", "huge-integer", "empty"],
)
def test_bodies_that_are_not_json_jira_could_read_are_400_or_422(fake: FakeApi, raw: str) -> None:
    status, answer, _ = call(create(raw=raw))
    # An empty body is a missing body (422); the others are not JSON (400).
    assert (status, answer["error"]["type"]) in {(400, "MalformedBody"), (422, "RequestValidationError")}
    assert fake.calls == []


def test_bad_base64_or_utf8_and_unreadable_multipart_are_400_not_500(fake: FakeApi) -> None:
    bad_utf8 = create(raw="x")
    bad_utf8.update(body=base64.b64encode(b"\xff\xfe").decode(), isBase64Encoded=True)
    bad_base64 = create(raw="x")
    bad_base64.update(body="abc", isBase64Encoded=True)  # incorrect padding
    multipart = create(raw="{}")
    multipart["headers"]["content-type"] = "multipart/form-data"
    for request in (bad_utf8, bad_base64, multipart):
        status, answer, _ = call(request)
        assert (status, answer["error"]["type"]) == (400, "MalformedBody")


def test_a_body_that_is_not_json_by_content_type_is_415(fake: FakeApi) -> None:
    request = create()
    request["headers"]["content-type"] = "text/plain"
    assert call(request)[0] == 415


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"project": {}, "issuetype": {"name": "Task"}}, "body.fields.project"),
        ({"project": {"key": "OPS"}, "issuetype": {"name": ""}}, "body.fields.issuetype.name"),
        ({"project": {"key": 10000}, "issuetype": {"name": "Task"}}, "body.fields.project.key"),
        ({"issuetype": {"name": "Task"}}, "body.fields.project"),
    ],
)
def test_an_unaddressable_issue_is_422_naming_the_field(
    fake: FakeApi, fields: dict[str, Any], where: str
) -> None:
    status, answer, _ = call(create({"fields": fields}))
    assert status == 422
    assert where in answer["error"]["errors"]


def test_header_limits_are_checked(fake: FakeApi) -> None:
    status, answer, _ = call(create(**{"idempotency-key": "k" * 256}))
    assert status == 422
    assert "at most 255 characters" in answer["error"]["errors"]["header.idempotency-key"]


def test_page_size_over_jiras_maximum_is_refused(fake: FakeApi) -> None:
    path = f"/tenants/{CLIENT_KEY}/projects"
    request = event("GET", path, route="/tenants/{clientKey}/projects", query={"maxResults": "101"})
    status, answer, _ = call(request)
    assert status == 422
    assert "less than or equal to 100" in answer["error"]["errors"]["query.maxResults"]


def test_an_unknown_route_is_404_in_the_error_shape(fake: FakeApi) -> None:
    status, answer, _ = call(event("GET", "/nowhere", route="/nowhere"))
    assert (status, answer["error"]["type"]) == (404, "RouteNotFound")


# --- errors: one table, by type --------------------------------------------------------------------------

RETRY = 7.2


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (InvalidMessage("breaks the contract", errors={"issue.fields": "x"}), 422),
        (MessageTooLarge("the issue message is 300000 bytes"), 413),
        (UnknownTenant("no tenant", client_key=CLIENT_KEY), 404),
        (TenantUninstalled("uninstalled", client_key=CLIENT_KEY), 410),
        (MalformedTenantRecord("broken", client_key=CLIENT_KEY), 502),
        (DisallowedBaseUrl("host refused"), 502),
        (JiraAuthenticationFailed("401 twice", status=401), 502),
        (AnonymousRequest("ignored our auth", status=400), 502),
        (ActAsUserUnavailable("no oauthClientId"), 403),
        (JiraBadRequest("400", status=400, errors={"summary": "required"}), 400),
        (JiraForbidden("403", status=403, error_messages=["WRITE scope required"]), 403),
        (JiraNotFound("404", status=404), 404),
        (JiraUnprocessable("422", status=422), 422),
        (RateLimited("429", status=429, retry_after=RETRY, rate_limit_reason="jira-burst-based"), 429),
        (JiraUnavailable("503", status=503, retry_after=RETRY), 503),
        (ConnectionFailed("refused"), 502),
        (ResponseTimeout("no answer"), 504),
        (ConnectionLost("reset"), 502),
        (JiraServerError("500", status=500), 502),
        (DeliveryInProgress("held", retry_after=RETRY), 409),
        (IdempotencyStoreUnavailable("dynamodb down"), 503),
        (ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "GetSecretValue"), 503),
        (SettingsError("TENANT_SECRET_PREFIX is required but is not set"), 500),
        (RuntimeError("a bug"), 500),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_each_error_type_has_its_status_in_the_one_error_shape(
    fake: FakeApi, error: Exception, status: int
) -> None:
    fake.error = error
    got, answer, headers = call(create())

    assert got == status
    assert set(answer) == {"error"}
    detail = answer["error"]
    assert set(detail) == {
        "type",
        "status",
        "message",
        "errorMessages",
        "errors",
        "retryAfter",
        "rateLimitReason",
    }
    assert detail["status"] == status
    if getattr(error, "retry_after", None) is not None:
        # Whole seconds, rounded up, in the body and the header alike.
        assert (detail["retryAfter"], headers["Retry-After"]) == (8, "8")
    else:
        assert "Retry-After" not in headers


def test_jiras_field_errors_and_rate_limit_reason_pass_through(fake: FakeApi) -> None:
    fake.error = JiraBadRequest(
        "Jira answered 400", status=400, error_messages=["bad"], errors={"customfield_1": "not a number"}
    )
    detail = call(create())[1]["error"]
    assert (detail["type"], detail["errorMessages"], detail["errors"]) == (
        "JiraBadRequest",
        ["bad"],
        {"customfield_1": "not a number"},
    )
    fake.error = RateLimited("429", status=429, retry_after=30, rate_limit_reason="jira-quota-tenant-based")
    assert call(create())[1]["error"]["rateLimitReason"] == "jira-quota-tenant-based"


def test_an_ambiguous_create_says_the_issue_may_exist_and_how_to_retry_safely(fake: FakeApi) -> None:
    fake.error = ResponseTimeout("POST /rest/api/3/issue: sent, no answer in time")
    with_key = call(create(**{"idempotency-key": "k-9"}))[1]["error"]["message"]
    without = call(create())[1]["error"]["message"]
    assert "may have been created" in with_key
    assert "same Idempotency-Key is safe" in with_key
    assert "Send an Idempotency-Key header" in without


def test_a_bug_is_500_without_its_text(fake: FakeApi) -> None:
    fake.error = RuntimeError("secret=hunter2")
    status, answer, _ = call(create())
    assert status == 500
    assert answer["error"]["type"] == "InternalError"
    assert "hunter2" not in json.dumps(answer)


def test_preferences_are_parsed_as_rfc_7240_lists() -> None:
    assert app.preferences(None) == set()
    assert app.preferences(" Respond-Async ; x=1,wait=10 , handling=strict") == {
        "respond-async",
        "wait",
        "handling",
    }
