"""The local stack: the Jira emulator in its own process, and what template.yaml declares, on moto.

Used by ``make demo``, the benchmarks and tests. ``provision`` reads the queues and tables of template.yaml
(with the same names ``python -m devstack invoke`` resolves ``!Ref`` to, redrive policy and visibility
timeout included) and creates them on the moto server, so functions run against the resources they would
have in AWS.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import boto3

from devstack.template import Template

__all__ = [
    "REPO",
    "LocalResources",
    "ServiceProcess",
    "free_port",
    "provision",
    "running_emulator",
    "running_service",
]

REPO: Final = Path(__file__).resolve().parent.parent
STOP_SECONDS: Final = 20.0
QUEUE_TYPE: Final = "AWS::SQS::Queue"
TABLE_TYPE: Final = "AWS::DynamoDB::Table"
#: SQS queue attributes copied from the template as they are (numbers become strings, as SQS wants).
QUEUE_ATTRIBUTES: Final = (
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "ReceiveMessageWaitTimeSeconds",
    "FifoQueue",
    "ContentBasedDeduplication",
)


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class ServiceProcess:
    """A local service in its own process: the root URL it printed, and its process id."""

    url: str
    pid: int


@contextlib.contextmanager
def running_service(command: Sequence[str], env: Mapping[str, str] | None = None) -> Iterator[ServiceProcess]:
    """Run ``command``, wait for the URL it prints on its first line, and stop it (SIGTERM, then SIGKILL)
    on exit, whatever happened inside."""
    process = subprocess.Popen(
        list(command),
        cwd=REPO,
        env=None if env is None else {**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"http://\S+", line)
        if match is None:
            raise RuntimeError(f"{' '.join(command[:3])} did not start (it printed {line!r})")
        yield ServiceProcess(url=match.group(0).rstrip("/"), pid=process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def running_emulator(extra_args: Sequence[str] = ()) -> contextlib.AbstractContextManager[ServiceProcess]:
    """``python -m devstack.jira_emulator`` on a free loopback port."""
    port = str(free_port())
    return running_service(
        [sys.executable, "-m", "devstack.jira_emulator", "--host", "127.0.0.1", "--port", port, *extra_args]
    )


@dataclass(frozen=True)
class LocalResources:
    """Logical id -> what was created: queue URLs and ARNs, table names."""

    queue_urls: Mapping[str, str]
    queue_arns: Mapping[str, str]
    table_names: Mapping[str, str]


def provision(template: Template) -> LocalResources:
    """Create the template's queues (dead-letter targets first) and tables on the endpoint boto3 uses."""
    sqs = boto3.client("sqs")
    dynamodb = boto3.client("dynamodb")
    queues = {lid: r for lid, r in template.resources.items() if _type(r) == QUEUE_TYPE}
    urls: dict[str, str] = {}
    arns: dict[str, str] = {}
    for logical_id in sorted(queues, key=lambda lid: "RedrivePolicy" in _properties(queues[lid])):
        properties = template.resolve(_properties(queues[logical_id]), f"{logical_id}.Properties")
        name = _local_name(template, logical_id, properties.get("QueueName"))
        if properties.get("FifoQueue") in (True, "true") and not name.endswith(".fifo"):
            name += ".fifo"
        # Any: boto3-stubs types the keys as a Literal of attribute names; these come from the template.
        attributes: dict[Any, str] = {
            k: _attribute(properties[k]) for k in QUEUE_ATTRIBUTES if properties.get(k) is not None
        }
        redrive = properties.get("RedrivePolicy")
        if isinstance(redrive, Mapping):
            target = _dead_letter_logical_id(queues[logical_id])
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": arns[target], "maxReceiveCount": int(redrive["maxReceiveCount"])}
            )
        url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
        urls[logical_id] = url
        arns[logical_id] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
    tables: dict[str, str] = {}
    for logical_id, resource in template.resources.items():
        if _type(resource) != TABLE_TYPE:
            continue
        properties = template.resolve(_properties(resource), f"{logical_id}.Properties")
        name = _local_name(template, logical_id, properties.get("TableName"))
        dynamodb.create_table(
            TableName=name,
            AttributeDefinitions=properties["AttributeDefinitions"],
            KeySchema=properties["KeySchema"],
            BillingMode="PAY_PER_REQUEST",
        )
        ttl = properties.get("TimeToLiveSpecification")
        if isinstance(ttl, Mapping) and ttl.get("Enabled") in (True, "true"):
            dynamodb.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
        tables[logical_id] = name
    return LocalResources(urls, arns, tables)


def _type(resource: Any) -> str:
    return str(resource.get("Type")) if isinstance(resource, Mapping) else ""


def _properties(resource: Mapping[str, Any]) -> dict[str, Any]:
    return dict(resource.get("Properties") or {})


def _local_name(template: Template, logical_id: str, explicit: Any) -> str:
    # The name `!Ref` resolves to locally, so functions and env.json agree with what exists.
    return str(explicit) if explicit else f"{template.pseudo['AWS::StackName']}-{logical_id}"


def _attribute(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _dead_letter_logical_id(queue: Mapping[str, Any]) -> str:
    target = _properties(queue)["RedrivePolicy"]["deadLetterTargetArn"]
    if isinstance(target, Mapping) and "Fn::GetAtt" in target:
        attribute = target["Fn::GetAtt"]
        return str(attribute[0] if isinstance(attribute, list) else str(attribute).split(".")[0])
    raise ValueError("the local stack supports a RedrivePolicy whose target is !GetAtt <Queue>.Arn")
