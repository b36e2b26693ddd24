"""What cfn-lint and ``sam validate --lint`` do not catch in template.yaml, checked by reading the files.

Rules, each a function returning the problems it finds (an empty list: the template passes):

* SQS: each SQS event source's queue has a VisibilityTimeout of at least 6x the function's Timeout
  (Lambda's requirement; Lambda refuses less at deploy time, no linter knows), the event reports batch item
  failures (without ``ReportBatchItemFailures`` a partial failure retries the whole batch), and the queue
  redrives to a dead-letter queue after at least 5 receives, that DLQ keeping messages 14 days.
* Environment: every variable the code of a function can read is set in template.yaml for that
  function (its own Environment or Globals). "The code of a function" is its handler module and every
  module of its CodeUri and layers reachable from it by imports; "reads" is found in the syntax tree:
  ``os.environ[...]``, ``os.environ.get/pop/setdefault(...)``, ``os.getenv(...)``, ``"X" in os.environ``,
  the same on any name ``environ``/``env``, and a call that is passed an environ together with an
  UPPER_CASE string (``_required(environ, "TENANT_SECRET_PREFIX")``); names may be module constants.
  A module can also declare names: ``ENV_VARS = ("A", ...)`` adds reads the scan cannot see, and
  ``OPTIONAL_ENV_VARS = ("B", ...)`` lists reads with a safe default that may stay unset. Variables Lambda
  itself sets (``AWS_REGION``, ``AWS_LAMBDA_FUNCTION_NAME``, ...) need no setting.
* Events: every function has at least one sample event in events/ (naming: ``devstack.template``'s
  ``EVENT_PREFIX_ALIASES``), each event file is JSON, and every HTTP route of a function has an event
  whose method and path match it.
* IAM: no Allow statement grants a Secrets Manager, DynamoDB or SQS action (or ``*``) on Resource ``"*"``,
  whether inline in a function's Policies, in a role or policy resource, through a SAM policy template
  given ``"*"``, or through an AWS managed policy that does so.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from devstack.template import Template, load_yaml

REPO = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO / "template.yaml"
EVENTS_DIR = REPO / "events"

MIN_VISIBILITY_FACTOR = 6
MIN_MAX_RECEIVE_COUNT = 5
DLQ_RETENTION_SECONDS = 14 * 24 * 3600
SQS_DEFAULT_VISIBILITY_TIMEOUT = 30
LAMBDA_DEFAULT_TIMEOUT = 3

#: Set by the Lambda runtime in every function (the "defined runtime environment variables"), or by the
#: AWS SDK's own configuration (endpoints, credentials): a template never sets these.
RUNTIME_PROVIDED = frozenset(
    {
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_XRAY_CONTEXT_MISSING",
        "AWS_XRAY_DAEMON_ADDRESS",
        "AWS_SAM_LOCAL",
        "AWS_ENDPOINT_URL",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
        "TZ",
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
    }
)
RUNTIME_PROVIDED_PREFIXES = ("AWS_ENDPOINT_URL_",)
ENVIRON_NAMES = frozenset({"environ", "env", "environment"})
ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]*\Z")
GUARDED_SERVICES = ("secretsmanager", "dynamodb", "sqs")
#: AWS managed policies that grant those services on every resource.
WILDCARD_MANAGED_POLICIES = frozenset(
    {
        "AmazonSQSFullAccess",
        "AmazonSQSReadOnlyAccess",
        "AWSLambdaSQSQueueExecutionRole",
        "AmazonDynamoDBFullAccess",
        "AmazonDynamoDBReadOnlyAccess",
        "AWSLambdaDynamoDBExecutionRole",
        "SecretsManagerReadWrite",
    }
)


def template_from(text: str, base_dir: Path = REPO) -> Template:
    return Template(load_yaml(text), base_dir=base_dir)


# --- SQS ------------------------------------------------------------------------------------------------


def sqs_event_sources(template: Template) -> Iterator[tuple[str, str, Mapping[str, Any], Any]]:
    """(function, event name, event properties, queue reference) of every SQS event source."""
    for function in template.function_ids():
        events: Mapping[str, Any] = template.function_properties(function).get("Events") or {}
        for name, event in events.items():
            if event.get("Type") == "SQS":
                properties = event.get("Properties") or {}
                yield function, name, properties, properties.get("Queue")
    for logical_id, resource in template.resources.items():
        if resource.get("Type") == "AWS::Lambda::EventSourceMapping":
            properties = resource.get("Properties") or {}
            target = properties.get("FunctionName")
            function = _referenced_id(target)
            arn = properties.get("EventSourceArn")
            if function in template.function_ids() and _queue_id(template, arn) is not None:
                yield function, logical_id, properties, arn


def _referenced_id(value: Any) -> str | None:
    """The logical id behind ``!Ref X``, ``!GetAtt X.Attr`` or ``!Sub "${X.Arn}"``."""
    if isinstance(value, Mapping) and len(value) == 1:
        ((kind, argument),) = value.items()
        if kind == "Ref" and isinstance(argument, str):
            return argument
        if kind == "Fn::GetAtt" and isinstance(argument, list) and argument:
            return str(argument[0])
        if kind == "Fn::Sub" and isinstance(argument, str):
            match = re.fullmatch(r"\$\{([A-Za-z0-9]+)(?:\.[A-Za-z]+)?\}", argument)
            return match.group(1) if match else None
    return None


def _queue_id(template: Template, reference: Any) -> str | None:
    logical_id = _referenced_id(reference)
    resource = template.resources.get(logical_id) if logical_id else None
    return logical_id if isinstance(resource, Mapping) and resource.get("Type") == "AWS::SQS::Queue" else None


def _timeout(template: Template, function: str) -> int:
    value = template.resolve(
        template.function_properties(function).get("Timeout", LAMBDA_DEFAULT_TIMEOUT), function
    )
    return int(value)


def _queue_properties(template: Template, queue: str) -> Mapping[str, Any]:
    properties: Mapping[str, Any] = template.resolve(template.resources[queue].get("Properties") or {}, queue)
    return properties


def visibility_timeout_problems(template: Template) -> list[str]:
    problems = []
    for function, event, _, reference in sqs_event_sources(template):
        queue = _queue_id(template, reference)
        if queue is None:
            problems.append(
                f"{function} {event}: queue {reference!r} is not a queue of this template: unchecked"
            )
            continue
        visibility = int(
            _queue_properties(template, queue).get("VisibilityTimeout", SQS_DEFAULT_VISIBILITY_TIMEOUT)
        )
        timeout = _timeout(template, function)
        if visibility < MIN_VISIBILITY_FACTOR * timeout:
            problems.append(
                f"{queue}.VisibilityTimeout is {visibility} s, under {MIN_VISIBILITY_FACTOR} x {function}'s "
                f"Timeout of {timeout} s = {MIN_VISIBILITY_FACTOR * timeout} s"
            )
    return problems


def batch_failure_problems(template: Template) -> list[str]:
    problems = []
    for function, event, properties, _ in sqs_event_sources(template):
        if "ReportBatchItemFailures" not in (
            template.resolve(properties.get("FunctionResponseTypes"), event) or []
        ):
            problems.append(f"{function} {event}: FunctionResponseTypes lacks ReportBatchItemFailures")
    return problems


def redrive_problems(template: Template) -> list[str]:
    problems = []
    for function, event, _, reference in sqs_event_sources(template):
        queue = _queue_id(template, reference)
        if queue is None:
            continue  # reported by visibility_timeout_problems
        redrive = _queue_properties(template, queue).get("RedrivePolicy")
        if not isinstance(redrive, Mapping) or "deadLetterTargetArn" not in redrive:
            problems.append(
                f"{queue} (source of {function} {event}) has no RedrivePolicy to a dead-letter queue"
            )
            continue
        if int(redrive.get("maxReceiveCount", 0)) < MIN_MAX_RECEIVE_COUNT:
            problems.append(
                f"{queue}: maxReceiveCount {redrive.get('maxReceiveCount')} < {MIN_MAX_RECEIVE_COUNT}"
            )
        raw_redrive = (template.resources[queue].get("Properties") or {}).get("RedrivePolicy") or {}
        dlq = _queue_id(template, raw_redrive.get("deadLetterTargetArn"))
        retention = int(_queue_properties(template, dlq).get("MessageRetentionPeriod", 0)) if dlq else 0
        if dlq and retention != DLQ_RETENTION_SECONDS:
            problems.append(
                f"{dlq}.MessageRetentionPeriod is {retention} s, not 14 days ({DLQ_RETENTION_SECONDS})"
            )
    return problems


# --- environment variables --------------------------------------------------------------------------------


def _is_environ(node: ast.AST) -> bool:
    return (isinstance(node, ast.Name) and node.id in ENVIRON_NAMES) or (
        isinstance(node, ast.Attribute) and node.attr == "environ"
    )


def _string(node: ast.AST, constants: Mapping[str, str]) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


def _declared_names(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    if isinstance(node, ast.Call) and node.args:  # frozenset({...}), tuple([...])
        return _declared_names(node.args[0])
    return []


def _module_assignments(tree: ast.Module) -> dict[str, ast.AST]:
    assigned: dict[str, ast.AST] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
            target, value = statement.targets[0], statement.value
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            target, value = statement.target, statement.value
        else:
            continue
        if isinstance(target, ast.Name):
            assigned[target.id] = value
    return assigned


def _name_nodes(node: ast.AST) -> Iterator[tuple[ast.AST, bool]]:
    """(node that may hold a variable's name, whether it must look like one) for one syntax node."""
    if isinstance(node, ast.Subscript) and _is_environ(node.value):
        yield node.slice, False  # environ["X"]
    elif isinstance(node, ast.Compare) and any(_is_environ(c) for c in node.comparators):
        yield node.left, False  # "X" in environ
    elif isinstance(node, ast.Call) and node.args:
        function = node.func
        if (
            isinstance(function, ast.Attribute)
            and function.attr in {"get", "pop", "setdefault"}
            and _is_environ(function.value)
        ):
            yield node.args[0], False  # environ.get("X")
        if (isinstance(function, ast.Name) and function.id == "getenv") or (
            isinstance(function, ast.Attribute) and function.attr == "getenv"
        ):
            yield node.args[0], False
        if any(_is_environ(a) for a in [*node.args, *(k.value for k in node.keywords)]):
            yield from ((argument, True) for argument in node.args)  # helper(environ, "X")


def env_reads(source: str) -> tuple[dict[str, int], set[str]]:
    """(names read -> first line, names declared optional) of one module's source."""
    tree = ast.parse(source)
    assigned = _module_assignments(tree)
    constants = {
        name: value.value
        for name, value in assigned.items()
        if isinstance(value, ast.Constant) and isinstance(value.value, str)
    }
    reads: dict[str, int] = {
        name: 1 for name in _declared_names(assigned.get("ENV_VARS", ast.Tuple(elts=[])))
    }
    optional = set(_declared_names(assigned.get("OPTIONAL_ENV_VARS", ast.Tuple(elts=[]))))
    for node in ast.walk(tree):
        for candidate, must_look_like_a_name in _name_nodes(node):
            name = _string(candidate, constants)
            if name is not None and (not must_look_like_a_name or ENV_NAME.match(name)):
                reads.setdefault(name, getattr(node, "lineno", 0))
    return reads, optional


def _module_file(name: str, roots: list[Path]) -> Path | None:
    parts = name.split(".")
    for root in roots:
        for candidate in (root.joinpath(*parts).with_suffix(".py"), root.joinpath(*parts, "__init__.py")):
            if candidate.is_file():
                return candidate
    return None


def _imported_names(tree: ast.Module, module: str, is_package: bool) -> Iterator[str]:
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)] if package else []
                base = ".".join([*anchor, *([base] if base else [])])
            if base:
                yield base
            yield from (f"{base}.{alias.name}" if base else alias.name for alias in node.names)


def reachable_modules(entry: str, roots: list[Path]) -> dict[str, Path]:
    """Modules of ``roots`` that importing ``entry`` can execute (parent packages included)."""
    found: dict[str, Path] = {}
    pending = [entry]
    while pending:
        name = pending.pop()
        if name in found:
            continue
        path = _module_file(name, roots)
        if path is None:
            continue  # the standard library or an installed package: not ours to scan
        found[name] = path
        parents = name.split(".")
        pending.extend(".".join(parents[:i]) for i in range(1, len(parents)))
        tree = ast.parse(path.read_text(encoding="utf-8"))
        pending.extend(_imported_names(tree, name, path.name == "__init__.py"))
    return found


def environment_problems(template: Template) -> list[str]:
    problems = []
    for function in template.function_ids():
        config = template.function_config(function)
        declared = set(
            (template.function_properties(function).get("Environment") or {}).get("Variables") or {}
        )
        entry = config.handler.rpartition(".")[0].replace("/", ".")
        for module, path in sorted(reachable_modules(entry, [config.code_uri, *config.layer_paths]).items()):
            reads, optional = env_reads(path.read_text(encoding="utf-8"))
            for name, line in sorted(reads.items()):
                provided = name in RUNTIME_PROVIDED or name.startswith(RUNTIME_PROVIDED_PREFIXES)
                if name in declared or name in optional or provided:
                    continue
                problems.append(
                    f"{function} reads {name} ({module}, line {line}) but template.yaml sets it neither in "
                    "Globals.Function.Environment nor in the function's Environment; set it, or list it in "
                    "that module's OPTIONAL_ENV_VARS if the code has a safe default"
                )
    return problems


# --- events -----------------------------------------------------------------------------------------------


def http_routes(template: Template, function: str) -> list[tuple[str, str]]:
    events: Mapping[str, Any] = template.function_properties(function).get("Events") or {}
    routes = []
    for name, event in events.items():
        if event.get("Type") in {"HttpApi", "Api"}:
            properties = template.resolve(event.get("Properties") or {}, f"{function}.Events.{name}")
            routes.append(
                (str(properties.get("Method", "ANY")).upper(), str(properties.get("Path", "$default")))
            )
    return routes


def _route_pattern(path: str) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{[^}/]+\\\+\\\}", ".+", re.escape(path))  # {proxy+}
    return re.compile(re.sub(r"\\\{[^}/]+\\\}", "[^/]+", pattern) + r"\Z")


def event_matches_route(event: Mapping[str, Any], method: str, path: str) -> bool:
    """An HTTP API (payload 2.0) or REST API (1.0) event that the route ``method path`` would receive."""
    if event.get("routeKey") == f"{method} {path}":
        return True
    http = (event.get("requestContext") or {}).get("http") or {}
    event_method = str(http.get("method") or event.get("httpMethod") or "").upper()
    event_path = str(event.get("rawPath") or event.get("path") or "")
    if not event_method or not event_path or method not in {"ANY", event_method}:
        return False
    if event.get("resource") == path:
        return True
    return path == "$default" or _route_pattern(path).match(event_path) is not None


def event_problems(template: Template, events_dir: Path) -> list[str]:
    problems = []
    for function in template.function_ids():
        files = template.event_files(function, events_dir)
        if not files:
            prefixes = " or ".join(f"{p}_*.json" for p in template.event_prefixes(function))
            problems.append(f"{function} has no event in {events_dir.name}/ (expected {prefixes})")
            continue
        events: list[Any] = []
        for path in files:
            try:
                events.append(json.loads(path.read_text(encoding="utf-8")))
            except ValueError as e:
                problems.append(f"{path.name} is not JSON: {e}")
        for method, path in http_routes(template, function):
            if not any(isinstance(e, Mapping) and event_matches_route(e, method, path) for e in events):
                problems.append(f"{function} route {method} {path} has no event in {events_dir.name}/")
    return problems


# --- IAM --------------------------------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_statements(template: Template) -> Iterator[tuple[str, Any]]:
    """(where, statement, SAM policy template or managed policy) of every policy in the template."""
    for function in template.function_ids():
        policies = template.function_properties(function).get("Policies")
        for index, policy in enumerate(_as_list(policies) if policies is not None else []):
            where = f"{function}.Policies[{index}]"
            if isinstance(policy, Mapping) and "Statement" in policy:
                yield from ((where, s) for s in _as_list(policy["Statement"]))
            else:
                yield where, policy  # a managed policy name/ARN or a SAM policy template
    for logical_id, resource in template.resources.items():
        properties = resource.get("Properties") or {}
        documents = [properties.get("PolicyDocument")]
        documents += [
            p.get("PolicyDocument") for p in properties.get("Policies") or [] if isinstance(p, Mapping)
        ]
        for document in documents:
            if isinstance(document, Mapping):
                yield from ((logical_id, s) for s in _as_list(document.get("Statement") or []))
        for arn in properties.get("ManagedPolicyArns") or []:
            yield f"{logical_id}.ManagedPolicyArns", arn


def _grants_guarded_service(action: Any) -> bool:
    text = str(action).lower()
    return text == "*" or text.split(":", 1)[0] in GUARDED_SERVICES


def iam_problems(template: Template) -> list[str]:
    problems = []
    for where, statement in policy_statements(template):
        if isinstance(statement, str) or (isinstance(statement, Mapping) and "Fn::Sub" in statement):
            name = str(template.resolve(statement, where)).rsplit("/", 1)[-1]
            if name in WILDCARD_MANAGED_POLICIES:
                problems.append(f"{where}: managed policy {name} grants its service on every resource")
            continue
        if not isinstance(statement, Mapping):
            continue
        if "Effect" not in statement:  # a SAM policy template: {TemplateName: {Parameter: value}}
            for name, parameters in statement.items():
                values = (parameters or {}).values() if isinstance(parameters, Mapping) else []
                if any(v == "*" for v in values) and re.search(r"SQS|DynamoDB|SecretsManager", name):
                    problems.append(f"{where}: SAM policy template {name} is given '*'")
            continue
        if statement.get("Effect") != "Allow":
            continue
        actions = [a for a in _as_list(statement.get("Action")) if _grants_guarded_service(a)]
        if actions and "*" in _as_list(statement.get("Resource")):
            problems.append(f"{where}: {', '.join(map(str, actions))} allowed on Resource '*'")
    return problems


# --- the real template ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(TEMPLATE_PATH)


def test_template_parses_and_declares_the_shared_layer(template: Template) -> None:
    # While no function exists yet the rules below pass vacuously; this keeps them from passing on an
    # empty or unreadable template.
    assert template.resources["JiraConnectLayer"]["Type"] == "AWS::Serverless::LayerVersion"
    assert all(template.function_properties(f).get("Handler") for f in template.function_ids())


def test_queues_outlast_six_function_timeouts(template: Template) -> None:
    assert visibility_timeout_problems(template) == []


def test_sqs_event_sources_report_batch_item_failures(template: Template) -> None:
    assert batch_failure_problems(template) == []


def test_source_queues_redrive_to_a_two_week_dlq_after_five_receives(template: Template) -> None:
    assert redrive_problems(template) == []


def test_every_variable_the_code_reads_is_set_in_the_template(template: Template) -> None:
    assert environment_problems(template) == []


def test_every_function_and_route_has_a_sample_event(template: Template) -> None:
    assert event_problems(template, EVENTS_DIR) == []


def test_no_secrets_dynamodb_or_sqs_permission_on_every_resource(template: Template) -> None:
    assert iam_problems(template) == []


# --- each rule can fail ------------------------------------------------------------------------------------

WORKER = """\
Globals:
  Function:
    Timeout: {timeout}
Resources:
  Dlq:
    Type: AWS::SQS::Queue
    Properties:
      MessageRetentionPeriod: {retention}
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: {visibility}
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt Dlq.Arn
        maxReceiveCount: {receives}
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/worker/
      Handler: app.handler
      Events:
        Messages:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
            {response_types}
"""


def worker(
    *,
    timeout: int = 30,
    visibility: int = 180,
    receives: int = 5,
    retention: int = DLQ_RETENTION_SECONDS,
    response_types: str = "FunctionResponseTypes: [ReportBatchItemFailures]",
) -> Template:
    return template_from(
        WORKER.format(
            timeout=timeout,
            visibility=visibility,
            receives=receives,
            retention=retention,
            response_types=response_types,
        )
    )


def test_a_well_configured_worker_passes_every_sqs_rule() -> None:
    template = worker()

    assert visibility_timeout_problems(template) == []
    assert batch_failure_problems(template) == []
    assert redrive_problems(template) == []


def test_visibility_timeout_under_six_function_timeouts_is_reported() -> None:
    assert visibility_timeout_problems(worker(timeout=30, visibility=179)) == [
        "Queue.VisibilityTimeout is 179 s, under 6 x Worker's Timeout of 30 s = 180 s"
    ]


def test_default_visibility_timeout_counts_against_the_function_timeout() -> None:
    template = template_from(
        WORKER.replace("      VisibilityTimeout: {visibility}\n", "").format(
            timeout=10, receives=5, retention=DLQ_RETENTION_SECONDS, response_types=""
        )
    )

    assert visibility_timeout_problems(template) == [
        "Queue.VisibilityTimeout is 30 s, under 6 x Worker's Timeout of 10 s = 60 s"
    ]


def test_event_source_mapping_resources_are_checked_too() -> None:
    text = WORKER.format(
        timeout=60, visibility=60, receives=5, retention=DLQ_RETENTION_SECONDS, response_types=""
    ).replace("      Events:", "      Tags:") + (
        "  Mapping:\n"
        "    Type: AWS::Lambda::EventSourceMapping\n"
        "    Properties:\n"
        "      FunctionName: !Ref Worker\n"
        "      EventSourceArn: !GetAtt Queue.Arn\n"
    )

    assert visibility_timeout_problems(template_from(text)) == [
        "Queue.VisibilityTimeout is 60 s, under 6 x Worker's Timeout of 60 s = 360 s"
    ]


def test_sqs_event_without_batch_item_failures_is_reported() -> None:
    assert batch_failure_problems(worker(response_types="")) == [
        "Worker Messages: FunctionResponseTypes lacks ReportBatchItemFailures"
    ]


def test_low_max_receive_count_and_short_dlq_retention_are_reported() -> None:
    assert redrive_problems(worker(receives=3, retention=345600)) == [
        "Queue: maxReceiveCount 3 < 5",
        "Dlq.MessageRetentionPeriod is 345600 s, not 14 days (1209600)",
    ]


ENV_TEMPLATE = """\
Globals:
  Function:
    Environment:
      Variables:
        FROM_GLOBALS: x
Resources:
  Layer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layer/
    Metadata:
      BuildMethod: python3.13
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: app.handler
      Layers: [!Ref Layer]
      Environment:
        Variables:
          SET_ON_FUNCTION: x
"""


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_variable_read_in_the_layer_but_not_set_is_reported(tmp_path: Path) -> None:
    write(
        tmp_path / "fn" / "app.py",
        "import os\nfrom lib.settings import load\nA = os.environ['FROM_GLOBALS']\n",
    )
    write(tmp_path / "layer" / "lib" / "__init__.py", "")
    write(
        tmp_path / "layer" / "lib" / "settings.py",
        'QUEUE = "QUEUE_URL"\nOPTIONAL_ENV_VARS = ("READ_TIMEOUT",)\n'
        "def load(environ):\n"
        "    return (_required(environ, 'TABLE_NAME'), environ.get(QUEUE), environ.get('READ_TIMEOUT'),\n"
        "            environ.get('SET_ON_FUNCTION'), environ['AWS_REGION'])\n",
    )
    write(
        tmp_path / "layer" / "lib" / "cli.py",
        "import os\nSECRET = os.getenv('NOT_IMPORTED_BY_THE_FUNCTION')\n",
    )

    problems = environment_problems(template_from(ENV_TEMPLATE, base_dir=tmp_path))

    assert [p.split(" (")[0] for p in problems] == ["Fn reads QUEUE_URL", "Fn reads TABLE_NAME"]
    assert "lib.settings, line 4" in problems[0]


def test_env_reads_finds_every_way_of_reading_the_environment() -> None:
    source = """\
import os
from os import environ, getenv
NAME = "FROM_CONSTANT"
ENV_VARS = ("DECLARED",)
a = os.environ["SUBSCRIPT"]
b = os.environ.get("GET", "default")
c = os.getenv("GETENV")
d = getenv("BARE_GETENV")
e = "MEMBERSHIP" in os.environ
f = environ.get(NAME)
g = helper(os.environ, "HELPER_ARG", "not an env name")
h = environ.pop("POPPED", None)
i = {"NOT_READ": 1}.get("NOT_READ")
"""
    reads, optional = env_reads(source)

    assert sorted(reads) == [
        "BARE_GETENV",
        "DECLARED",
        "FROM_CONSTANT",
        "GET",
        "GETENV",
        "HELPER_ARG",
        "MEMBERSHIP",
        "POPPED",
        "SUBSCRIPT",
    ]
    assert optional == set()


def test_function_without_a_sample_event_is_reported(tmp_path: Path) -> None:
    (tmp_path / "events").mkdir()
    write(tmp_path / "events" / "other_thing.json", "{}")
    template = template_from(
        "Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n"
        "    Properties: {CodeUri: functions/issue_worker/, Handler: app.handler}\n"
    )

    assert event_problems(template, tmp_path / "events") == [
        "Fn has no event in events/ (expected issue_worker_*.json or sqs_*.json)"
    ]
    write(tmp_path / "events" / "sqs_batch.json", '{"Records": []}')
    assert event_problems(template, tmp_path / "events") == []


API = """\
Resources:
  Api:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/api/
      Handler: app.handler
      Events:
        Projects:
          Type: HttpApi
          Properties: {Method: GET, Path: "/tenants/{clientKey}/projects"}
        Create:
          Type: HttpApi
          Properties: {Method: POST, Path: /issues}
"""


def test_route_without_a_matching_event_is_reported(tmp_path: Path) -> None:
    events = tmp_path / "events"
    write(
        events / "api_projects.json",
        json.dumps(
            {
                "routeKey": "$default",
                "rawPath": "/tenants/jira:abc/projects",
                "requestContext": {"http": {"method": "GET"}},
            }
        ),
    )

    assert event_problems(template_from(API), events) == ["Api route POST /issues has no event in events/"]
    write(events / "api_create.json", json.dumps({"routeKey": "POST /issues", "rawPath": "/issues"}))
    assert event_problems(template_from(API), events) == []


def test_event_file_that_is_not_json_is_reported(tmp_path: Path) -> None:
    write(tmp_path / "events" / "api_broken.json", "{not json")
    write(tmp_path / "events" / "api_create.json", json.dumps({"routeKey": "POST /issues"}))
    write(
        tmp_path / "events" / "api_projects.json",
        json.dumps({"routeKey": "GET /tenants/{clientKey}/projects"}),
    )

    problems = event_problems(template_from(API), tmp_path / "events")

    assert len(problems) == 1
    assert problems[0].startswith("api_broken.json is not JSON")


IAM = """\
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/api/
      Handler: app.handler
      Policies:
        - Statement:
            - Effect: Allow
              Action: secretsmanager:GetSecretValue
              Resource: !Sub "arn:aws:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:tenants/*"
            - Effect: Allow
              Action: [logs:CreateLogStream, "sqs:*"]
              Resource: "*"
            - Effect: Allow
              Action: cloudwatch:PutMetricData
              Resource: "*"
        - DynamoDBCrudPolicy: {TableName: "*"}
        - SQSSendMessagePolicy: {QueueName: !GetAtt Queue.QueueName}
        - AmazonSQSFullAccess
  Role:
    Type: AWS::IAM::Role
    Properties:
      Policies:
        - PolicyName: p
          PolicyDocument:
            Statement:
              - {Effect: Allow, Action: "dynamodb:GetItem", Resource: ["*"]}
              - {Effect: Deny, Action: "secretsmanager:*", Resource: "*"}
  Queue:
    Type: AWS::SQS::Queue
"""


def test_wildcard_resources_on_secrets_dynamodb_and_sqs_are_reported() -> None:
    assert iam_problems(template_from(IAM)) == [
        "Fn.Policies[0]: sqs:* allowed on Resource '*'",
        "Fn.Policies[1]: SAM policy template DynamoDBCrudPolicy is given '*'",
        "Fn.Policies[3]: managed policy AmazonSQSFullAccess grants its service on every resource",
        "Role: dynamodb:GetItem allowed on Resource '*'",
    ]
