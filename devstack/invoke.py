"""Run a Lambda function's handler in its own Python process, as the Lambda Python runtime would.

An :class:`ExecutionEnvironment` is one child process: it imports the handler once (Lambda's init) and
then serves invocations one at a time, keeping module state between them like a warm Lambda; a timeout or
a crash discards it and the next invocation starts cold. :func:`invoke` is one cold invocation (what
``python -m devstack invoke`` and ``sam local invoke`` do); a caller that wants warm reuse, such as an
event source mapping loop, keeps an ``ExecutionEnvironment``.

The parent side (:func:`build_environment`, :class:`ExecutionEnvironment`) prepares the environment and
enforces the timeout; the child side is this same file run as a script (``python -I -B invoke.py SPEC``),
which is why it imports only the standard library: in the child, ``sys.path`` is what Lambda's would be,
not the repository's. They talk in lines: requests in on the child's stdin, answers out on its stdout
(READY after init, START when the handler is called, then RESULT or ERROR with the JSON payload).

What the handler sees, and how it differs from Lambda:

* ``sys.path``: the function's CodeUri first, then its layers (the folders Lambda extracts to
  ``/opt/python``), then this interpreter's standard library and site-packages, which stand in for the
  runtime's boto3 and for AWS-managed layers such as Powertools. The working directory is the CodeUri,
  as ``/var/task`` is in Lambda. It runs on *this* interpreter, not the template's Runtime.
* Environment (later entries win), the same precedence as ``sam local invoke``:

  1. Lambda's own variables: ``AWS_LAMBDA_FUNCTION_NAME`` (the FunctionName, else ``<stack>-<LogicalId>``:
     sam uses the bare logical id), ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``,
     ``AWS_LAMBDA_FUNCTION_TIMEOUT``, ``AWS_LAMBDA_FUNCTION_VERSION``, ``AWS_LAMBDA_LOG_GROUP_NAME``,
     ``AWS_LAMBDA_LOG_STREAM_NAME``, ``AWS_REGION``/``AWS_DEFAULT_REGION``, ``LAMBDA_TASK_ROOT``,
     ``_HANDLER``, ``AWS_EXECUTION_ENV``, ``AWS_SAM_LOCAL=true``, ``TZ``, ``LANG``, ``PATH``;
  2. the caller's AWS connection: credentials (``AWS_ACCESS_KEY_ID``, ``AWS_PROFILE``, ...) and endpoints
     (``AWS_ENDPOINT_URL``, ``AWS_ENDPOINT_URL_<SERVICE>``), so the function talks to whatever the caller's
     shell talks to: the local stack or real AWS; and its proxy variables (``HTTPS_PROXY``, ``NO_PROXY``).
     With neither keys nor a profile (``AWS_PROFILE``, ``~/.aws``), sam's placeholders
     (``defaultkey``/``defaultsecret``) keep boto3 from asking the instance metadata service;
  3. the template's ``Environment.Variables`` (Globals merged, intrinsics resolved);
  4. the caller's shell value of a variable the template declares (sam does this too);
  5. env.json's ``Parameters`` section, then its section named after the function's logical id.
     As in sam, only variables the template declares are taken from env.json, and the rest are reported;
     one deliberate exception: the AWS connection variables of step 2 are always taken, because that is
     how env.json points a function at the local stack. (sam takes them only when template.yaml declares
     them; the tool says so when it applies one that sam would not.)
* The repository's env.json (samconfig.toml makes it the default for local runs in every environment)
  points every function at the local stack: ``AWS_ENDPOINT_URL`` is moto's ``http://127.0.0.1:5000`` with
  moto's fake credentials ``testing``, ``CONNECT_INSTALL_KEYS_URL`` the Jira emulator's
  ``http://127.0.0.1:8080/__emu/install-keys``, ``APP_BASE_URL`` ``sam local start-api``'s
  ``http://127.0.0.1:3000``, ``JIRA_ALLOWED_HOSTS`` admits the loopback hosts, and the queue, table and
  secret-prefix names are those the local stack provisions (stack ``jira-issue-creator``). Against real
  AWS, pass your own ``--env-vars`` file (or none) with your shell's credentials.
* The context: ``function_name``, ``function_version``, ``invoked_function_arn``, ``memory_limit_in_mb``
  (a string, as in the real runtime), ``aws_request_id``, ``log_group_name``, ``log_stream_name`` and
  ``get_remaining_time_in_millis()`` counting down from the function's Timeout, from the moment the
  handler is called (the import, Lambda's init phase, has its own 10 s limit).
* The timeout is enforced: at Timeout the process group is killed and the result is Lambda's
  ``Sandbox.Timedout`` error ("Task timed out after N.00 seconds"). MemorySize is not enforced; the REPORT
  line shows the peak memory used (and the init duration on a cold start) and a warning says when it is
  above MemorySize.
* Output: the handler's JSON result, or the error in the runtime's shape
  (``{"errorMessage", "errorType", "requestId", "stackTrace"}``), is the only thing on stdout; the
  handler's prints and logs, and START/END/REPORT lines, go to stderr. Unlike sam, a function error
  exits non-zero, so scripts and CI can tell.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Final, Literal, TextIO

__all__ = [
    "INIT_TIMEOUT_SECONDS",
    "ExecutionEnvironment",
    "FunctionConfig",
    "Invocation",
    "InvokeError",
    "build_environment",
    "env_value",
    "invoke",
    "parse_env_vars",
]

#: Lambda gives a function's init phase (imports, module-level code) 10 s.
INIT_TIMEOUT_SECONDS: Final = 10.0
#: How long a child whose result is in may take to exit before its process group is ended.
EXIT_GRACE_SECONDS: Final = 2.0
LOCAL_ACCOUNT_ID: Final = "123456789012"
#: The AWS connection: taken from the caller's shell, and from env.json even when the template does not
#: declare them (the deliberate difference from sam, see the module docstring).
CONNECTION_VARIABLES: Final = frozenset(
    {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_CA_BUNDLE",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
    }
)
ENDPOINT_PREFIX: Final = "AWS_ENDPOINT_URL_"
#: Proxies from the caller's shell: a developer behind one needs them, and a test can send everything
#: that is not loopback to a dead port with them.
PROXY_VARIABLES: Final = frozenset(
    {"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"}
)
#: sam's stand-ins when the caller has no credentials: boto3 then fails fast instead of probing
#: the instance metadata service (a network call to a link-local address).
PLACEHOLDER_CREDENTIALS: Final = {"AWS_ACCESS_KEY_ID": "defaultkey", "AWS_SECRET_ACCESS_KEY": "defaultsecret"}
# The runtime's answers, one line each: READY after init, START when the handler is called, then RESULT
# or ERROR followed by the JSON payload (ERROR alone, instead of READY, when init fails).
_READY: Final = b"I"
_START: Final = b"S"
_RESULT: Final = b"R"
_ERROR: Final = b"E"


class InvokeError(ValueError):
    """The invocation cannot start: bad env.json, bad event, missing handler folder."""


@dataclass(frozen=True)
class FunctionConfig:
    """Everything needed to run one function locally as Lambda would (see ``devstack.template``)."""

    logical_id: str
    function_name: str
    handler: str
    code_uri: Path
    runtime: str
    architecture: str
    timeout: int
    memory_size: int
    #: Template variables (Globals merged), resolved to strings, before env.json or the shell.
    environment: Mapping[str, str]
    #: sys.path entries for the layers, highest import priority first (Lambda's /opt/python).
    layer_paths: tuple[Path, ...] = ()
    #: Layers given by ARN (an AWS-managed Powertools layer, say): not available offline.
    remote_layers: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())


def env_value(value: Any) -> str:
    """A value as Lambda (and sam) pass an environment variable: ``true``/``false``, never ``None``."""
    if value is True or value is False:
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


# --- parent: the environment -------------------------------------------------------------------------


def parse_env_vars(text: str, source: str = "env.json") -> dict[str, dict[str, str]]:
    """sam's env.json: ``{"Parameters": {...}, "<LogicalId>": {...}}``; every section a JSON object."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as e:
        raise InvokeError(f"{source} is not JSON: {e}") from e
    if not isinstance(document, dict):
        raise InvokeError(f"{source} must be a JSON object of sections")
    sections: dict[str, dict[str, str]] = {}
    for name, section in document.items():
        if not isinstance(section, dict):
            raise InvokeError(f"{source}: section {name!r} must be an object of variable names to values")
        sections[name] = {str(k): env_value(v) for k, v in section.items()}
    return sections


@dataclass(frozen=True)
class Environment:
    """The function's environment and what the caller should know about how it was made."""

    variables: dict[str, str]
    notes: list[str]


def build_environment(
    config: FunctionConfig,
    *,
    env_vars: Mapping[str, Mapping[str, str]] | None,
    caller_env: Mapping[str, str],
    region: str,
) -> Environment:
    """Assemble the environment in sam's precedence order (the module docstring lists it)."""
    notes: list[str] = []
    variables = _runtime_variables(config, caller_env, region)
    variables.update(_connection(caller_env))
    declared = dict(config.environment)
    variables.update(declared)
    variables.update({name: caller_env[name] for name in declared if name in caller_env})
    sections = env_vars or {}
    beyond_sam: list[str] = []
    for section_name in ("Parameters", config.logical_id):
        for name, value in (sections.get(section_name) or {}).items():
            if name in declared:
                variables[name] = value
            elif _is_connection(name):
                variables[name] = value
                beyond_sam.append(name)
            elif section_name == config.logical_id:
                notes.append(
                    f"env.json {section_name}.{name} ignored: template.yaml does not declare it for "
                    f"{config.logical_id} (sam ignores it too)"
                )
    if beyond_sam:
        notes.append(
            f"env.json's {', '.join(dict.fromkeys(beyond_sam))} applied; sam local invoke applies them only "
            f"where template.yaml declares them for {config.logical_id}"
        )
    # Lambda sets both region variables to the function's region; env.json may have set only one.
    if "AWS_REGION" in beyond_sam and "AWS_DEFAULT_REGION" not in beyond_sam:
        variables["AWS_DEFAULT_REGION"] = variables["AWS_REGION"]
    elif "AWS_DEFAULT_REGION" in beyond_sam and "AWS_REGION" not in beyond_sam:
        variables["AWS_REGION"] = variables["AWS_DEFAULT_REGION"]
    return Environment(variables=variables, notes=notes)


def _runtime_variables(config: FunctionConfig, caller_env: Mapping[str, str], region: str) -> dict[str, str]:
    name = config.function_name
    return {
        "AWS_SAM_LOCAL": "true",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_size),
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(config.timeout),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{config.runtime}",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "LAMBDA_TASK_ROOT": str(config.code_uri),
        "_HANDLER": config.handler,
        "TZ": ":UTC",
        "LANG": "en_US.UTF-8",
        # Not Lambda's PATH (/var/lang/bin...), which does not exist here; a handler that runs a program
        # finds the caller's.
        "PATH": caller_env.get("PATH", os.defpath),
    }


def _is_connection(name: str) -> bool:
    return name in CONNECTION_VARIABLES or name.startswith(ENDPOINT_PREFIX)


def _connection(caller_env: Mapping[str, str]) -> dict[str, str]:
    taken = {
        name: value for name, value in caller_env.items() if _is_connection(name) or name in PROXY_VARIABLES
    }
    taken.pop("AWS_REGION", None)  # the region is chosen by the caller of build_environment
    taken.pop("AWS_DEFAULT_REGION", None)
    home = caller_env.get("HOME")
    has_profile = bool({"AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"} & set(taken)) or (
        home is not None and (Path(home) / ".aws").is_dir()
    )
    if "AWS_ACCESS_KEY_ID" in taken:
        pass
    elif has_profile and home is not None:
        taken["HOME"] = home  # boto3 reads the profile from ~/.aws
    else:
        taken.update(PLACEHOLDER_CREDENTIALS)
    return taken


# --- parent: running it ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invocation:
    """What came back: ``payload`` is the JSON text Lambda would return."""

    request_id: str
    outcome: Literal["ok", "error", "timeout"]
    payload: str
    duration_ms: float
    max_memory_mb: int


def invoke(
    config: FunctionConfig,
    event: bytes,
    environment: Mapping[str, str],
    *,
    log: TextIO | None = None,
    python: str = sys.executable,
) -> Invocation:
    """One cold invocation: a fresh :class:`ExecutionEnvironment`, used once and ended."""
    with ExecutionEnvironment(config, environment, log=log, python=python) as runtime:
        return runtime.invoke(event)


class ExecutionEnvironment:
    """A Lambda execution environment: one child process that imports the handler once (init) and then
    serves invocations one at a time, keeping module state (caches, clients, Powertools' cold start flag)
    between them, as a warm Lambda does. After a timeout or a crash it is discarded, and the next
    invocation starts a fresh one: a cold start, again as in Lambda. Like Lambda's, one invocation at a
    time: run several environments for concurrency.

    START/END/REPORT lines and the handler's own output go to ``log`` (stderr by default), as the runtime
    sends both to CloudWatch. Leaving the ``with`` block (or :meth:`close`) ends the process group.
    """

    def __init__(
        self,
        config: FunctionConfig,
        environment: Mapping[str, str],
        *,
        log: TextIO | None = None,
        python: str = sys.executable,
    ) -> None:
        self.config = config
        self.cold_starts = 0
        self._environment = dict(environment)
        self._child_stderr = log  # None: the child writes to our stderr
        self._log = log or sys.stderr
        self._python = python
        self._child: subprocess.Popen[bytes] | None = None
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self._broken = False  # init failed or the runtime died: the next invocation starts a new one
        self._peak_mb = 0
        region = environment.get("AWS_REGION", "us-east-1")
        self._arn = f"arn:aws:lambda:{region}:{LOCAL_ACCOUNT_ID}:function:{config.function_name}"

    def __enter__(self) -> ExecutionEnvironment:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def invoke(self, event: bytes) -> Invocation:
        """Run the handler with ``event`` (JSON bytes) and wait for it, within the function's Timeout."""
        request_id = str(uuid.uuid4())
        self._log.write(f"START RequestId: {request_id} Version: $LATEST\n")
        self._log.flush()
        try:
            init_ms, outcome, payload, duration_ms = self._exchange(request_id, event)
        except BaseException:
            self._discard()  # interrupted (Ctrl-C) mid-invocation: end it now, not after a grace period
            raise
        if self._broken or outcome == "timeout" or (self._child is not None and _has_exited(self._child)):
            self._discard()
        peak_mb = self._peak_memory_mb()
        self._report(request_id, duration_ms, init_ms, peak_mb)
        return Invocation(request_id, outcome, payload, duration_ms, peak_mb)

    def close(self) -> None:
        """End the environment: the child, and whatever it started."""
        if self._child is None:
            return
        assert self._child.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self._child.stdin.close()  # end of requests: the runtime loop exits by itself
        _await_exit_unreaped(self._child, EXIT_GRACE_SECONDS)
        self._discard()

    # --- one request and its answer ---

    def _exchange(
        self, request_id: str, event: bytes
    ) -> tuple[float | None, Literal["ok", "error", "timeout"], str, float]:
        init_ms = None
        started = time.monotonic()
        try:
            if self._child is None:
                self._start()
                line = self._next_line(INIT_TIMEOUT_SECONDS, "init phase")
                init_ms = (time.monotonic() - started) * 1000
                if line != _READY:
                    return init_ms, "error", self._failure_payload(request_id, line), 0.0
            self._send(request_id, event)
            # The runtime answers at once when it is alive; the Timeout counts from the handler's call.
            line = self._next_line(INIT_TIMEOUT_SECONDS, "runtime")
            if line != _START:
                return init_ms, "error", self._failure_payload(request_id, line), 0.0
            started = time.monotonic()
            line = self._next_line(self.config.timeout, "Task")
        except TimeoutError as e:
            self._log.write(f"{_now()} {request_id} {e}\n")
            payload = _error_json("Sandbox.Timedout", f"RequestId: {request_id} Error: {e}")
            return init_ms, "timeout", payload, (time.monotonic() - started) * 1000
        duration_ms = (time.monotonic() - started) * 1000
        if line is not None and line[:1] in (_RESULT, _ERROR):
            outcome: Literal["ok", "error"] = "ok" if line[:1] == _RESULT else "error"
            return init_ms, outcome, line[1:].decode("utf-8"), duration_ms
        return init_ms, "error", self._failure_payload(request_id, line), duration_ms

    def _start(self) -> None:
        spec = {
            "handler": self.config.handler,
            "sys_path": [str(self.config.code_uri), *map(str, self.config.layer_paths)],
            "invoked_function_arn": self._arn,
            "timeout_ms": self.config.timeout * 1000,
        }
        # -I: no PYTHON* variables, no user site, no script folder on sys.path (the child sets sys.path
        # itself); -B: no __pycache__ written into the function's or layer's folders.
        self._child = subprocess.Popen(
            [self._python, "-I", "-B", str(Path(__file__).resolve()), json.dumps(spec)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._child_stderr,
            env=self._environment,
            cwd=self.config.code_uri,
            start_new_session=True,  # its own process group: a timeout ends what the handler started too
        )
        self._lines = queue.Queue()
        threading.Thread(target=_read_lines, args=(self._child, self._lines), daemon=True).start()
        self.cold_starts += 1

    def _send(self, request_id: str, event: bytes) -> None:
        assert self._child is not None
        assert self._child.stdin is not None
        request = json.dumps({"request_id": request_id, "event": event.decode("utf-8")})
        with contextlib.suppress(BrokenPipeError):  # a dead runtime is noticed by the missing answer
            self._child.stdin.write(request.encode("utf-8") + b"\n")
            self._child.stdin.flush()

    def _next_line(self, seconds: float, phase: str) -> bytes | None:
        """The runtime's next line; ``None`` when it closed its side, TimeoutError after ``seconds``."""
        try:
            return self._lines.get(timeout=seconds)
        except queue.Empty:
            raise TimeoutError(f"{phase} timed out after {seconds:.2f} seconds") from None

    def _failure_payload(self, request_id: str, line: bytes | None) -> str:
        """An init error the runtime reported, or Lambda's ExitError for a runtime that died."""
        self._broken = True
        if line is not None and line[:1] == _ERROR:
            return line[1:].decode("utf-8")
        assert self._child is not None
        _await_exit_unreaped(self._child, EXIT_GRACE_SECONDS)
        status = "still running"
        info = os.waitid(os.P_PID, self._child.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        if info is not None and info.si_code == os.CLD_EXITED:
            status = f"exit status {info.si_status}"
        elif info is not None:
            status = f"signal: {signal.Signals(info.si_status).name}"
        message = f"RequestId: {request_id} Error: Runtime exited with error: {status}"
        return _error_json("Runtime.ExitError", message)

    # --- ending it ---

    def _discard(self) -> None:
        child, self._child, self._broken = self._child, None, False
        if child is None:
            return
        # The child is not reaped yet, so its process group id cannot have been reused: ending the group
        # ends only what this environment started (the child, if still there, and anything it spawned).
        self._peak_mb = max(self._peak_mb, _vm_hwm_mb(child.pid))
        _kill_group(child)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        for stream in (child.stdin, child.stdout):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()
        self._peak_mb = max(self._peak_mb, usage.ru_maxrss // 1024)  # kilobytes on Linux

    def _peak_memory_mb(self) -> int:
        if self._child is not None:
            self._peak_mb = max(self._peak_mb, _vm_hwm_mb(self._child.pid))
        return self._peak_mb

    def _report(self, request_id: str, duration_ms: float, init_ms: float | None, peak_mb: int) -> None:
        memory = self.config.memory_size
        init = f"\tInit Duration: {init_ms:.2f} ms" if init_ms is not None else ""
        self._log.write(f"END RequestId: {request_id}\n")
        self._log.write(
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Billed Duration: {max(1, round(duration_ms))} ms\tMemory Size: {memory} MB\t"
            f"Max Memory Used: {peak_mb} MB{init}\n"
        )
        if peak_mb > memory:
            self._log.write(f"warning: {peak_mb} MB used, over MemorySize ({memory} MB): Lambda kills it\n")
        self._log.flush()


def _read_lines(child: subprocess.Popen[bytes], lines: queue.Queue[bytes | None]) -> None:
    """Drain the runtime's answers (so a large result never blocks it) into ``lines``; ``None`` at the end."""
    assert child.stdout is not None
    for line in child.stdout:
        lines.put(line.rstrip(b"\n"))
    lines.put(None)


def _vm_hwm_mb(pid: int) -> int:
    """Peak resident memory of a live process (Linux), 0 when unknown."""
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return 0


def _has_exited(child: subprocess.Popen[bytes]) -> bool:
    """Whether the child has exited, without reaping it (``Popen.poll`` would: see ``_discard``)."""
    return os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _await_exit_unreaped(child: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not _has_exited(child):
        time.sleep(0.005)


def _kill_group(child: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):  # already gone
        os.killpg(child.pid, signal.SIGKILL)


def _error_json(error_type: str, message: str, stack: Sequence[str] = ()) -> str:
    body: dict[str, Any] = {"errorMessage": message, "errorType": error_type}
    if stack:
        body["stackTrace"] = list(stack)
    return json.dumps(body)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- child: the runtime --------------------------------------------------------------------------------


class LambdaContext:
    """The context object of the Python runtime (awslambdaric's ``LambdaContext``), with a real deadline."""

    def __init__(self, request_id: str, invoked_function_arn: str, deadline_ms: int) -> None:
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        self.invoked_function_arn = invoked_function_arn
        # A string in the real runtime too: it is read from the environment.
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity: Any = None
        self.client_context: Any = None
        self.tenant_id: str | None = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def log(self, message: str) -> None:
        sys.stdout.write(message)

    def __repr__(self) -> str:
        return f"LambdaContext(aws_request_id={self.aws_request_id!r}, function_name={self.function_name!r})"


def _child_main(spec_text: str) -> None:
    """The runtime loop: init (import the handler), then one request line in, one answer line out."""
    spec = json.loads(spec_text)
    # Requests arrive on fd 0 and answers leave on fd 1, on private copies that the handler's own
    # subprocesses do not inherit; the handler sees an empty stdin, and what it prints goes to stderr, as
    # Lambda sends stdout and stderr alike to the log.
    requests = os.fdopen(os.dup(0), "rb")
    answers = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    sys.path[0:0] = spec["sys_path"]

    handler = _load_handler(spec["handler"])
    if isinstance(handler, str):
        _answer(answers, _ERROR, handler)
        return
    _answer(answers, _READY)
    for line in requests:
        request = json.loads(line)
        _answer(answers, _START)
        deadline_ms = int(time.time() * 1000) + int(spec["timeout_ms"])
        context = LambdaContext(request["request_id"], spec["invoked_function_arn"], deadline_ms)
        _answer(answers, *_call(handler, request["event"], context))


def _call(
    handler: Callable[[Any, LambdaContext], Any], event_text: str, context: LambdaContext
) -> tuple[bytes, str]:
    try:
        event = json.loads(event_text)
    except ValueError as e:
        return _ERROR, _error_json("Runtime.UnmarshalError", f"Unable to unmarshal input: {e}")
    try:
        value = handler(event, context)
    except Exception as e:
        return _ERROR, _exception_payload(e, context.aws_request_id)
    try:
        return _RESULT, json.dumps(value)
    except (TypeError, ValueError) as e:
        return _ERROR, _error_json("Runtime.MarshalError", f"Unable to marshal response: {e}")


def _load_handler(handler: str) -> Callable[[Any, LambdaContext], Any] | str:
    """The handler function, or the runtime's error payload (a str) when it cannot be loaded."""
    module_name, _, function_name = handler.rpartition(".")
    module_name = module_name.replace("/", ".")  # the runtime accepts `folder/app.handler`
    if not module_name:
        message = f"Bad handler '{handler}': not enough values to unpack"
        return _error_json("Runtime.MalformedHandlerName", message)
    try:
        module = importlib.import_module(module_name)
    except SyntaxError as e:
        return _error_json("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {e}")
    except Exception as e:
        return _error_json("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {e}")
    function = getattr(module, function_name, None)
    if not callable(function):
        message = f"Handler '{function_name}' missing on module '{module_name}'"
        return _error_json("Runtime.HandlerNotFound", message)
    return function  # type: ignore[no-any-return]


def _exception_payload(error: Exception, request_id: str) -> str:
    # The first frame is _child_main calling the handler: the runtime's own frames are not the user's.
    frames = traceback.format_list(traceback.extract_tb(error.__traceback__)[1:])
    sys.stderr.write(f"[ERROR] {type(error).__name__}: {error}\nTraceback (most recent call last):\n")
    sys.stderr.write("".join(frames))
    body = {
        "errorMessage": str(error),
        "errorType": type(error).__name__,
        "requestId": request_id,
        "stackTrace": frames,
    }
    return json.dumps(body)


def _answer(answers: IO[bytes], kind: bytes, payload: str = "") -> None:
    # The handler's log lines first, then the answer: a reader of both sees them in order.
    sys.stdout.flush()
    sys.stderr.flush()
    answers.write(kind + payload.encode("utf-8") + b"\n")  # json.dumps never writes a raw newline
    answers.flush()


if __name__ == "__main__":
    _child_main(sys.argv[1])
    # Straight out: the parent ends the process group once it has the answer, so atexit hooks would race
    # it; Lambda does not run them between invocations either.
    os._exit(0)
