"""What the worker logs and counts: every outcome line names its message, tenant and issue; no shared
secret, JWT or access token ever appears, even at DEBUG."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest

from devstack.jira_emulator import EmulatorServer
from functions.issue_worker import app
from tests.integration.worker_stack import WorkerStack, issue_body, stack_fixture  # noqa: F401 (fixture)

USER = "5b10a2844c20165700ede21g"
JWT_PREFIX = "eyJ"  # base64url of '{"': the start of every JWT header and payload


@pytest.fixture
def function_log() -> Iterator[io.StringIO]:
    """What the function writes to its log (CloudWatch), as JSON lines: the worker's Logger and, through
    its handler, the layer's loggers; at DEBUG."""
    names = [n for n in logging.root.manager.loggerDict if n.startswith("jira_connect")]
    previous = {name: logging.getLogger(name).level for name in names}
    app_level = app.logger.log_level
    handler = app.logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    stream = handler.setStream(buffer)
    app.logger.setLevel(logging.DEBUG)
    for name in names:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield buffer
    handler.setStream(stream)
    app.logger.setLevel(app_level)
    for name, level in previous.items():
        logging.getLogger(name).setLevel(level)


def _json_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines


def test_logs_hold_no_secret_jwt_or_access_token(
    stack: WorkerStack,
    function_log: io.StringIO,
    jira_emulator_server: EmulatorServer,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    good = stack.add_tenant("jira:t1", scopes=("READ", "WRITE", "ACT_AS_USER"))
    rotated = stack.add_tenant("jira:rotated", install=False)
    stack.install_record(  # a stale secret: Jira answers 401, the record is re-read, still 401
        {"key": "com.example.jira-issue-creator", "clientKey": "jira:rotated", "baseUrl": rotated.base_url}
        | {"sharedSecret": "stale-" + "s" * 40}
    )
    stack.emulator.add_fault(mode="rate_limit", retry_after=1, client_key="jira:t1", endpoint="bulk_create")
    stack.send(issue_body("jira:t1", "as the app"))
    stack.send(issue_body("jira:t1", "as a user", act_as_user=USER))
    stack.send(issue_body("jira:rotated"))
    event = stack.receive_event()
    function_log.truncate(0)
    capsys.readouterr()
    caplog.clear()
    # urllib3 too, at DEBUG. (botocore's wire dumps are off unless someone turns them on; they would
    # show any AWS response, a tenant secret included.)
    caplog.set_level(logging.DEBUG, logger="urllib3")

    stack.invoke(event)

    output = function_log.getvalue() + capsys.readouterr().out + caplog.text
    tokens = list(jira_emulator_server.state.access_tokens)
    assert tokens, "the act-as-user path ran and obtained an access token"
    for secret in (good.shared_secret, rotated.shared_secret, "stale-" + "s" * 40, *tokens):
        assert secret not in output
    assert JWT_PREFIX not in output
    outcomes = [
        line for line in _json_lines(output) if str(line.get("message", "")).startswith("issue message")
    ]
    assert {line["outcome"] for line in outcomes} == {"created", "defer", "dead_letter"}
    for line in outcomes:
        assert line["messageId"]
        assert line["clientKey"]
    created = next(line for line in outcomes if line["outcome"] == "created")
    assert created["issueKey"].startswith("OPS-")


def test_metrics_count_outcomes_and_jira_latency(
    stack: WorkerStack, capsys: pytest.CaptureFixture[str]
) -> None:
    stack.add_tenant("jira:t1")
    stack.emulator.add_fault(
        mode="rate_limit", retry_after=60, reason="jira-burst-based", client_key="jira:t2"
    )
    stack.add_tenant("jira:t2")
    stack.send(issue_body("jira:t1"))
    stack.send(issue_body("jira:t2"))
    stack.send("not JSON")

    stack.invoke(stack.receive_event())

    metrics = [line for line in _json_lines(capsys.readouterr().out) if "_aws" in line]
    names: dict[str, Any] = {}
    for blob in metrics:
        for definition in blob["_aws"]["CloudWatchMetrics"]:
            for metric in definition["Metrics"]:
                names[metric["Name"]] = blob
    assert {
        "IssuesCreated",
        "Retried",
        "DeadLettered",
        "PermanentFailures",
        "RateLimited",
        "JiraLatency",
    } <= set(names)
    assert names["RateLimited"]["Reason"] == "jira-burst-based"
    assert all(value > 0 for value in names["JiraLatency"]["JiraLatency"])
