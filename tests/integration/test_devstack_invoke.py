"""``python -m devstack invoke`` runs a template's function as Lambda would: fresh process, layers on the
path, sam's environment precedence, a context with a real deadline, the timeout enforced, the runtime's
error shape. Each test drives the real command line against a small template in a temporary folder.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from devstack.invoke import ExecutionEnvironment, FunctionConfig, build_environment
from devstack.template import Template

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "lambda_echo"

TEMPLATE = """\
AWSTemplateFormatVersion: 2010-09-09
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: test
Globals:
  Function:
    Runtime: python3.13
    Timeout: 2
    MemorySize: 256
    Environment:
      Variables:
        FROM_GLOBALS: globals
        SET_BY_PARAMETERS: template
Resources:
  EchoLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layer/
  EchoQueue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-echo"
  EchoFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: function/
      Handler: app.handler
      Layers: [!Ref EchoLayer]
      Environment:
        Variables:
          STAGE: !Ref Stage
          REGION_TEXT: !Sub "region ${AWS::Region} of ${AWS::StackName}"
          QUEUE_URL: !Ref EchoQueue
          QUEUE_ARN: !GetAtt EchoQueue.Arn
          SET_BY_FUNCTION_SECTION: template
          SET_BY_SHELL: template
          SHARED_VPC: !ImportValue SharedVpc
  SlowFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: function/
      Handler: app.handler
      Timeout: 1
      Layers: [!Ref EchoLayer]
  PatientFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: function/
      Handler: app.handler
      Timeout: 60
      Layers: [!Ref EchoLayer]
  BrokenFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: function/
      Handler: missing_module.handler
"""

ENV_JSON = {
    "Parameters": {
        "SET_BY_PARAMETERS": "parameters",
        "SET_BY_FUNCTION_SECTION": "parameters",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:5999",
    },
    "EchoFunction": {"SET_BY_FUNCTION_SECTION": "function section", "NOT_DECLARED": "x"},
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A template, the echo function, its layer and an env.json, as a user's project would hold them."""
    shutil.copytree(FIXTURE / "function", tmp_path / "function")
    shutil.copytree(FIXTURE / "layer", tmp_path / "layer")
    (tmp_path / "template.yaml").write_text(TEMPLATE, encoding="utf-8")
    (tmp_path / "env.json").write_text(json.dumps(ENV_JSON), encoding="utf-8")
    return tmp_path


def run_invoke(
    project: Path, *args: str, event: dict[str, Any] | None = None, caller_env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(REPO),  # the command's own package; the handler's process does not see it
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        **(caller_env or {}),
    }
    event_args = ["--event", "-"] if event is not None else []
    template = ["--template", str(project / "template.yaml")]
    return subprocess.run(
        [sys.executable, "-m", "devstack", "invoke", *args, *event_args, *template],
        input=json.dumps(event) if event is not None else None,
        capture_output=True,
        text=True,
        env=env,
        cwd=project,
        timeout=60,
        check=False,
    )


def result_of(completed: subprocess.CompletedProcess[str]) -> Any:
    """stdout holds exactly one JSON document: the handler's result or the runtime's error."""
    return json.loads(completed.stdout)


def test_handler_result_is_the_only_output_on_stdout(project: Path) -> None:
    completed = run_invoke(project, "EchoFunction", event={"hello": "world"})

    assert completed.returncode == 0, completed.stderr
    assert result_of(completed)["event"] == {"hello": "world"}
    assert "handler called with action echo" in completed.stderr  # the handler's print is a log line
    assert "START RequestId:" in completed.stderr
    assert "REPORT RequestId:" in completed.stderr
    assert "Max Memory Used:" in completed.stderr


def test_code_uri_comes_first_on_sys_path_then_the_layer(project: Path) -> None:
    result = result_of(run_invoke(project, "EchoFunction", event={}))

    assert result["layer"] == "echo-layer"
    assert Path(result["layer_file"]).parent == (project / "layer" / "python").resolve()
    code, layer = (project / "function").resolve(), (project / "layer" / "python").resolve()
    assert result["sys_path_head"] == [str(code), str(layer)]
    assert result["cwd"] == str((project / "function").resolve())  # as /var/task is


def test_repository_is_not_importable_from_the_handler(project: Path) -> None:
    (project / "function" / "probe.py").write_text("import devstack\n", encoding="utf-8")
    (project / "function" / "app.py").write_text(
        "def handler(event, context):\n    import probe\n    return 'imported'\n", encoding="utf-8"
    )

    completed = run_invoke(project, "SlowFunction", event={})

    assert result_of(completed)["errorType"] == "ModuleNotFoundError"


def test_environment_follows_sam_precedence(project: Path) -> None:
    names = [
        "FROM_GLOBALS",
        "SET_BY_PARAMETERS",
        "SET_BY_FUNCTION_SECTION",
        "SET_BY_SHELL",
        "NOT_DECLARED",
        "UNDECLARED_IN_SHELL",
        "AWS_ENDPOINT_URL",
    ]
    completed = run_invoke(
        project,
        "EchoFunction",
        "--env-vars",
        "env.json",
        event={"env": names},
        caller_env={"SET_BY_SHELL": "shell", "UNDECLARED_IN_SHELL": "shell"},
    )

    env = result_of(completed)["env"]
    assert env == {
        "FROM_GLOBALS": "globals",  # Globals.Function.Environment, merged
        "SET_BY_PARAMETERS": "parameters",  # env.json Parameters beat the template
        "SET_BY_FUNCTION_SECTION": "function section",  # the function's section beats Parameters
        "SET_BY_SHELL": "shell",  # a declared variable takes the shell's value (sam does this)
        "NOT_DECLARED": None,  # sam ignores env.json names the template does not declare
        "UNDECLARED_IN_SHELL": None,  # the caller's environment does not leak in
        "AWS_ENDPOINT_URL": "http://127.0.0.1:5999",  # the connection: taken from env.json
    }
    assert "NOT_DECLARED ignored" in completed.stderr
    assert "env.json's AWS_ENDPOINT_URL applied; sam local invoke applies them only where" in completed.stderr


def test_lambda_runtime_variables_are_set(project: Path) -> None:
    names = [
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_TIMEOUT",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "LAMBDA_TASK_ROOT",
        "_HANDLER",
        "AWS_EXECUTION_ENV",
        "AWS_ACCESS_KEY_ID",
    ]
    result = result_of(
        run_invoke(project, "EchoFunction", event={"env": names}, caller_env={"AWS_REGION": "eu-west-1"})
    )

    assert result["env"] == {
        "AWS_LAMBDA_FUNCTION_NAME": "local-EchoFunction",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_TIMEOUT": "2",
        "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "LAMBDA_TASK_ROOT": str((project / "function").resolve()),
        "_HANDLER": "app.handler",
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.13",
        "AWS_ACCESS_KEY_ID": "testing",  # the caller's credentials
    }


def test_intrinsics_resolve_with_parameter_overrides_and_pseudo_parameters(project: Path) -> None:
    names = ["STAGE", "REGION_TEXT", "QUEUE_URL", "QUEUE_ARN"]
    completed = run_invoke(
        project,
        "EchoFunction",
        "--parameter-overrides",
        "Stage=prod AWS::StackName=jira",
        "--region",
        "eu-central-1",
        event={"env": names},
    )

    assert result_of(completed)["env"] == {
        "STAGE": "prod",
        "REGION_TEXT": "region eu-central-1 of jira",
        "QUEUE_URL": "https://sqs.eu-central-1.amazonaws.com/123456789012/jira-echo",
        "QUEUE_ARN": "arn:aws:sqs:eu-central-1:123456789012:jira-echo",
    }


def test_unresolvable_intrinsic_becomes_a_placeholder_and_a_warning(project: Path) -> None:
    completed = run_invoke(project, "EchoFunction", event={"env": ["SHARED_VPC"]})

    assert result_of(completed)["env"]["SHARED_VPC"] == '<unresolved: {"Fn::ImportValue":"SharedVpc"}>'
    assert "SHARED_VPC: cannot resolve" in completed.stderr


def test_context_carries_a_real_deadline_from_the_timeout(project: Path) -> None:
    result = result_of(run_invoke(project, "EchoFunction", event={}))

    assert 1000 < result["remaining_ms"] <= 2000  # Timeout: 2, counted from the handler call
    context = result["context"]
    assert context["function_name"] == "local-EchoFunction"
    assert context["memory_limit_in_mb"] == "256"  # a string, as in the real runtime
    arn = "arn:aws:lambda:us-east-1:123456789012:function:local-EchoFunction"
    assert context["invoked_function_arn"] == arn
    assert context["log_group_name"] == "/aws/lambda/local-EchoFunction"
    assert "[$LATEST]" in context["log_stream_name"]
    assert len(context["aws_request_id"]) == 36


def test_timeout_ends_the_handler_and_the_processes_it_started(project: Path) -> None:
    pid_file = project / "grandchild.pid"
    started = time.monotonic()

    event = {"action": "spawn_and_sleep", "pid_file": str(pid_file)}
    completed = run_invoke(project, "SlowFunction", event=event)

    assert completed.returncode == 1
    assert time.monotonic() - started < 10
    error = result_of(completed)
    assert error["errorType"] == "Sandbox.Timedout"
    assert error["errorMessage"].endswith("Task timed out after 1.00 seconds")
    assert "Task timed out after 1.00 seconds" in completed.stderr
    assert stops_running(int(pid_file.read_text(encoding="utf-8")))


def stops_running(pid: int, within: float = 5.0) -> bool:
    """A SIGKILL takes effect when the kernel next schedules the process: allow it a moment."""
    deadline = time.monotonic() + within
    while is_running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def is_running(pid: int) -> bool:
    """A killed process whose parent died is a zombie until its new parent reaps it: not running."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8")
    except FileNotFoundError:
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return state not in {"Z", "X"}


def test_handler_exception_has_the_runtime_error_shape(project: Path) -> None:
    completed = run_invoke(project, "EchoFunction", event={"action": "fail", "message": "no tenant"})

    assert completed.returncode == 1
    error = result_of(completed)
    assert error["errorType"] == "ValueError"
    assert error["errorMessage"] == "boom: no tenant"
    assert len(error["requestId"]) == 36
    assert error["stackTrace"]
    assert "app.py" in error["stackTrace"][0]  # the user's frame first: the runtime's own is left out
    assert "[ERROR] ValueError: boom: no tenant" in completed.stderr


def test_unimportable_handler_is_an_import_module_error(project: Path) -> None:
    completed = run_invoke(project, "BrokenFunction", event={})

    assert completed.returncode == 1
    error = result_of(completed)
    assert error["errorType"] == "Runtime.ImportModuleError"
    assert error["errorMessage"].startswith("Unable to import module 'missing_module'")


def test_exit_inside_the_handler_is_a_runtime_exit_error(project: Path) -> None:
    completed = run_invoke(project, "EchoFunction", event={"action": "exit"})

    assert completed.returncode == 1
    error = result_of(completed)
    assert error["errorType"] == "Runtime.ExitError"
    assert error["errorMessage"].endswith("Runtime exited with error: exit status 3")


def test_unserializable_result_is_a_marshal_error(project: Path) -> None:
    completed = run_invoke(project, "EchoFunction", event={"action": "unserializable"})

    assert completed.returncode == 1
    assert result_of(completed)["errorType"] == "Runtime.MarshalError"


def test_event_file_and_default_empty_event(project: Path) -> None:
    (project / "event.json").write_text('{"from": "file"}', encoding="utf-8")

    from_file = run_invoke(project, "EchoFunction", "-e", "event.json")
    default = run_invoke(project, "EchoFunction")

    assert result_of(from_file)["event"] == {"from": "file"}
    assert result_of(default)["event"] == {}


def test_samconfig_supplies_env_vars_when_no_flag_is_given(project: Path) -> None:
    (project / "samconfig.toml").write_text(
        'version = 0.1\n[default.local_invoke.parameters]\nenv_vars = "env.json"\n', encoding="utf-8"
    )

    result = result_of(run_invoke(project, "EchoFunction", event={"env": ["SET_BY_PARAMETERS"]}))

    assert result["env"] == {"SET_BY_PARAMETERS": "parameters"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["NoSuchFunction"], "'NoSuchFunction' is not an AWS::Serverless::Function"),
        (
            [],
            "the template has: EchoFunction, SlowFunction, PatientFunction, BrokenFunction",
        ),
        (["EchoFunction", "--env-vars", "missing.json"], "cannot read missing.json"),
        (["EchoFunction", "--parameter-overrides", "Nope=1"], "undeclared parameters: Nope"),
    ],
)
def test_usage_errors_exit_2_with_a_message(project: Path, args: list[str], message: str) -> None:
    completed = run_invoke(project, *args)

    assert completed.returncode == 2
    assert message in completed.stderr
    assert completed.stdout == ""


def test_log_file_takes_the_logs_and_stdout_keeps_the_result(project: Path) -> None:
    completed = run_invoke(project, "EchoFunction", "--log-file", "invoke.log", event={"action": "echo"})

    log = (project / "invoke.log").read_text(encoding="utf-8")
    assert "handler called with action echo" in log
    assert "REPORT RequestId:" in log
    assert result_of(completed)["event"] == {"action": "echo"}


def test_sam_container_options_are_accepted_and_ignored_and_profile_is_honoured(project: Path) -> None:
    completed = run_invoke(
        project,
        "EchoFunction",
        "--docker-network",
        "host",
        "--skip-pull-image",
        "--profile",
        "dev",
        event={"env": ["AWS_PROFILE"]},
    )

    assert completed.returncode == 0, completed.stderr
    assert "--docker-network ignored: no container here" in completed.stderr
    assert "--skip-pull-image ignored" in completed.stderr
    assert result_of(completed)["env"] == {"AWS_PROFILE": "dev"}


def test_ctrl_c_ends_the_invocation_and_what_the_handler_started(project: Path) -> None:
    pid_file = project / "grandchild.pid"
    event = json.dumps({"action": "spawn_and_sleep", "pid_file": str(pid_file)})
    command = [sys.executable, "-m", "devstack", "invoke", "PatientFunction", "--event", "-"]
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), "AWS_ACCESS_KEY_ID": "testing"}
    cli = subprocess.Popen(
        command, stdin=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=project, text=True
    )
    assert cli.stdin is not None
    cli.stdin.write(event)
    cli.stdin.close()
    deadline = time.monotonic() + 10
    while not pid_file.exists() and time.monotonic() < deadline:
        time.sleep(0.05)

    cli.send_signal(signal.SIGINT)

    assert cli.wait(timeout=10) == 130
    assert stops_running(int(pid_file.read_text(encoding="utf-8")))


def config_for(tmp_path: Path) -> FunctionConfig:
    return FunctionConfig(
        logical_id="Fn",
        function_name="local-Fn",
        handler="app.handler",
        code_uri=tmp_path,
        runtime="python3.13",
        architecture="arm64",
        timeout=3,
        memory_size=128,
        environment={"DECLARED": "template"},
    )


def test_caller_without_credentials_gets_sams_placeholders(tmp_path: Path) -> None:
    environment = build_environment(
        config_for(tmp_path), env_vars=None, caller_env={"HOME": str(tmp_path)}, region="us-east-1"
    )

    assert environment.variables["AWS_ACCESS_KEY_ID"] == "defaultkey"
    assert "HOME" not in environment.variables


def test_caller_with_a_profile_in_home_keeps_it(tmp_path: Path) -> None:
    (tmp_path / ".aws").mkdir()

    environment = build_environment(
        config_for(tmp_path), env_vars=None, caller_env={"HOME": str(tmp_path)}, region="us-east-1"
    )

    assert "AWS_ACCESS_KEY_ID" not in environment.variables
    assert environment.variables["HOME"] == str(tmp_path)


def test_one_region_variable_from_env_json_sets_both(tmp_path: Path) -> None:
    environment = build_environment(
        config_for(tmp_path),
        env_vars={"Parameters": {"AWS_DEFAULT_REGION": "ap-south-1"}},
        caller_env={"AWS_REGION": "eu-west-1"},
        region="eu-west-1",
    )

    assert environment.variables["AWS_REGION"] == environment.variables["AWS_DEFAULT_REGION"] == "ap-south-1"


def test_proxies_pass_through_but_other_caller_variables_do_not(tmp_path: Path) -> None:
    caller = {
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1",
        "SECRET_TOKEN": "x",
        "DECLARED": "shell",
    }

    variables = build_environment(
        config_for(tmp_path), env_vars=None, caller_env=caller, region="us-east-1"
    ).variables

    assert variables["HTTPS_PROXY"] == "http://127.0.0.1:9"
    assert variables["NO_PROXY"] == "127.0.0.1"
    assert variables["DECLARED"] == "shell"
    assert "SECRET_TOKEN" not in variables


def environment_of(project: Path, function: str, log: Path) -> ExecutionEnvironment:
    config = Template.load(project / "template.yaml").function_config(function)
    caller = {"PATH": os.environ["PATH"], "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    variables = build_environment(config, env_vars=None, caller_env=caller, region="us-east-1").variables
    return ExecutionEnvironment(config, variables, log=log.open("w", encoding="utf-8"))


def call(runtime: ExecutionEnvironment, event: dict[str, Any]) -> Any:
    return json.loads(runtime.invoke(json.dumps(event).encode()).payload)


def test_warm_environment_keeps_module_state_between_invocations(project: Path) -> None:
    log = project / "warm.log"
    with environment_of(project, "EchoFunction", log) as runtime:
        results = [call(runtime, {}) for _ in range(3)]

    assert [r["invocation"] for r in results] == [1, 2, 3]
    assert len({r["pid"] for r in results}) == 1
    assert runtime.cold_starts == 1
    assert log.read_text(encoding="utf-8").count("Init Duration:") == 1  # only the cold start has one
    assert stops_running(results[0]["pid"])


def test_environment_starts_cold_again_after_a_timeout(project: Path) -> None:
    with environment_of(project, "SlowFunction", project / "slow.log") as runtime:
        first = call(runtime, {})
        timed_out = runtime.invoke(json.dumps({"action": "sleep", "seconds": 5}).encode())
        after = call(runtime, {})

    assert timed_out.outcome == "timeout"
    assert after["invocation"] == 1  # Lambda replaces an environment that timed out
    assert after["pid"] != first["pid"]
    assert runtime.cold_starts == 2


def test_closing_the_environment_ends_what_the_handler_left_running(project: Path) -> None:
    pid_file = project / "left-running.pid"
    with environment_of(project, "EchoFunction", project / "spawn.log") as runtime:
        result = call(runtime, {"action": "spawn", "pid_file": str(pid_file)})
        assert is_running(int(pid_file.read_text(encoding="utf-8")))

    assert stops_running(int(pid_file.read_text(encoding="utf-8")))
    assert stops_running(result["pid"])


def test_failed_init_is_retried_at_the_next_invocation(project: Path) -> None:
    with environment_of(project, "BrokenFunction", project / "broken.log") as runtime:
        errors = [call(runtime, {}) for _ in range(2)]

    assert [e["errorType"] for e in errors] == ["Runtime.ImportModuleError"] * 2
    assert runtime.cold_starts == 2
