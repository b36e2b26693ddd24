"""Benchmark: the issue worker against a naive implementation, draining the same kind of queue, one run.

    PYTHONPATH=layers/jira_connect:. .venv/bin/python -m bench.worker_throughput [--messages 1000]

Processes, so that nothing shares the GIL with the code under test: the Jira emulator (250 ms latency on
every Jira request: its ``latency`` fault); moto server for DynamoDB and Secrets Manager; moto server
for SQS (separate, as in AWS: moto's ReceiveMessage is CPU-heavy); the event source mapping and the
producers (below); and this process, which runs the handlers. Set-up (not timed): five tenants with
their Secrets Manager records, the issue queue with its DLQ, the idempotency table.

Draining, the same for both sides: ``--messages`` messages spread at random over the tenants flow
through the queue to the handler in batches of 10, one batch after another, as one Lambda instance
(concurrency 1 on both sides). The event source mapping process does what Lambda's pollers do, outside
the function's time: it receives the next batch of 10 while the function works on the current one, and
deletes what the function acknowledged (everything not in ``batchItemFailures``). Its producers keep
BACKLOG messages ahead of the drain rather than sending all of them first, because moto's receive costs
time in proportion to the whole queue (2 s per receive with 1,000 waiting). The drain is timed from the
first batch to the last delete.

* worker: ``functions/issue_worker/app.lambda_handler`` as deployed (its cold start included).
* naive: what the forum thread's authors would write: for each message in turn, read the tenant's secret
  from Secrets Manager, sign a Connect JWT (PyJWT, correct qsh, ``Authorization: JWT``) and POST
  ``/rest/api/2/issue`` with ``requests.post`` (a new connection each time).

Measured: drain time for each and the ratio (goal: the worker at least 8x faster), the issues each side
created (all of them, none twice), where a worker batch's time goes (before the first Jira call: parsing
and the idempotency claims; Jira; after: completions and SQS), and the time the worker takes for one
batch of 10 messages of one tenant against one Jira round trip (a single create on a warm pooled
connection; goal: under 2x). Results: printed and written to bench/results/worker_throughput.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import multiprocessing
import os
import platform
import queue
import random
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import jwt
import requests

from devstack.aws import aws_environment, running_moto_server
from devstack.jira_emulator.control_client import EmulatorControl
from devstack.local_stack import running_service
from jira_connect.descriptor import app_descriptor
from jira_connect.idempotency_store import create_table
from jira_connect.jira_client import JiraClients
from jira_connect.qsh import query_string_hash
from jira_connect.settings import Settings
from jira_connect.tenant import tenant_secret_name
from jira_connect.tenant_store import SecretsManagerTenantStore
from jira_connect.worker import BatchReport, IssueWorker

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "worker_throughput.json"
APP_KEY = "com.example.jira-issue-creator"
SECRET_PREFIX = "bench/tenants/"
TENANTS = tuple(f"jira:bench-tenant-{n}" for n in range(1, 6))
LATENCY_MS = 250
BATCH_SIZE = 10
SPEEDUP_GOAL = 8.0
BATCH_VS_ROUND_TRIP_GOAL = 2.0
ROUND_TRIP_SAMPLES = 7
ONE_TENANT_BATCHES = 7
START_TIMEOUT_SECONDS = 60
TOKEN_TTL_SECONDS = 180
#: REST v2, as the forum thread's code: its descriptions are plain strings.
NAIVE_CREATE_PATH = "/rest/api/2/issue"
STALL_SECONDS = 30.0
#: Messages sent ahead of those settled, so that full batches are always waiting (see EventSourceMapping).
BACKLOG = 30
DRAINED = "drained"
#: Niceness of the processes standing in for AWS's pollers and SQS.
BACKGROUND_NICENESS = 10
#: A partial batch is handed over once no message has arrived for this long (the last ones).
BATCH_GATHER_SECONDS = 0.2
READY = "ready"
Handler = Callable[[dict[str, Any], Any], Mapping[str, Any]]


# --- the local stack, each server in its own process -----------------------------------------------------


def serve_moto(*, background: bool = False) -> None:
    """Entry point of a moto process: serve until killed. ``background``: at a lower CPU priority (see
    EventSourceMapping.run)."""
    if background:
        os.nice(BACKGROUND_NICENESS)
    with running_moto_server() as server:
        print(f"moto listening on {server.endpoint_url}", flush=True)
        while True:
            time.sleep(3600)


@contextlib.contextmanager
def process(command: list[str], env: Mapping[str, str] | None = None) -> Iterator[str]:
    """Run ``command`` until the block ends; yields the URL it printed (devstack.local_stack)."""
    with running_service(command, env) as service:
        yield service.url


@dataclass
class Stack:
    emulator: EmulatorControl | None
    queue_url: str
    dlq_url: str
    tenants: dict[str, str] = field(default_factory=dict)  # clientKey -> baseUrl

    def __post_init__(self) -> None:
        self.sqs = boto3.client("sqs")

    @classmethod
    def for_queue(cls, queue_url: str) -> Stack:
        return cls(None, queue_url, "")

    def control(self) -> EmulatorControl:
        assert self.emulator is not None
        return self.emulator


def build_stack(emulator_url: str, moto_url: str, sqs_url: str) -> Stack:
    os.environ.update(aws_environment(moto_url))
    # SQS on its own moto server, as it is its own service in AWS: moto's receive is slow enough
    # (hundreds of ms) that sharing a process with DynamoDB would make SQS slow down the claims.
    os.environ["AWS_ENDPOINT_URL_SQS"] = sqs_url
    boto3.setup_default_session()
    emulator = EmulatorControl(emulator_url)
    sqs = boto3.client("sqs")
    dlq_url = sqs.create_queue(QueueName="bench-issues-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue_url = sqs.create_queue(
        QueueName="bench-issues",
        Attributes={
            "VisibilityTimeout": "360",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 6}),
        },
    )["QueueUrl"]
    create_table(boto3.client("dynamodb"), "bench-idempotency")
    stack = Stack(emulator, queue_url, dlq_url)
    store = SecretsManagerTenantStore(boto3.client("secretsmanager"), SECRET_PREFIX)
    for client_key in TENANTS:
        secret = uuid.uuid4().hex + uuid.uuid4().hex
        tenant = emulator.add_tenant(
            key=APP_KEY,
            client_key=client_key,
            shared_secret=secret,
            descriptor=app_descriptor(app_key=APP_KEY, base_url="https://app.example.com"),
        )
        store.save_installation(
            {"key": APP_KEY, "clientKey": client_key, "sharedSecret": secret, "baseUrl": tenant["baseUrl"]}
        )
        stack.tenants[client_key] = tenant["baseUrl"]
    emulator.add_fault(mode="latency", latency_ms=LATENCY_MS)
    os.environ.update(
        {
            "ISSUE_QUEUE_URL": queue_url,
            "DLQ_URL": dlq_url,
            "IDEMPOTENCY_TABLE": "bench-idempotency",
            "TENANT_SECRET_PREFIX": SECRET_PREFIX,
            "JIRA_ALLOWED_HOSTS": "127.0.0.1",
            "POWERTOOLS_SERVICE_NAME": "issue-worker",
            "POWERTOOLS_METRICS_NAMESPACE": "JiraIssueCreatorBench",
        }
    )
    return stack


# --- Lambda's event source mapping, by hand -------------------------------------------------------------


class Context:
    """The parts of a Lambda context the handlers read; 60 s per invocation, like the template's timeout."""

    function_name = "bench"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self._deadline = time.monotonic() + 60

    def get_remaining_time_in_millis(self) -> int:
        return int((self._deadline - time.monotonic()) * 1000)


def send(stack: Stack, bodies: list[dict[str, Any]]) -> None:
    for start in range(0, len(bodies), BATCH_SIZE):
        entries: list[SendMessageBatchRequestEntryTypeDef] = [
            {"Id": str(i), "MessageBody": json.dumps(body)}
            for i, body in enumerate(bodies[start : start + BATCH_SIZE])
        ]
        stack.sqs.send_message_batch(QueueUrl=stack.queue_url, Entries=entries)


def receive(stack: Stack, most: int = BATCH_SIZE) -> list[dict[str, Any]]:
    answer = stack.sqs.receive_message(
        QueueUrl=stack.queue_url,
        MaxNumberOfMessages=most,
        AttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    return [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m.get("Attributes", {}),
            "messageAttributes": {},
            "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:bench-issues",
            "awsRegion": "us-east-1",
        }
        for m in answer.get("Messages", [])
    ]


def invoke(stack: Stack, handler: Handler, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One invocation; returns the records to delete (those not reported in ``batchItemFailures``)."""
    response = handler({"Records": records}, Context())
    failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
    return [r for r in records if r["messageId"] not in failed]


def delete(stack: Stack, receipt_handles: list[str]) -> None:
    if receipt_handles:
        stack.sqs.delete_message_batch(
            QueueUrl=stack.queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": handle} for i, handle in enumerate(receipt_handles)],
        )


class EventSourceMapping:
    """Lambda's SQS event source mapping and the producers, in a process of their own (they run on AWS's
    and the producers' machines, not the function's). It keeps BACKLOG messages waiting, receives the
    next batch while the function works on the current one, hands batches over a pipe one at a time, and
    deletes what the function acknowledged (the receipt handles sent back) in the background.

    The backlog is bounded because moto's ReceiveMessage costs time in proportion to the whole queue
    (about 2 s per receive with 1,000 messages waiting; SQS's does not), so the messages are sent as the
    queue drains instead of all at once, for both sides alike.
    """

    def __init__(self, queue_url: str, bodies: list[dict[str, Any]]) -> None:
        self.stack = Stack.for_queue(queue_url)
        self.bodies = bodies
        self.ready: queue.Queue[list[dict[str, Any]]] = queue.Queue(maxsize=1)
        self.to_delete: queue.Queue[list[str] | None] = queue.Queue()
        self.stop = threading.Event()
        self.settled = 0  # deleted or reported failed: the feeder stays BACKLOG ahead of it

    @classmethod
    def run(cls, conn: Connection, environment: dict[str, str], bodies: list[dict[str, Any]]) -> None:
        """The child process's entry point. On AWS the pollers and SQS run on other machines; here they
        share two cores with the function, so they run at a lower CPU priority (as does the SQS moto
        server), for both sides alike."""
        os.nice(BACKGROUND_NICENESS)
        os.environ.update(environment)
        boto3.setup_default_session()
        cls(environment["ISSUE_QUEUE_URL"], bodies).serve(conn)

    def serve(self, conn: Connection) -> None:
        conn.send(READY)  # set up (imports, clients): the drain is timed from the answer to this
        conn.recv()
        threads = [threading.Thread(target=f) for f in (self.feed, self.poll, self.remove)]
        for thread in threads:
            thread.start()
        try:
            while not (conn.poll() and conn.recv() is None):
                try:
                    records = self.ready.get(timeout=0.05)
                except queue.Empty:
                    continue
                conn.send(records)
                handles = conn.recv()
                if handles is None:
                    break
                self.settled += len(records)
                self.to_delete.put(handles)
        finally:
            self.to_delete.put(None)
            self.stop.set()
            for thread in threads:
                thread.join()
            conn.send(DRAINED)

    def feed(self) -> None:
        sent = 0
        while sent < len(self.bodies) and not self.stop.is_set():
            if sent - self.settled >= BACKLOG:
                time.sleep(0.005)
                continue
            chunk = self.bodies[sent : sent + BATCH_SIZE]
            send(self.stack, chunk)
            sent += len(chunk)

    def poll(self) -> None:
        """Batches of 10 ("Lambda-style"): receives are gathered until a batch is full, or until nothing
        more has come for BATCH_GATHER_SECONDS (the last messages)."""
        records: list[dict[str, Any]] = []
        last_arrival = time.monotonic()
        while not self.stop.is_set():
            received = receive(self.stack, BATCH_SIZE - len(records))
            if received:
                records.extend(received)
                last_arrival = time.monotonic()
            full = len(records) == BATCH_SIZE
            if not (full or (records and time.monotonic() - last_arrival > BATCH_GATHER_SECONDS)):
                time.sleep(0 if received else 0.005)
                continue
            while not self.stop.is_set():
                with contextlib.suppress(queue.Full):
                    self.ready.put(records, timeout=0.1)
                    break
            records = []

    def remove(self) -> None:
        while (handles := self.to_delete.get()) is not None:
            delete(self.stack, handles)


def drain(
    stack: Stack,
    handler: Handler,
    bodies: list[dict[str, Any]],
    *,
    on_warm: Callable[[], Any] | None = None,
) -> dict[str, Any]:
    """Invoke ``handler`` on each batch the event source mapping hands over, until every message is
    acknowledged (and deleted), or nothing has moved for STALL_SECONDS (failed messages wait out their
    visibility timeout: the result then shows them)."""
    environment = {name: value for name, value in os.environ.items() if name.startswith(("AWS_", "ISSUE_"))}
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    mapping = context.Process(target=EventSourceMapping.run, args=(child, environment, bodies))
    mapping.start()
    if parent.recv() != READY:
        raise RuntimeError("the event source mapping process did not start")
    parent.send(READY)
    batch_seconds: list[float] = []
    acknowledged = failures = 0
    phases: Phases | None = None
    started = last_progress = time.perf_counter()
    try:
        while acknowledged < len(bodies) and time.perf_counter() - last_progress < STALL_SECONDS:
            if not parent.poll(0.1):
                continue
            records: list[dict[str, Any]] = parent.recv()
            batch_started = time.perf_counter()
            done = invoke(stack, handler, records)
            last_progress = time.perf_counter()
            batch_seconds.append(last_progress - batch_started)
            parent.send([r["receiptHandle"] for r in done])
            if on_warm is not None and phases is None:
                phases = Phases(on_warm().worker)
            acknowledged += len(done)
            failures += len(records) - len(done)
            if len(batch_seconds) % 20 == 0:
                progress(f"{handler.__name__}: {len(batch_seconds)} batches, {failures} failed records")
    finally:
        parent.send(None)
        while parent.recv() != DRAINED:  # the last deletes are part of the drain
            pass
        mapping.join()
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "batches": len(batch_seconds),
        "failedRecords": failures,
        "medianBatchSeconds": round(statistics.median(batch_seconds), 3) if batch_seconds else None,
        **({"medianBatchPhasesMs": phases.medians_ms()} if phases is not None else {}),
    }


def progress(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- the naive implementation -----------------------------------------------------------------------------

_naive_secrets = None


def naive_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """One message at a time: secret, JWT, a fresh connection, POST. Correctly signed, and nothing more."""
    global _naive_secrets  # noqa: PLW0603 (the usual module-level client)
    if _naive_secrets is None:
        _naive_secrets = boto3.client("secretsmanager")
    failures = []
    for record in event["Records"]:
        try:
            message = json.loads(record["body"])
            secret_name = tenant_secret_name(SECRET_PREFIX, message["clientKey"])
            tenant = json.loads(_naive_secrets.get_secret_value(SecretId=secret_name)["SecretString"])
            url = tenant["baseUrl"] + NAIVE_CREATE_PATH
            now = int(time.time())
            claims = {
                "iss": tenant["key"],
                "iat": now,
                "exp": now + TOKEN_TTL_SECONDS,
                "qsh": query_string_hash("POST", url, tenant["baseUrl"]),
            }
            token = jwt.encode(claims, tenant["sharedSecret"], algorithm="HS256")
            response = requests.post(
                url, json=message["issue"], headers={"Authorization": f"JWT {token}"}, timeout=10
            )
            response.raise_for_status()
        except Exception:  # retry the message later, as the forum code would
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


class Phases:
    """Where the worker's batches spend their time, from each batch's report: ``before`` the first Jira
    call (parsing, idempotency claims), ``jira`` (first call's start to last call's end), ``after``
    (idempotency completions, SQS). Wraps the warm execution environment's worker; measurement only."""

    def __init__(self, worker: IssueWorker) -> None:
        self.samples: dict[str, list[float]] = {"before": [], "jira": [], "after": []}
        self._process = worker.process
        setattr(worker, "process", self.process)  # noqa: B010 (instrumenting one instance)

    def process(self, records: Any, *, remaining: Callable[[], float]) -> BatchReport:
        started = time.monotonic()
        report = self._process(records, remaining=remaining)
        ended = time.monotonic()
        if report.jira_timings:
            first = min(t.started for t in report.jira_timings)
            last = max(t.started + t.seconds for t in report.jira_timings)
            self.samples["before"].append(first - started)
            self.samples["jira"].append(last - first)
            self.samples["after"].append(ended - last)
        return report

    def medians_ms(self) -> dict[str, float]:
        return {name: round(statistics.median(v) * 1000, 1) for name, v in self.samples.items() if v}


# --- the measurements ---------------------------------------------------------------------------------------


def messages(count: int, run: str, tenants: tuple[str, ...] = TENANTS, seed: int = 7) -> list[dict[str, Any]]:
    chooser = random.Random(seed)
    return [
        {
            "clientKey": chooser.choice(tenants),
            "idempotencyKey": f"{run}-{n}",
            "issue": {
                "fields": {
                    "project": {"key": "OPS"},
                    "issuetype": {"name": "Task"},
                    "summary": f"Benchmark issue {run} #{n}",
                    "description": "Disk usage above 90% on db-1.",
                    "labels": ["bench"],
                }
            },
        }
        for n in range(count)
    ]


def created_by(stack: Stack, run: str) -> tuple[int, int]:
    """(issues whose summary marks them as this run's, distinct summaries among them)."""
    summaries = [
        issue["fields"].get("summary", "")
        for client_key in TENANTS
        for issue in stack.control().issues(client_key)
        if issue["fields"].get("summary", "").startswith(f"Benchmark issue {run} ")
    ]
    return len(summaries), len(set(summaries))


def one_round_trip(stack: Stack) -> float:
    """Median seconds of one signed create on a warm, pooled connection (the client the worker uses)."""
    settings = Settings.from_env(os.environ)
    tenants = SecretsManagerTenantStore(boto3.client("secretsmanager"), SECRET_PREFIX)
    jira = JiraClients.from_settings(settings, tenants).for_tenant(TENANTS[0])
    body = messages(1, "round-trip")[0]["issue"]
    jira.create_issue(body)  # warm: connection, tenant record
    samples = []
    for _ in range(ROUND_TRIP_SAMPLES):
        started = time.perf_counter()
        jira.create_issue(body)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def one_tenant_batch(stack: Stack, handler: Handler) -> float:
    """Median seconds of the handler on a batch of 10 messages, all for one tenant (warm)."""
    samples = []
    for n in range(ONE_TENANT_BATCHES):
        send(stack, messages(BATCH_SIZE, f"one-tenant-{n}", tenants=(TENANTS[0],)))
        records: list[dict[str, Any]] = []
        while len(records) < BATCH_SIZE:
            records.extend(receive(stack))
        started = time.perf_counter()
        done = invoke(stack, handler, records)
        samples.append(time.perf_counter() - started)
        delete(stack, [r["receiptHandle"] for r in done])
    return statistics.median(samples)


@contextlib.contextmanager
def quiet(handler: logging.Handler) -> Iterator[None]:
    """The worker's log lines and metrics are produced (that is part of the cost), written to /dev/null."""
    assert isinstance(handler, logging.StreamHandler)
    with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
        previous = handler.setStream(null)
        try:
            yield
        finally:
            handler.setStream(previous)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--serve-moto", choices=["foreground", "background"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_moto:
        serve_moto(background=args.serve_moto == "background")
        return 0
    moto_command = [sys.executable, "-m", "bench.worker_throughput", "--serve-moto", "foreground"]
    sqs_command = [sys.executable, "-m", "bench.worker_throughput", "--serve-moto", "background"]
    emulator_command = [sys.executable, "-m", "devstack.jira_emulator", "--host", "127.0.0.1", "--port", "0"]
    pythonpath = {"PYTHONPATH": os.pathsep.join([str(REPO / "layers" / "jira_connect"), str(REPO)])}
    with (
        process(moto_command, pythonpath) as moto_url,
        process(sqs_command, pythonpath) as sqs_url,
        process(emulator_command, pythonpath) as emulator_url,
    ):
        stack = build_stack(emulator_url, moto_url, sqs_url)
        from functions.issue_worker import app  # after the environment is set, as on Lambda

        worker: Handler = app.lambda_handler
        results: dict[str, Any] = {}
        with quiet(app.logger.registered_handler):
            results["worker"] = drain(stack, worker, messages(args.messages, "worker"), on_warm=app.runtime)
            results["naive"] = drain(stack, naive_handler, messages(args.messages, "naive"))
            round_trip = one_round_trip(stack)
            batch = one_tenant_batch(stack, worker)
        for side in ("worker", "naive"):
            results[side]["issuesCreated"], results[side]["distinctIssues"] = created_by(stack, side)
        dead_letters = int(
            stack.sqs.get_queue_attributes(
                QueueUrl=stack.dlq_url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]["ApproximateNumberOfMessages"]
        )
        duplicates = [
            d
            for d in stack.control().stats()["duplicates"]
            if d["propertyKey"] == "jira-issue-creator.idempotency"
        ]
    speedup = results["naive"]["seconds"] / results["worker"]["seconds"]
    ratio = batch / round_trip
    summary = {
        "what": (
            f"drain {args.messages} issue messages over {len(TENANTS)} tenants, Lambda-style batches of "
            f"{BATCH_SIZE}, one instance per side, emulated Jira latency {LATENCY_MS} ms; "
            "the emulator, moto (DynamoDB, Secrets Manager), moto (SQS) and the event source mapping each in "
            "its own process"
        ),
        "command": "PYTHONPATH=layers/jira_connect:. .venv/bin/python -m bench.worker_throughput",
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "worker": results["worker"],
        "naive": results["naive"],
        "speedup": round(speedup, 2),
        "speedup_goal": SPEEDUP_GOAL,
        "one_tenant_batch_of_10_seconds": round(batch, 3),
        "one_jira_round_trip_seconds": round(round_trip, 3),
        "batch_vs_round_trip": round(ratio, 2),
        "batch_vs_round_trip_goal": BATCH_VS_ROUND_TRIP_GOAL,
        "dead_letters": dead_letters,
        "idempotency_duplicates": len(duplicates),
    }
    complete = all(
        results[side]["issuesCreated"] == results[side]["distinctIssues"] == args.messages
        for side in ("worker", "naive")
    )
    summary["goal_met"] = (
        speedup >= SPEEDUP_GOAL and ratio < BATCH_VS_ROUND_TRIP_GOAL and complete and not dead_letters
    )
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))
    return 0 if summary["goal_met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
