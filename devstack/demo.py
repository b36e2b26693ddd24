"""``make demo``: the service doing its job on the local stack, end to end.

1. Starts moto in server mode (SQS, Secrets Manager, DynamoDB) and the Jira emulator on loopback, and
   creates the queues and the idempotency table that template.yaml declares (same names, redrive policy).
2. Installs three tenants through the real lifecycle function: the emulator produces each signed
   ``installed`` request as Atlassian would, and the function verifies it and writes the tenant secret.
3. Pushes a realistic mix of issue messages: normal issues, duplicates (a producer's retry with the same
   idempotency key), poison messages (not JSON, contract violations, an unknown tenant, a project Jira
   rejects), while Jira throttles one tenant for a while.
4. Drains the queue with an event source mapping loop that behaves like Lambda's (batches up to BatchSize
   within the batching window, the queue's visibility timeout, partial batch responses, redelivery, the
   queue's redrive to the DLQ), invoking the real worker handler in warm execution environments.
5. Calls the API function: lists a tenant's projects and creates one issue synchronously.

The lifecycle callbacks and the API calls go over real HTTP to a local stand-in for API Gateway
(devstack.http_api) that routes them, as template.yaml declares, to the functions' execution environments.
6. Reports issues per tenant, duplicates found in Jira, dead letters by reason and the time taken. The
   figures come from the emulator and the DLQ, never from counters inside the worker, and are checked
   against what the pushed mix must produce; the exit code is 1 when they disagree.

Everything started is stopped on success, on failure and on Ctrl-C. Function logs go to
build/demo/functions.log.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, TextIO
from urllib.parse import quote

import boto3
import requests
from tqdm import tqdm

from devstack.aws import aws_environment, running_moto_server
from devstack.http_api import HttpApiServer, routes_of
from devstack.invoke import ExecutionEnvironment, build_environment
from devstack.jira_emulator.control_client import EmulatorControl
from devstack.local_stack import REPO, LocalResources, provision, running_emulator
from devstack.template import Template

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

__all__ = ["DemoPlan", "DemoReport", "main", "run_demo"]

STACK_NAME: Final = "jira-issue-creator"
APP_KEY: Final = "com.example.jira-issue-creator"
#: The app's public URL: the `aud` of signed installs. The demo delivers callbacks itself, so it is
#: never contacted.
APP_BASE_URL: Final = "https://jira-issue-creator.example.com"
DEMO_PARAMETERS: Final = {
    "AWS::StackName": STACK_NAME,
    "AppKey": APP_KEY,
    "AppBaseUrl": APP_BASE_URL,
    "JiraAllowedHosts": "*.atlassian.net,*.jira.com,*.jira-dev.com,127.0.0.1",
    "JiraIndexLagSeconds": "1",
    # A shorter invocation shortens the lease a racing duplicate waits out (the queue's visibility
    # timeout stays at its 6x default); still above the Jira client's connect + read timeouts.
    "IssueWorkerTimeout": "20",
}
WORKER: Final = "IssueWorkerFunction"
LIFECYCLE: Final = "LifecycleFunction"
API: Final = "ApiFunction"
TENANT_NAMES: Final = ("acme", "globex", "initech", "umbrella", "hooli")
THROTTLED_REQUESTS: Final = 4
THROTTLE_RETRY_AFTER_SECONDS: Final = 2
RECEIVE_WAIT_SECONDS: Final = 1
DRAIN_TIMEOUT_SECONDS: Final = 240.0
HTTP_TIMEOUT_SECONDS: Final = 30
LOG_FILE: Final = REPO / "build" / "demo" / "functions.log"


@dataclass(frozen=True)
class PlannedMessage:
    body: str
    tenant: str | None  # None: the message must not become an issue
    reason: str | None = None  # the ErrorType its dead letter must carry
    key: str | None = None  # the idempotency key, for counting the issues it must produce


@dataclass
class DemoPlan:
    """The pushed mix, and what it must produce: counted from the plan, not from the service."""

    messages: list[PlannedMessage] = field(default_factory=list)

    def expected_issues(self) -> Counter[str]:
        unique = {(m.tenant, m.key) for m in self.messages if m.tenant is not None and m.reason is None}
        return Counter(tenant for tenant, _ in unique if tenant is not None)

    def expected_dead_letters(self) -> Counter[str]:
        return Counter(m.reason for m in self.messages if m.reason is not None)


@dataclass
class DemoReport:
    seconds: float
    pushed: int
    issues_per_tenant: dict[str, int]
    issues_listed: dict[str, int]
    expected_issues: dict[str, int]
    duplicates: list[dict[str, Any]]
    dead_letters: dict[str, int]
    expected_dead_letters: dict[str, int]
    dead_letter_examples: dict[str, str]
    rate_limited: dict[str, int]
    api: dict[str, Any]

    @property
    def consistent(self) -> bool:
        return (
            self.issues_per_tenant == self.expected_issues == self.issues_listed
            and not self.duplicates
            and self.dead_letters == self.expected_dead_letters
            and bool(self.api.get("created"))
        )

    def render(self) -> str:
        lines = [f"Demo finished in {self.seconds:.1f} s: {self.pushed} messages pushed", ""]
        lines.append("Issues in Jira (from the emulator)      created   expected")
        for tenant in sorted(self.expected_issues):
            created, expected = self.issues_per_tenant.get(tenant, 0), self.expected_issues[tenant]
            lines.append(f"  {tenant:<38}{created:>7}{expected:>11}")
        lines.append(f"Duplicates found in Jira: {len(self.duplicates)}")
        lines.append("Dead letters (from the DLQ, by ErrorType)   count   expected")
        for reason in sorted(set(self.dead_letters) | set(self.expected_dead_letters)):
            lines.append(
                f"  {reason:<42}{self.dead_letters.get(reason, 0):>5}"
                f"{self.expected_dead_letters.get(reason, 0):>11}"
            )
            if reason in self.dead_letter_examples:
                lines.append(f"      e.g. {self.dead_letter_examples[reason][:100]}")
        throttles = ", ".join(f"{k}: {v}" for k, v in sorted(self.rate_limited.items())) or "none"
        lines.append(f"Jira answered 429 (by RateLimit-Reason): {throttles}")
        lines.append(
            f"API: {self.api.get('projects', '?')} projects listed for {self.api.get('tenant')}; "
            f"created {self.api.get('created') or 'nothing'} synchronously"
        )
        lines.append("")
        lines.append("Report agrees with the pushed mix." if self.consistent else "MISMATCH: see above.")
        return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devstack demo", description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300, help="how many messages to push (default 300)")
    parser.add_argument("--tenants", type=int, default=3, choices=range(1, len(TENANT_NAMES) + 1))
    parser.add_argument("--concurrency", type=int, default=2, help="worker execution environments")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.messages < 40:
        parser.error("--messages must be at least 40 (the mix needs room for every kind of message)")
    report = run_demo(args.messages, args.tenants, args.concurrency, args.seed, sys.stderr)
    sys.stdout.write(report.render())
    return 0 if report.consistent else 1


def run_demo(messages: int, tenants: int, concurrency: int, seed: int, progress: TextIO) -> DemoReport:
    started = time.monotonic()
    LOG_FILE.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack, LOG_FILE.open("w", encoding="utf-8") as log:
        moto = stack.enter_context(running_moto_server())
        stack.enter_context(_environment(aws_environment(moto.endpoint_url)))
        emulator_url = stack.enter_context(running_emulator()).url
        control = EmulatorControl(emulator_url)
        template = Template.load(REPO / "template.yaml", parameter_overrides=DEMO_PARAMETERS)
        resources = provision(template)
        functions = _start_functions(
            stack=stack,
            template=template,
            resources=resources,
            emulator_url=emulator_url,
            log=log,
            worker_concurrency=concurrency,
        )
        gateway = stack.enter_context(_http_api(template, functions))
        installed = _install_tenants(control, gateway.url, TENANT_NAMES[:tenants])
        throttled = installed[-1]
        control.add_fault(
            client_key=throttled,
            mode="rate_limit",
            status=429,
            retry_after=THROTTLE_RETRY_AFTER_SECONDS,
            count=THROTTLED_REQUESTS,
        )
        plan = _plan(messages, installed, random.Random(seed))
        queue_url = resources.queue_urls["IssueQueue"]
        _push(queue_url, plan)
        _drain(
            queue_url,
            resources,
            functions["workers"],
            len(plan.messages),
            progress,
        )
        api = _call_api(gateway.url, installed[0])
        stats = control.stats()
        # An independent look: every issue each tenant holds, not the emulator's counters.
        listed = {tenant: len(control.issues(tenant)) for tenant in installed}
        dead_letters, examples = _read_dead_letters(resources.queue_urls["IssueDeadLetterQueue"])
        expected = plan.expected_issues()
        if api.get("created"):
            expected[installed[0]] += 1
        return DemoReport(
            seconds=time.monotonic() - started,
            pushed=len(plan.messages),
            issues_per_tenant={k: int(v) for k, v in stats.get("issuesCreated", {}).items()},
            issues_listed=listed,
            expected_issues=dict(expected),
            duplicates=list(stats.get("duplicates", [])),
            dead_letters=dead_letters,
            expected_dead_letters=dict(plan.expected_dead_letters()),
            dead_letter_examples=examples,
            rate_limited={k: int(v) for k, v in stats.get("rateLimited", {}).items()},
            api=api,
        )


@contextlib.contextmanager
def _environment(variables: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    boto3.setup_default_session()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _start_functions(
    *,
    stack: contextlib.ExitStack,
    template: Template,
    resources: LocalResources,
    emulator_url: str,
    log: TextIO,
    worker_concurrency: int,
) -> dict[str, Any]:
    shared = {
        "ISSUE_QUEUE_URL": resources.queue_urls["IssueQueue"],
        "DLQ_URL": resources.queue_urls["IssueDeadLetterQueue"],
        "IDEMPOTENCY_TABLE": resources.table_names["IdempotencyTable"],
        "CONNECT_INSTALL_KEYS_URL": f"{emulator_url}/__emu/install-keys",
        "POWERTOOLS_METRICS_NAMESPACE": "JiraIssueCreatorDemo",
    }
    functions: dict[str, Any] = {}
    for logical_id in (WORKER, LIFECYCLE, API):
        config = template.function_config(logical_id)
        environment = build_environment(
            config, env_vars={"Parameters": shared}, caller_env=os.environ, region=os.environ["AWS_REGION"]
        )
        copies = worker_concurrency if logical_id == WORKER else 1
        started = [
            stack.enter_context(ExecutionEnvironment(config, environment.variables, log=log))
            for _ in range(copies)
        ]
        functions[logical_id] = started[0]
        if logical_id == WORKER:
            functions["workers"] = started
    return functions


def _http_api(template: Template, functions: Mapping[str, Any]) -> HttpApiServer:
    """API Gateway on loopback: each route of the template goes to its function's execution environment."""
    function_of: dict[str, ExecutionEnvironment] = {}
    for logical_id in (LIFECYCLE, API):
        events = template.resolve(template.function_properties(logical_id).get("Events") or {}, logical_id)
        function_of.update({route: functions[logical_id] for route in routes_of(events)})

    def invoke(event: dict[str, Any], _context: Any) -> Any:
        return _invoke(function_of[event["routeKey"]], event)

    return HttpApiServer(invoke, routes=list(function_of), function_name="HttpApi")


def _install_tenants(control: EmulatorControl, gateway_url: str, names: Sequence[str]) -> list[str]:
    """Each tenant as Atlassian installs an app: the signed ``installed`` callback, over HTTP."""
    descriptor = requests.get(f"{gateway_url}/atlassian-connect.json", timeout=HTTP_TIMEOUT_SECONDS).json()
    installed = []
    for name in names:
        tenant = control.add_tenant(
            key=APP_KEY,
            client_key=f"jira:{uuid.UUID(int=random.Random(name).getrandbits(128))}",
            shared_secret=uuid.uuid4().hex + uuid.uuid4().hex,
            projects=[{"key": "OPS", "name": "Operations"}, {"key": "SUP", "name": "Support"}],
            descriptor=descriptor,
            app_base_url=APP_BASE_URL,
            slug=name,
        )
        callback = tenant["install"]
        answer = requests.request(
            callback["method"],
            gateway_url + callback["path"],
            headers=callback["headers"],
            data=json.dumps(callback["body"]),
            timeout=HTTP_TIMEOUT_SECONDS,
        )
        if answer.status_code not in (200, 204):
            raise RuntimeError(f"the lifecycle function refused the install of {name}: {answer.text}")
        installed.append(tenant["clientKey"])
    return installed


def _plan(total: int, tenants: Sequence[str], rnd: random.Random) -> DemoPlan:
    plan = DemoPlan()
    poison = [
        PlannedMessage('{"clientKey": "broken json', None, "InvalidMessage"),
        PlannedMessage(
            json.dumps({"clientKey": tenants[0], "issue": {"fields": "not an object"}}),
            None,
            "InvalidMessage",
        ),
        PlannedMessage(json.dumps({"issue": _issue("no tenant named")}), None, "InvalidMessage"),
        PlannedMessage(
            json.dumps({"clientKey": "jira:not-installed", "issue": _issue("x")}), None, "UnknownTenant"
        ),
        PlannedMessage(
            json.dumps({"clientKey": tenants[0], "issue": _issue("unknown project", project="NOPE")}),
            None,
            "JiraBadRequest",
        ),
        PlannedMessage(
            json.dumps({"clientKey": tenants[-1], "issue": _issue("unknown type", issue_type="Saga")}),
            None,
            "JiraBadRequest",
        ),
    ]
    duplicates = max(total // 20, 2)
    normal = total - len(poison) - duplicates
    for i in range(normal):
        tenant = tenants[i % len(tenants)]
        key = f"demo-{i:05d}"
        body = {"clientKey": tenant, "idempotencyKey": key, "issue": _issue(f"Disk {i} nearly full", i=i)}
        plan.messages.append(PlannedMessage(json.dumps(body), tenant, key=key))
    for original in rnd.sample(plan.messages[:normal], duplicates):
        plan.messages.append(PlannedMessage(original.body, original.tenant, key=original.key))
    plan.messages.extend(poison)
    rnd.shuffle(plan.messages)
    return plan


def _issue(summary: str, *, project: str = "OPS", issue_type: str = "Task", i: int = 0) -> dict[str, Any]:
    return {
        "fields": {
            "project": {"key": project},
            "issuetype": {"name": issue_type},
            "summary": summary,
            "description": f"Raised by the demo's monitoring check #{i}.",
            "labels": ["demo", "ops"],
        }
    }


def _push(queue_url: str, plan: DemoPlan) -> None:
    sqs = boto3.client("sqs")
    for start in range(0, len(plan.messages), 10):
        entries: list[SendMessageBatchRequestEntryTypeDef] = [
            {"Id": str(n), "MessageBody": m.body} for n, m in enumerate(plan.messages[start : start + 10])
        ]
        failed = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed", [])
        if failed:
            raise RuntimeError(f"SQS refused demo messages: {failed}")


def _drain(
    queue_url: str,
    resources: LocalResources,
    workers: Sequence[ExecutionEnvironment],
    total: int,
    progress: TextIO,
) -> None:
    """Lambda's event source mapping for the issue queue: one poller per execution environment."""
    stop = threading.Event()
    arn = resources.queue_arns["IssueQueue"]
    threads = [
        threading.Thread(target=_poll, args=(queue_url, arn, worker, stop), daemon=True) for worker in workers
    ]
    for thread in threads:
        thread.start()
    sqs = boto3.client("sqs")
    deadline = time.monotonic() + DRAIN_TIMEOUT_SECONDS
    try:
        with tqdm(total=total, desc="messages settled", unit="msg", file=progress, dynamic_ncols=True) as bar:
            empty_checks = 0
            while empty_checks < 2:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the queue did not drain within {DRAIN_TIMEOUT_SECONDS:.0f} s")
                time.sleep(0.5)
                waiting = _messages_in(sqs, queue_url)
                bar.n = max(total - waiting, 0)
                bar.refresh()
                empty_checks = empty_checks + 1 if waiting == 0 else 0
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)


def _messages_in(sqs: Any, queue_url: str) -> int:
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in names)


def _poll(queue_url: str, queue_arn: str, worker: ExecutionEnvironment, stop: threading.Event) -> None:
    sqs = boto3.client("sqs")
    while not stop.is_set():
        received = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=RECEIVE_WAIT_SECONDS,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            continue
        result = worker.invoke(json.dumps(_sqs_event(received, queue_arn)).encode())
        failed: set[str] = set()
        if result.outcome == "ok":
            answer = json.loads(result.payload) or {}
            failed = {item["itemIdentifier"] for item in answer.get("batchItemFailures", [])}
        else:
            failed = {
                m["MessageId"] for m in received
            }  # the whole batch returns after its visibility timeout
        done = [m for m in received if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done)],
            )


def _sqs_event(messages: Sequence[Mapping[str, Any]], queue_arn: str) -> dict[str, Any]:
    region = queue_arn.split(":")[3]
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": dict(m.get("Attributes", {})),
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "binaryValue": value.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": value["DataType"],
                    }
                    for name, value in m.get("MessageAttributes", {}).items()
                },
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }


def _call_api(gateway_url: str, tenant: str) -> dict[str, Any]:
    tenant_url = f"{gateway_url}/tenants/{quote(tenant, safe='')}"
    listed = requests.get(f"{tenant_url}/projects", timeout=HTTP_TIMEOUT_SECONDS)
    created = requests.post(
        f"{tenant_url}/issues",
        json=_issue("Created through the HTTP API"),
        headers={"Idempotency-Key": "demo-api-1"},
        timeout=HTTP_TIMEOUT_SECONDS,
    )
    projects = listed.json() if listed.status_code == 200 else None
    count = len(projects) if isinstance(projects, list) else len((projects or {}).get("values", []))
    return {
        "tenant": tenant,
        "projects": count if projects is not None else f"error {listed.status_code}",
        "created": created.json().get("key") if created.status_code == 201 else None,
        "createStatus": created.status_code,
    }


def _invoke(function: ExecutionEnvironment, event: Mapping[str, Any]) -> Any:
    result = function.invoke(json.dumps(event).encode())
    if result.outcome != "ok":
        raise RuntimeError(f"{function.config.logical_id} failed: {result.payload}")
    return json.loads(result.payload)


def _read_dead_letters(dlq_url: str) -> tuple[dict[str, int], dict[str, str]]:
    sqs = boto3.client("sqs")
    reasons: Counter[str] = Counter()
    examples: dict[str, str] = {}
    while True:
        batch = sqs.receive_message(
            QueueUrl=dlq_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=300
        ).get("Messages", [])
        if not batch:
            break
        for message in batch:
            attributes: Mapping[str, Any] = message.get("MessageAttributes", {})
            reason = attributes.get("ErrorType", {}).get("StringValue", "no reason (redriven by SQS)")
            reasons[reason] += 1
            examples.setdefault(reason, attributes.get("ErrorMessage", {}).get("StringValue", ""))
    return dict(reasons), examples
