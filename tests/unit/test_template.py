"""``devstack.template`` reads SAM templates with CloudFormation tags, merges Globals as SAM does and
resolves intrinsic functions to local values by the rules in its docstring."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devstack.template import Template, TemplateError, load_yaml, merge_globals, parse_parameter_overrides

REPO = Path(__file__).resolve().parents[2]


def resolve(
    value_yaml: str, *, parameters: str = "", overrides: dict[str, str] | None = None, **kw: Any
) -> Any:
    template = Template(
        load_yaml(f"Parameters:\n{parameters or '  P: {Type: String, Default: p}'}\n{RESOURCES}"),
        base_dir=REPO,
        parameter_overrides=overrides,
        **kw,
    )
    return template.resolve(load_yaml(f"value: {value_yaml}")["value"], "value"), template.warnings


RESOURCES = """\
Conditions:
  IsProd: !Equals [!Ref P, prod]
Mappings:
  Sizes: {small: {memory: 128}}
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties: {QueueName: !Sub "${AWS::StackName}-issues"}
  Unnamed:
    Type: AWS::SQS::Queue
  Table:
    Type: AWS::DynamoDB::Table
  Secret:
    Type: AWS::SecretsManager::Secret
    Properties: {Name: tenants/x}
  Fn:
    Type: AWS::Serverless::Function
    Properties: {FunctionName: worker}
  Topic:
    Type: AWS::SNS::Topic
"""


def test_short_tags_become_long_form_intrinsics() -> None:
    document = load_yaml(
        "a: !Ref X\nb: !GetAtt Q.Arn\nc: !Sub [x, {y: 1}]\nd: !GetAtt [Q, Arn]\ne: !If [C, 1, 2]\n"
        "f: !Join ['', [a, b]]\ng: !ImportValue Shared\nh: 2010-09-09\n"
    )

    assert document == {
        "a": {"Ref": "X"},
        "b": {"Fn::GetAtt": ["Q", "Arn"]},
        "c": {"Fn::Sub": ["x", {"y": 1}]},
        "d": {"Fn::GetAtt": ["Q", "Arn"]},
        "e": {"Fn::If": ["C", 1, 2]},
        "f": {"Fn::Join": ["", ["a", "b"]]},
        "g": {"Fn::ImportValue": "Shared"},
        "h": "2010-09-09",  # CloudFormation has no dates
    }


def test_the_repository_template_parses() -> None:
    template = Template.load(REPO / "template.yaml")

    assert "JiraConnectLayer" in template.resources
    assert template.function_globals["Runtime"] == "python3.13"


def test_globals_merge_like_sam() -> None:
    global_props = {
        "Timeout": 30,
        "Layers": ["a"],
        "Architectures": ["arm64"],
        "Environment": {"Variables": {"A": 1}},
    }
    local_props = {
        "Timeout": 5,
        "Layers": ["b"],
        "Architectures": ["x86_64"],
        "Environment": {"Variables": {"B": 2}},
    }

    assert merge_globals(global_props, local_props) == {
        "Timeout": 5,  # scalar: the function's
        "Layers": ["a", "b"],  # list: Globals first, then the function's
        "Architectures": ["x86_64"],  # replaced whole, as samtranslator does
        "Environment": {"Variables": {"A": 1, "B": 2}},  # maps merge
    }
    assert merge_globals({"X": {"Ref": "P"}}, {"X": {"Fn::Sub": "y"}}) == {"X": {"Fn::Sub": "y"}}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("!Ref P", "p"),
        ("!Ref AWS::Region", "us-east-1"),
        ("!Ref AWS::AccountId", "123456789012"),
        ("!Ref AWS::StackName", "local"),
        ('!Sub "${AWS::StackName}-${P}-${!Literal}"', "local-p-${Literal}"),
        ("!Sub ['${A}/${Queue.Arn}', {A: !Ref P}]", "p/arn:aws:sqs:us-east-1:123456789012:local-issues"),
        ("!Ref Queue", "https://sqs.us-east-1.amazonaws.com/123456789012/local-issues"),
        ("!GetAtt Queue.QueueName", "local-issues"),
        ("!Ref Unnamed", "https://sqs.us-east-1.amazonaws.com/123456789012/local-Unnamed"),
        ("!Ref Table", "local-Table"),
        ("!GetAtt Table.Arn", "arn:aws:dynamodb:us-east-1:123456789012:table/local-Table"),
        ("!Ref Secret", "arn:aws:secretsmanager:us-east-1:123456789012:secret:tenants/x"),
        ("!GetAtt Fn.Arn", "arn:aws:lambda:us-east-1:123456789012:function:worker"),
        ("!Ref ServerlessHttpApi", "ServerlessHttpApi"),
        ("!If [IsProd, big, small]", "small"),
        ("!FindInMap [Sizes, small, memory]", 128),
        ("!Join [',', [a, !Ref P]]", "a,p"),
        ("!Select [1, !Split [',', 'a,b,c']]", "b"),
        ("!Base64 hi", "aGk="),
    ],
)
def test_intrinsics_resolve_to_local_values(value: str, expected: Any) -> None:
    resolved, warnings = resolve(value)

    assert resolved == expected
    assert warnings == []


def test_overrides_apply_to_parameters_pseudo_parameters_and_conditions() -> None:
    resolved, _ = resolve(
        "[!Ref P, !Ref Queue, !If [IsProd, big, small]]",
        overrides={"P": "prod", "AWS::StackName": "jira"},
        region="eu-west-1",
    )

    assert resolved == ["prod", "https://sqs.eu-west-1.amazonaws.com/123456789012/jira-issues", "big"]


def test_comma_delimited_list_parameters_are_lists() -> None:
    resolved, _ = resolve(
        "!Join ['|', !Ref Hosts]", parameters="  Hosts: {Type: CommaDelimitedList, Default: 'a, b'}"
    )

    assert resolved == "a|b"


def test_no_value_removes_the_key() -> None:
    resolved, _ = resolve("{A: !Ref AWS::NoValue, B: 1}")

    assert resolved == {"B": 1}


@pytest.mark.parametrize(
    "value",
    ["!ImportValue Shared", "!GetAtt Topic.Nope", "!Ref Missing", "!GetAZs ''"],
)
def test_unresolvable_intrinsic_is_a_placeholder_and_a_warning(value: str) -> None:
    resolved, warnings = resolve(value)

    assert resolved.startswith("<unresolved: ")
    assert len(warnings) == 1
    assert warnings[0].startswith("value: cannot resolve")


def test_override_of_an_undeclared_parameter_is_refused() -> None:
    with pytest.raises(TemplateError, match="undeclared parameters: Nope"):
        resolve("x", overrides={"Nope": "1"})


def test_override_outside_allowed_values_is_refused() -> None:
    with pytest.raises(TemplateError, match="LogLevel='LOUD' is not one of its AllowedValues"):
        resolve(
            "x",
            parameters="  LogLevel: {Type: String, Default: INFO, AllowedValues: [INFO, DEBUG]}",
            overrides={"LogLevel": "LOUD"},
        )


def test_parameter_overrides_accept_sam_forms() -> None:
    assert parse_parameter_overrides(["A=1 B='x'", "ParameterKey=C,ParameterValue=3", 'D="two words"']) == {
        "A": "1",
        "B": "'x'",
        "C": "3",
        "D": "two words",
    }
    with pytest.raises(TemplateError, match="not Key=Value"):
        parse_parameter_overrides(["oops"])


FUNCTION_TEMPLATE = """\
Globals:
  Function:
    Runtime: python3.13
    Timeout: 30
    Layers: [!Ref Built]
    Environment: {Variables: {A: global, LEVEL: !Ref Level}}
Parameters:
  Level: {Type: String, Default: INFO}
Resources:
  Built:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: built/}
    Metadata: {BuildMethod: python3.13}
  Zipped:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: zipped/}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: app.handler
      MemorySize: 256
      Layers:
        - !Ref Zipped
        - !Sub "arn:aws:lambda:${AWS::Region}:017000801446:layer:AWSLambdaPowertoolsPythonV3:7"
      Environment: {Variables: {B: true, C: 3}}
"""


def test_function_config_resolves_code_layers_and_environment(tmp_path: Path) -> None:
    for folder in ("fn", "built", "zipped/python"):
        (tmp_path / folder).mkdir(parents=True)
    template = Template(load_yaml(FUNCTION_TEMPLATE), base_dir=tmp_path)

    config = template.function_config("Fn")

    assert config.code_uri == tmp_path / "fn"
    assert config.handler == "app.handler"
    assert (config.runtime, config.architecture, config.timeout, config.memory_size) == (
        "python3.13",
        "x86_64",
        30,
        256,
    )
    assert config.environment == {"A": "global", "LEVEL": "INFO", "B": "true", "C": "3"}
    # The last layer wins in /opt, so it comes first; a built layer's folder is its /opt/python.
    assert config.layer_paths == (tmp_path / "zipped" / "python", tmp_path / "built")
    assert config.remote_layers == (
        "arn:aws:lambda:us-east-1:017000801446:layer:AWSLambdaPowertoolsPythonV3:7",
    )
    assert "cannot be fetched offline" in config.warnings[0]


def test_function_config_refuses_what_cannot_run_here(tmp_path: Path) -> None:
    template = Template(load_yaml(FUNCTION_TEMPLATE), base_dir=tmp_path)

    with pytest.raises(TemplateError, match="CodeUri 'fn/' is not a folder"):
        template.function_config("Fn")
    with pytest.raises(TemplateError, match="'Built' is not an AWS::Serverless::Function"):
        template.function_config("Built")


def test_event_files_follow_the_naming_convention(tmp_path: Path) -> None:
    events = tmp_path / "events"
    (events / "api").mkdir(parents=True)
    for name in (
        "sqs_batch.json",
        "issue_worker.json",
        "api_create.json",
        "api/list.json",
        "lifecycle_x.json",
    ):
        (events / name).write_text("{}", encoding="utf-8")
    template = Template(
        load_yaml(
            "Resources:\n"
            "  Worker: {Type: AWS::Serverless::Function, Properties: {CodeUri: functions/issue_worker/}}\n"
            "  Api: {Type: AWS::Serverless::Function, Properties: {CodeUri: functions/api}}\n"
        ),
        base_dir=tmp_path,
    )

    assert [p.name for p in template.event_files("Worker", events)] == ["issue_worker.json", "sqs_batch.json"]
    assert [p.relative_to(events).as_posix() for p in template.event_files("Api", events)] == [
        "api/list.json",
        "api_create.json",
    ]
