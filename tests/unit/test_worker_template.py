"""template.yaml's issue-worker resources: what no linter checks (visibility timeout vs function timeout,
attempts vs maxReceiveCount, lease vs visibility), partial batch responses, least privilege, the DLQ alarm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from jira_connect.idempotency_store import LEASE_MARGIN_SECONDS, TTL_ATTRIBUTE

TEMPLATE = Path(__file__).parents[2] / "template.yaml"
#: Lambda refuses an SQS event source whose visibility timeout is below 6x the function timeout.
VISIBILITY_FACTOR = 6
FOURTEEN_DAYS = 14 * 24 * 3600


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !GetAtt, !Sub ...) as {"Fn": value} mappings."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {suffix: value}


_CfnLoader.add_multi_constructor("!", _tag)


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)  # noqa: S506 (SafeLoader)
    return loaded


def _param(template: dict[str, Any], name: str) -> dict[str, Any]:
    parameter: dict[str, Any] = template["Parameters"][name]
    return parameter


def _resource(template: dict[str, Any], name: str) -> dict[str, Any]:
    properties: dict[str, Any] = template["Resources"][name]["Properties"]
    return properties


def test_visibility_timeout_is_at_least_six_times_the_function_timeout_for_every_allowed_value(
    template: dict[str, Any],
) -> None:
    timeout, visibility = (
        _param(template, "IssueWorkerTimeout"),
        _param(template, "IssueQueueVisibilityTimeout"),
    )
    assert visibility["MinValue"] >= VISIBILITY_FACTOR * timeout["MaxValue"]
    assert visibility["Default"] >= VISIBILITY_FACTOR * timeout["Default"]
    assert _resource(template, "IssueWorkerFunction")["Timeout"] == {"Ref": "IssueWorkerTimeout"}
    assert _resource(template, "IssueQueue")["VisibilityTimeout"] == {"Ref": "IssueQueueVisibilityTimeout"}


def test_worker_gives_up_before_the_redrive_policy_does(template: dict[str, Any]) -> None:
    attempts, receives = (
        _param(template, "IssueWorkerMaxAttempts"),
        _param(template, "IssueQueueMaxReceiveCount"),
    )
    assert attempts["MaxValue"] < receives["MinValue"]  # the spare receive covers a crash on the last attempt
    assert receives["MinValue"] >= 5
    redrive = _resource(template, "IssueQueue")["RedrivePolicy"]
    assert redrive == {
        "deadLetterTargetArn": {"GetAtt": "IssueDeadLetterQueue.Arn"},
        "maxReceiveCount": {"Ref": "IssueQueueMaxReceiveCount"},
    }
    env = _resource(template, "IssueWorkerFunction")["Environment"]["Variables"]
    assert env["MAX_ATTEMPTS"] == {"Ref": "IssueWorkerMaxAttempts"}


def test_a_crashed_attempts_lease_ends_before_its_message_returns(template: dict[str, Any]) -> None:
    # lease = the invocation's remaining time + margin + index lag (jira_connect.worker)
    longest_lease = (
        _param(template, "IssueWorkerTimeout")["MaxValue"]
        + LEASE_MARGIN_SECONDS
        + _param(template, "JiraIndexLagSeconds")["MaxValue"]
    )
    assert longest_lease < _param(template, "IssueQueueVisibilityTimeout")["MinValue"]


def test_dead_letter_queue_keeps_messages_14_days_and_raises_an_alarm(template: dict[str, Any]) -> None:
    assert _resource(template, "IssueDeadLetterQueue")["MessageRetentionPeriod"] == FOURTEEN_DAYS
    alarm = _resource(template, "IssueDeadLetterQueueAlarm")
    assert (alarm["Namespace"], alarm["MetricName"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"GetAtt": "IssueDeadLetterQueue.QueueName"}}
    ]
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)


def test_event_source_reports_batch_item_failures_with_tunable_batching(template: dict[str, Any]) -> None:
    mapping = _resource(template, "IssueWorkerEventSource")
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["EventSourceArn"] == {"GetAtt": "IssueQueue.Arn"}
    assert mapping["BatchSize"] == {"Ref": "IssueWorkerBatchSize"}
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": {"Ref": "IssueWorkerMaximumConcurrency"}}
    assert {"Ref": "IssueWorkerBatchingWindowSeconds"} in mapping["MaximumBatchingWindowInSeconds"]["If"]
    events = _resource(template, "IssueWorkerFunction").get("Events", {})
    assert not any(e.get("Type") == "SQS" for e in events.values())  # SAM's SQS event grants on "*"


def test_idempotency_table_has_the_store_key_and_ttl(template: dict[str, Any]) -> None:
    table = _resource(template, "IdempotencyTable")
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}


def test_fifo_is_a_parameter_for_both_queues(template: dict[str, Any]) -> None:
    fifo = {"If": ["IssueQueueIsFifo", True, {"Ref": "AWS::NoValue"}]}
    assert _resource(template, "IssueQueue")["FifoQueue"] == fifo
    assert _resource(template, "IssueDeadLetterQueue")["FifoQueue"] == fifo


def test_function_uses_the_shared_layer_and_its_configuration(template: dict[str, Any]) -> None:
    function = _resource(template, "IssueWorkerFunction")
    assert function["Layers"][0] == {"Ref": "JiraConnectLayer"}
    assert (function["CodeUri"], function["Handler"]) == ("functions/issue_worker/", "app.lambda_handler")
    assert set(function["Environment"]["Variables"]) >= {
        "ISSUE_QUEUE_URL",
        "DLQ_URL",
        "IDEMPOTENCY_TABLE",
        "TENANT_SECRET_PREFIX",
        "MAX_ATTEMPTS",
        "JIRA_API_VERSION",
        "JIRA_ALLOWED_HOSTS",
        "JIRA_INDEX_LAG_SECONDS",
    }


def test_policies_are_scoped_never_star_for_secrets_dynamodb_or_sqs(template: dict[str, Any]) -> None:
    statements = [
        statement
        for policy in _resource(template, "IssueWorkerFunction")["Policies"]
        for statement in policy["Statement"]
    ]
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert statement["Resource"] != "*"
        assert all(action.split(":")[0] in {"secretsmanager", "dynamodb", "sqs"} for action in actions)
        assert not any(action.endswith("*") for action in actions)
    by_sid = {s["Sid"]: s for s in statements}
    assert "${TenantSecretPrefix}*" in by_sid["ReadTenantSecrets"]["Resource"]["Sub"]
    assert by_sid["ReadTenantSecrets"]["Action"] == "secretsmanager:GetSecretValue"
    assert by_sid["IdempotencyRecords"]["Resource"] == {"GetAtt": "IdempotencyTable.Arn"}
    assert by_sid["SendDeadLetters"]["Resource"] == {"GetAtt": "IssueDeadLetterQueue.Arn"}
    assert by_sid["ConsumeIssueQueue"]["Resource"] == {"GetAtt": "IssueQueue.Arn"}
