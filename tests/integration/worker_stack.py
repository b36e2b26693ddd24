"""The issue worker's local stack for integration tests: moto server (SQS, DynamoDB, Secrets Manager) and
the Jira emulator, with the queues, table and tenant secrets the worker expects, and a stand-in for
Lambda's SQS event source mapping (receive a batch, invoke the handler, delete what it did not report).
"""

from __future__ import annotations

import base64
import json
import os
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest

from devstack.aws import MotoServer
from devstack.jira_emulator import EmulatorControl
from functions.issue_worker import app
from jira_connect.dead_letter import SqsDeadLetterQueue
from jira_connect.descriptor import app_descriptor
from jira_connect.idempotency_store import DynamoDBIdempotencyStore, create_table
from jira_connect.issue_queue import SqsIssueQueue
from jira_connect.jira_client import JiraClients
from jira_connect.tenant_store import SecretsManagerTenantStore
from jira_connect.worker import IssueWorker
from jira_connect.worker_settings import WorkerSettings

APP_KEY = "com.example.jira-issue-creator"
SECRET_PREFIX = "jira-issue-creator/tenants/"
TABLE = "issue-idempotency"
#: Jira's index lag in the emulator, and the worker's setting for it (a little longer).
INDEX_LAG_MS = 600
INDEX_LAG_SECONDS = 1
DEFAULT_REMAINING_MS = 60_000
MAX_RECEIVE_COUNT = 6
SHARED_SECRET_LENGTH = 43
METRICS_NAMESPACE = "JiraIssueCreatorTest"


@dataclass
class FakeContext:
    """What Powertools and the handler read from a Lambda context."""

    remaining_ms: int = DEFAULT_REMAINING_MS
    function_name: str = "IssueWorkerFunction"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:IssueWorkerFunction"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return int(self.remaining_ms - (time.monotonic() - self.started) * 1000)


@dataclass
class Tenant:
    client_key: str
    shared_secret: str
    base_url: str


@dataclass
class WorkerStack:
    """Everything a worker test touches."""

    emulator: EmulatorControl
    moto: MotoServer
    queue_url: str
    dlq_url: str
    env: dict[str, str]
    fifo: bool = False
    tenants: dict[str, Tenant] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sqs = boto3.client("sqs")
        self.secrets = SecretsManagerTenantStore(boto3.client("secretsmanager"), SECRET_PREFIX)

    # --- tenants ---

    def add_tenant(
        self, client_key: str, *, scopes: tuple[str, ...] = ("READ", "WRITE"), install: bool = True
    ) -> Tenant:
        """A tenant in the emulator (indexing the idempotency property) and, if ``install``, its secret."""
        secret = f"secret-{client_key}-".ljust(SHARED_SECRET_LENGTH, "x")
        answer = self.emulator.add_tenant(
            key=APP_KEY,
            client_key=client_key,
            shared_secret=secret,
            scopes=list(scopes),
            projects=[{"key": "OPS", "name": "Operations"}, {"key": "SUP", "name": "Support"}],
            descriptor=app_descriptor(app_key=APP_KEY, base_url="https://app.example.com"),
        )
        if install:
            self.install_record(
                {
                    "key": APP_KEY,
                    "clientKey": client_key,
                    "sharedSecret": secret,
                    "baseUrl": answer["baseUrl"],
                    "oauthClientId": answer["oauthClientId"],
                    "productType": "jira",
                    "eventType": "installed",
                }
            )
        tenant = Tenant(client_key, secret, answer["baseUrl"])
        self.tenants[client_key] = tenant
        return tenant

    def install_record(self, record: Mapping[str, Any]) -> None:
        """Store a tenant record as the lifecycle function would (any content: tests break it on purpose)."""
        self.secrets.save_installation(record)

    # --- the queue ---

    def send(self, body: Mapping[str, Any] | str, *, group: str | None = None, delay: int = 0) -> str:
        text = body if isinstance(body, str) else json.dumps(body)
        extra: dict[str, Any] = {}
        if self.fifo:
            extra = {"MessageGroupId": group or "default", "MessageDeduplicationId": str(uuid.uuid4())}
        elif delay:
            extra = {"DelaySeconds": delay}
        return self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=text, **extra)["MessageId"]

    def receive_event(self, max_messages: int = 10, *, wait: float = 0.0) -> dict[str, Any]:
        """Up to ``max_messages`` messages as a Lambda SQS event (waiting up to ``wait`` s for the first)."""
        deadline = time.monotonic() + wait
        records: list[dict[str, Any]] = []
        while True:
            answer = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=max_messages - len(records),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            records.extend(_record(m, self.queue_url) for m in answer.get("Messages", []))
            if records or time.monotonic() >= deadline:
                return {"Records": records}
            time.sleep(0.1)

    def invoke(self, event: Mapping[str, Any], *, remaining_ms: int = DEFAULT_REMAINING_MS) -> dict[str, Any]:
        """The handler, as Lambda calls it, then what the event source mapping does with its answer."""
        response: dict[str, Any] = app.lambda_handler(dict(event), FakeContext(remaining_ms))
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        for record in event["Records"]:
            if record["messageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=record["receiptHandle"])
        return response

    def dead_letters(self) -> list[dict[str, Any]]:
        """Everything in the DLQ: ``body`` and ``attributes`` (name -> string value)."""
        letters: list[dict[str, Any]] = []
        while True:
            answer = self.sqs.receive_message(
                QueueUrl=self.dlq_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                VisibilityTimeout=60,
            )
            messages = answer.get("Messages", [])
            if not messages:
                return letters
            letters.extend(
                {
                    "body": m["Body"],
                    "attributes": {
                        k: v.get("StringValue") for k, v in m.get("MessageAttributes", {}).items()
                    },
                }
                for m in messages
            )

    def issues(self, client_key: str) -> list[dict[str, Any]]:
        return self.emulator.issues(client_key)

    def duplicates(self) -> list[Any]:
        duplicates: list[Any] = self.emulator.stats()["duplicates"]
        return duplicates

    def requests_to(self, client_key: str, endpoint: str) -> int:
        """Requests the emulator saw from ``client_key`` to routes ending in ``endpoint`` ("issue/bulk",
        "search/jql", "{v}/issue" for single creates)."""
        by_route = self.emulator.stats()["requests"].get(client_key, {})
        return sum(sum(statuses.values()) for route, statuses in by_route.items() if route.endswith(endpoint))


def _record(message: Mapping[str, Any], queue_url: str) -> dict[str, Any]:
    attributes: dict[str, Any] = {}
    for name, value in message.get("MessageAttributes", {}).items():
        converted: dict[str, Any] = {
            "dataType": value["DataType"],
            "stringListValues": [],
            "binaryListValues": [],
        }
        if "StringValue" in value:
            converted["stringValue"] = value["StringValue"]
        if "BinaryValue" in value:
            converted["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
        attributes[name] = converted
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": attributes,
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:" + queue_url.rsplit("/", 1)[-1],
        "awsRegion": "us-east-1",
    }


def issue_body(
    client_key: str,
    summary: str = "Disk full on db-1",
    *,
    key: str | None = None,
    act_as_user: str | None = None,
    project: str = "OPS",
    issue_type: str = "Task",
    **fields: Any,
) -> dict[str, Any]:
    """An issue message; ``fields`` are further issue fields."""
    all_fields = {
        "project": {"key": project},
        "issuetype": {"name": issue_type},
        "summary": summary,
        **fields,
    }
    body: dict[str, Any] = {"clientKey": client_key, "issue": {"fields": all_fields}}
    if key is not None:
        body["idempotencyKey"] = key
    if act_as_user is not None:
        body["actAsUser"] = act_as_user
    return body


def build_stack(
    aws: MotoServer,
    control: EmulatorControl,
    monkeypatch: pytest.MonkeyPatch,
    *,
    fifo: bool = False,
    env: Mapping[str, str] | None = None,
) -> WorkerStack:
    """Queues, table and settings for one test; ``control`` is the (reset) emulator."""
    control.configure({"search": {"indexLagMs": INDEX_LAG_MS}})
    sqs = boto3.client("sqs")
    suffix = ".fifo" if fifo else ""
    fifo_attributes = {"FifoQueue": "true"} if fifo else {}
    dlq_url = sqs.create_queue(
        QueueName=f"issue-dlq{suffix}", Attributes={"MessageRetentionPeriod": "1209600", **fifo_attributes}
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue_url = sqs.create_queue(
        QueueName=f"issues{suffix}",
        Attributes={
            "VisibilityTimeout": "360",
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
            ),
            **fifo_attributes,
        },
    )["QueueUrl"]
    create_table(boto3.client("dynamodb"), TABLE)
    settings = {
        "ISSUE_QUEUE_URL": queue_url,
        "DLQ_URL": dlq_url,
        "IDEMPOTENCY_TABLE": TABLE,
        "TENANT_SECRET_PREFIX": SECRET_PREFIX,
        "JIRA_ALLOWED_HOSTS": "127.0.0.1",
        "JIRA_CONNECT_TIMEOUT": "1",
        "JIRA_READ_TIMEOUT": "3",
        "JIRA_INDEX_LAG_SECONDS": str(INDEX_LAG_SECONDS),
        "OAUTH_TOKEN_URL": f"{control.url}/oauth2/token",
        "MAX_ATTEMPTS": str(MAX_RECEIVE_COUNT - 1),
        # Waits happen in the queue, not in the test: deterministic, and observable.
        "MAX_INLINE_WAIT_SECONDS": "0",
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        **(env or {}),
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    # On Lambda the environment is set before the module is imported; here, after.
    monkeypatch.setattr(app.metrics, "namespace", METRICS_NAMESPACE)
    app.runtime.cache_clear()
    return WorkerStack(control, aws, queue_url, dlq_url, settings, fifo=fifo)


def close_runtime() -> None:
    """Forget the cached execution environment (as a new Lambda instance would start)."""
    if app.runtime.cache_info().currsize:
        app.runtime().worker.close()
    app.runtime.cache_clear()


@pytest.fixture(name="stack")
def stack_fixture(
    aws: MotoServer, jira_emulator: EmulatorControl, monkeypatch: pytest.MonkeyPatch
) -> Iterator[WorkerStack]:
    """A standard issue queue with its DLQ, the table, and a clean emulator."""
    yield build_stack(aws, jira_emulator, monkeypatch)
    close_runtime()


def make_worker(store: DynamoDBIdempotencyStore | None = None) -> IssueWorker:
    """A second, independent execution environment (its own clients, pools and caches), wired as the
    handler wires its own; ``store`` replaces the idempotency store (to crash it, or move its clock)."""
    settings = WorkerSettings.from_env(os.environ)
    built = app.build_runtime(settings)
    if store is None:
        return built.worker
    built.worker.close()
    sqs = boto3.client("sqs")
    tenants = SecretsManagerTenantStore(boto3.client("secretsmanager"), settings.jira.tenant_secret_prefix)
    return IssueWorker(
        clients=JiraClients.from_settings(settings.jira, tenants),
        store=store,
        dead_letters=SqsDeadLetterQueue(sqs, settings.dlq_url),
        queue=SqsIssueQueue(sqs, settings.issue_queue_url),
        options=settings.worker_options(),
    )


def redelivered(event: Mapping[str, Any]) -> dict[str, Any]:
    """``event`` as SQS would deliver it once more (same messages and receipt handles, one more receive)."""
    records = []
    for record in event["Records"]:
        attributes = dict(record["attributes"])
        attributes["ApproximateReceiveCount"] = str(int(attributes["ApproximateReceiveCount"]) + 1)
        records.append({**record, "attributes": attributes})
    return {"Records": records}


@pytest.fixture(name="fifo_stack")
def fifo_stack_fixture(
    aws: MotoServer, jira_emulator: EmulatorControl, monkeypatch: pytest.MonkeyPatch
) -> Iterator[WorkerStack]:
    """A FIFO issue queue with a FIFO DLQ."""
    yield build_stack(aws, jira_emulator, monkeypatch, fifo=True)
    close_runtime()
