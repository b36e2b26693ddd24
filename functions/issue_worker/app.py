"""Lambda: the issue queue (SQS) -> Jira issues, exactly once, with partial batch failures and reasons.

    SQS batch -> IssueWorker.process (the layer: parse, claim, create in bulk per tenant, settle)
              -> one outcome per record -> logged and counted here
              -> Powertools batch processor: a failed outcome is raised for its record -> batchItemFailures

Everything is built once per execution environment, on the first invocation (configuration from the
environment, typed, failing fast with the variable's name): boto3 clients, the tenant store and its
cache, one pooled HTTP session per tenant, the idempotency store, the worker's thread pool.
A FIFO issue queue (its URL ends in ``.fifo``) gets ``SqsFifoPartialProcessor(skip_group_on_error=True)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    SqsFifoPartialProcessor,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from jira_connect.batch import Action, Outcome
from jira_connect.dead_letter import SqsDeadLetterQueue
from jira_connect.errors import RateLimited
from jira_connect.idempotency_store import DynamoDBIdempotencyStore
from jira_connect.issue_queue import SqsIssueQueue
from jira_connect.jira_client import JiraClients, new_session
from jira_connect.tenant_store import SecretsManagerTenantStore
from jira_connect.worker import BatchReport, IssueWorker
from jira_connect.worker_settings import WorkerSettings

logger = Logger()
metrics = Metrics()
# The layer logs through standard loggers; give them this Logger's JSON format and level.
copy_config_to_registered_loggers(source_logger=logger, include={"jira_connect"})

#: Seconds kept back from the invocation for settling (DynamoDB, SQS) after the last Jira call.
SETTLE_MARGIN_SECONDS = 2.0


class MessageNotProcessed(Exception):
    """Raised for a record that stays in the queue: Powertools lists it in ``batchItemFailures``."""


@dataclass(frozen=True)
class Runtime:
    settings: WorkerSettings
    worker: IssueWorker
    processor: BatchProcessor


@cache
def runtime() -> Runtime:
    """This execution environment's runtime, built on the first invocation."""
    return build_runtime(WorkerSettings.from_env(os.environ))


def build_runtime(settings: WorkerSettings) -> Runtime:
    # One connection per worker thread, so concurrent tenants never queue for a pooled connection.
    aws = Config(max_pool_connections=settings.concurrency + 4, retries={"mode": "standard"})
    sqs = boto3.client("sqs", config=aws)
    tenants = SecretsManagerTenantStore(
        boto3.client("secretsmanager", config=aws),
        settings.jira.tenant_secret_prefix,
        ttl_seconds=settings.jira.tenant_cache_ttl_seconds,
    )
    worker = IssueWorker(
        clients=JiraClients.from_settings(
            settings.jira, tenants, session_factory=lambda: new_session(settings.tenant_concurrency)
        ),
        store=DynamoDBIdempotencyStore(
            boto3.client("dynamodb", config=aws),
            settings.idempotency_table,
            ttl_seconds=settings.idempotency_ttl_seconds,
        ),
        dead_letters=SqsDeadLetterQueue(sqs, settings.dlq_url),
        queue=SqsIssueQueue(sqs, settings.issue_queue_url),
        options=settings.worker_options(),
    )
    processor: BatchProcessor
    if settings.fifo:
        processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    else:
        processor = BatchProcessor(event_type=EventType.SQS)
    # A batch whose every message waits (a throttled tenant) is a normal answer, not an invocation error.
    processor.raise_on_entire_batch_failure = False
    return Runtime(settings, worker, processor)


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    run = runtime()
    report = run.worker.process(
        event.get("Records") or [],
        remaining=lambda: context.get_remaining_time_in_millis() / 1000.0 - SETTLE_MARGIN_SECONDS,
    )
    count_jira_calls(report)

    def record_handler(record: SQSRecord) -> None:
        outcome = report.outcome_for(record.receipt_handle)
        if outcome is None:  # cannot happen: every record gets an outcome; never acknowledge blindly
            raise MessageNotProcessed(f"no outcome for message {record.message_id}")
        log_and_count(outcome)
        if outcome.failed:
            raise MessageNotProcessed(outcome.reason())

    return dict(
        process_partial_response(
            event=event, record_handler=record_handler, processor=run.processor, context=context
        )
    )


_METRIC_OF_ACTION = {
    Action.CREATED: "IssuesCreated",
    Action.DEDUPLICATED: "IssuesDeduplicated",
    Action.DEFER: "Retried",
    Action.RETRY: "Retried",
    Action.DEAD_LETTER: "DeadLettered",
}


def log_and_count(outcome: Outcome) -> None:
    error = outcome.error
    with logger.append_context_keys(
        messageId=outcome.delivery.message_id,
        clientKey=outcome.client_key,
        issueKey=outcome.issue_key,
        idempotencyKey=outcome.idempotency_key,
    ):
        logger.info(
            f"issue message {outcome.action.value}",
            outcome=outcome.action.value,
            attempt=outcome.delivery.attempt,
            errorType=error.error_type if error is not None else None,
            reason=outcome.reason() or None,
            delaySeconds=outcome.delay_seconds or None,
        )
    metrics.add_metric(name=_METRIC_OF_ACTION[outcome.action], unit=MetricUnit.Count, value=1)
    if outcome.action is Action.DEAD_LETTER and error is not None and error.fate == "permanent":
        metrics.add_metric(name="PermanentFailures", unit=MetricUnit.Count, value=1)
    if isinstance(error, RateLimited):
        # A dimension per reason: quota (pause everything) and burst (slow one endpoint) call for
        # different responses from an operator.
        with single_metric(name="RateLimited", unit=MetricUnit.Count, value=1) as metric:
            metric.add_dimension(name="Reason", value=error.rate_limit_reason or "unspecified")


def count_jira_calls(report: BatchReport) -> None:
    for timing in report.jira_timings:
        metrics.add_metric(name="JiraLatency", unit=MetricUnit.Milliseconds, value=timing.seconds * 1000)
