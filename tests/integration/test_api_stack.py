"""The API function's local stack, for every test_api_* module, and the local HTTP API's own behaviour.

``api`` (fixture): moto server (Secrets Manager, SQS, DynamoDB) with the issue queue and idempotency
table, the Jira emulator, and functions/api/app.py's ``lambda_handler`` served over real HTTP on loopback
by ``devstack.http_api`` with the routes template.yaml gives ApiFunction. Tests talk to it with
``requests``, as a caller would (API Gateway's IAM check is not emulated). ``api.add_tenant`` installs a
tenant the way the lifecycle function stores it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
import requests

from devstack.aws import MotoServer
from devstack.http_api import HttpApiServer, routes_of
from devstack.template import Template
from functions.api import app
from jira_connect.descriptor import app_descriptor
from jira_connect.idempotency_store import DynamoDBIdempotencyStore, IdempotencyKey, create_table
from jira_connect.tenant_store import SecretsManagerTenantStore
from tests.fixtures.emulator import EmulatorHandle

REPO = Path(__file__).resolve().parents[2]
APP_KEY = "com.example.jira-issue-creator"
SECRET_PREFIX = "jira-issue-creator/api-test/tenants/"
TABLE = "api-test-idempotency"
QUEUE = "api-test-issues"
#: Short enough for a test to provoke a timeout, long enough for the emulator's normal answers.
READ_TIMEOUT_SECONDS = 2
INDEX_LAG_SECONDS = 1
PROJECTS = ({"key": "OPS", "name": "Operations"}, {"key": "SUP", "name": "Support"})
REQUEST_TIMEOUT = 30


def api_routes() -> list[str]:
    """ApiFunction's route keys, from template.yaml: the API is served with exactly the routes it deploys."""
    template = Template.load(REPO / "template.yaml")
    return list(routes_of(template.function_properties("ApiFunction").get("Events") or {}))


def issue_body(summary: str = "Disk full on db-1", **fields: Any) -> dict[str, Any]:
    return {
        "fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": summary, **fields}
    }


@dataclass
class ApiStack:
    emulator: EmulatorHandle
    server: HttpApiServer
    queue_url: str
    session: requests.Session = field(default_factory=requests.Session)

    def __post_init__(self) -> None:
        self.secrets = SecretsManagerTenantStore(boto3.client("secretsmanager"), SECRET_PREFIX)
        self.store = DynamoDBIdempotencyStore(boto3.client("dynamodb"), TABLE)
        self.sqs = boto3.client("sqs")

    @property
    def url(self) -> str:
        return self.server.url

    def add_tenant(self, client_key: str | None = None, *, install: bool = True, **fields: Any) -> str:
        """A Jira site in the emulator and, with ``install``, its record as the lifecycle function stores."""
        client_key = client_key or f"jira:{secrets.token_hex(6)}"
        shared_secret = secrets.token_urlsafe(32)
        fields.setdefault("projects", [dict(p) for p in PROJECTS])
        answer = self.emulator.add_tenant(
            key=APP_KEY,
            client_key=client_key,
            shared_secret=shared_secret,
            descriptor=app_descriptor(app_key=APP_KEY, base_url="https://app.example.com"),
            **fields,
        )
        if install:
            self.secrets.save_installation(
                {
                    "key": APP_KEY,
                    "clientKey": client_key,
                    "sharedSecret": shared_secret,
                    "baseUrl": answer["baseUrl"],
                    "oauthClientId": answer["oauthClientId"],
                    "productType": "jira",
                    "eventType": "installed",
                }
            )
        return client_key

    # --- requests, as a caller sends them ---

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.url + path, timeout=REQUEST_TIMEOUT, **kwargs)

    def create(
        self,
        client_key: str,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        data: bytes | str | None = None,
    ) -> requests.Response:
        """POST /tenants/{clientKey}/issues: ``body`` as JSON (default: a valid issue), or raw ``data``."""
        url = f"{self.url}/tenants/{client_key}/issues"
        if data is not None:
            sent = {"Content-Type": "application/json", **(headers or {})}
            return self.session.post(url, data=data, headers=sent, timeout=REQUEST_TIMEOUT)
        payload = issue_body() if body is None else body
        return self.session.post(url, json=payload, headers=dict(headers or {}), timeout=REQUEST_TIMEOUT)

    # --- what happened behind it ---

    def jira_issues(self, client_key: str) -> list[dict[str, Any]]:
        return self.emulator.issues(client_key)

    def queued(self) -> list[dict[str, Any]]:
        answer = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
        )
        return list(answer.get("Messages", []))

    def record(self, client_key: str, key: str) -> Mapping[str, Any] | None:
        return self.store.lookup(IdempotencyKey(client_key, key))


@pytest.fixture(name="api")
def api_fixture(
    aws: MotoServer, jira_emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ApiStack]:
    queue_url = boto3.client("sqs").create_queue(QueueName=QUEUE)["QueueUrl"]
    create_table(boto3.client("dynamodb"), TABLE)
    environment = {
        "APP_KEY": APP_KEY,
        "TENANT_SECRET_PREFIX": SECRET_PREFIX,
        "ISSUE_QUEUE_URL": queue_url,
        "IDEMPOTENCY_TABLE": TABLE,
        "JIRA_ALLOWED_HOSTS": urlsplit(jira_emulator.url).hostname or "",
        "JIRA_READ_TIMEOUT": str(READ_TIMEOUT_SECONDS),
        "JIRA_INDEX_LAG_SECONDS": str(INDEX_LAG_SECONDS),
        "POWERTOOLS_SERVICE_NAME": "issue-api-test",
        # The emulator plays Atlassian's authorization server too (acting as a user).
        "OAUTH_TOKEN_URL": f"{jira_emulator.url}/oauth2/token",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    app.runtime.cache_clear()
    server = HttpApiServer(app.lambda_handler, routes=api_routes()).start()
    stack = ApiStack(jira_emulator, server, queue_url)
    try:
        yield stack
    finally:
        server.stop()
        stack.session.close()
        app.runtime.cache_clear()


# --- the local HTTP API itself -----------------------------------------------------------------------------


def test_routes_come_from_the_template() -> None:
    assert sorted(api_routes()) == [
        "GET /tenants/{clientKey}/projects",
        "GET /tenants/{clientKey}/projects/{projectKeyOrId}",
        "POST /tenants/{clientKey}/issues",
    ]


def test_a_path_no_route_takes_is_refused_by_the_gateway_without_invoking_the_function() -> None:
    calls: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        calls.append(event)
        return {"statusCode": 204}

    with HttpApiServer(handler, routes=api_routes()) as server:
        answer = requests.get(f"{server.url}/tenants/a/b/c/d", timeout=REQUEST_TIMEOUT)
        ok = requests.get(f"{server.url}/tenants/jira%3Aabc/projects?query=a+b&query=c", timeout=10)

    assert answer.status_code == 404
    assert answer.json() == {"message": "Not Found"}
    assert ok.status_code == 204
    [event] = calls
    # As API Gateway: the path decoded, the query as sent, repeated names joined with commas.
    assert event["rawPath"] == "/tenants/jira:abc/projects"
    assert event["rawQueryString"] == "query=a+b&query=c"
    assert event["queryStringParameters"] == {"query": "a b,c"}
    assert event["routeKey"] == "GET /tenants/{clientKey}/projects"
    assert event["pathParameters"] == {"clientKey": "jira:abc"}


def test_a_binary_body_arrives_base64_encoded_and_a_raising_handler_is_a_gateway_500() -> None:
    events: list[dict[str, Any]] = []

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        events.append(event)
        if event["isBase64Encoded"]:
            raise RuntimeError("boom")
        return {
            "statusCode": 200,
            "body": json.dumps({"remainingMs": context.get_remaining_time_in_millis()}),
        }

    with HttpApiServer(handler) as server:
        text = requests.post(server.url + "/x", json={"a": 1}, timeout=REQUEST_TIMEOUT)
        binary = requests.post(
            server.url + "/x",
            data=b"\xff\x00",
            headers={"Content-Type": "application/octet-stream"},
            timeout=10,
        )

    assert text.status_code == 200
    assert 0 < text.json()["remainingMs"] <= 29_000
    assert events[0]["body"] == '{"a": 1}'
    assert events[1]["body"] == "/wA="
    assert binary.status_code == 500
    assert binary.json() == {"message": "Internal Server Error"}
