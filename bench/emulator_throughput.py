"""Throughput of the Jira emulator: authenticated create-issue requests per second with 200 keep-alive
connections, so it is never the bottleneck of other benchmarks (issue 3: at least 1,000 per second).

    .venv/bin/python -m bench.emulator_throughput [--duration 10] [--connections 200] [--generator auto]

1. Start the emulator as its own process (latency 0) and create one tenant.
2. Baseline, same run: anonymous ``GET /rest/api/3/serverInfo`` (routing, pipeline, JSON; no JWT, no
   create) for ``--baseline-duration`` seconds.
3. Measure: ``POST /rest/api/3/issue`` with ``Authorization: JWT`` (HS256, qsh of that request; one
   token is valid for every request to that URL during its 180 s lifetime) for ``--duration`` seconds.
4. Count 201s from the emulator's own stats (the truth, whatever the generator says), plus the generator's
   errors and latency, the emulator's CPU use and its connection count.
The load generator runs in a separate process: wrk (Debian's package; installed with apt-get when missing
and allowed) or, failing that, an asyncio/aiohttp client started as ``--generate``.
Results: printed, and written to bench/results/emulator_throughput.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import jwt

from devstack.jira_emulator.control_client import EmulatorControl

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "emulator_throughput.json"
TARGET_CREATED_PER_SECOND = 1000
APP_KEY = "com.example.bench"
CREATE_PATH = "/rest/api/3/issue"
BASELINE_PATH = "/rest/api/3/serverInfo"
CREATE_ROUTE = "POST /rest/api/{v}/issue"
BASELINE_ROUTE = "GET /rest/api/{v}/serverInfo"
TOKEN_LIFETIME_SECONDS = 180
START_TIMEOUT_SECONDS = 30
ISSUE_BODY = {
    "fields": {
        "project": {"key": "OPS"},
        "issuetype": {"name": "Task"},
        "summary": "Benchmark issue: disk full on db-1",
        "description": {
            "type": "doc",
            "version": 1,
            "content": [
                {"type": "paragraph", "content": [{"type": "text", "text": "Raised by the benchmark."}]}
            ],
        },
        "labels": ["bench"],
    },
    "properties": [{"key": "bench.dedupe", "value": {"k": "not-unique-on-purpose"}}],
}


@dataclass
class Phase:
    """One measured run of the load generator."""

    name: str
    method: str
    path: str
    duration_seconds: float = 0.0
    ok_responses: int = 0
    ok_per_second: float = 0.0
    generator_requests: int = 0
    generator_requests_per_second: float = 0.0
    other_statuses: dict[str, int] = field(default_factory=dict)
    socket_errors: dict[str, int] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)
    emulator_cpu_percent: float | None = None
    emulator_cpu_ms_per_ok_response: float | None = None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.generate:
        return asyncio.run(generate(args))
    generator = choose_generator(args.generator)
    load_at_start = os.getloadavg()
    with emulator_process() as (url, pid):
        control = EmulatorControl(url)
        shared_secret = secrets.token_urlsafe(32)
        tenant = control.add_tenant(
            key=APP_KEY, client_key="jira:bench", shared_secret=shared_secret, slug="bench"
        )
        token = create_token(shared_secret)
        baseline = run_phase(
            Phase("baseline: anonymous GET serverInfo", "GET", BASELINE_PATH),
            control=control,
            tenant=tenant,
            pid=pid,
            generator=generator,
            connections=args.connections,
            duration=args.baseline_duration,
            token=None,
        )
        create = run_phase(
            Phase("authenticated POST create issue", "POST", CREATE_PATH),
            control=control,
            tenant=tenant,
            pid=pid,
            generator=generator,
            connections=args.connections,
            duration=args.duration,
            token=token,
        )
        stats = control.stats()
    result = {
        "benchmark": "emulator_throughput",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "command": " ".join(
            [".venv/bin/python -m bench.emulator_throughput", *(argv or sys.argv[1:])]
        ).strip(),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            # Other work on the machine takes CPU from both processes: read the figures with these.
            "loadAverageAtStart": load_at_start,
            "loadAverageAtEnd": os.getloadavg(),
        },
        "generator": generator_name(generator),
        "connections": args.connections,
        "createIssue": asdict(create),
        "baseline": asdict(baseline),
        "emulator": {
            "connectionsOpened": stats["connectionsOpened"],
            "connectionsAccepted": stats["connectionsAccepted"],
            "issuesCreated": stats["issuesCreated"].get("jira:bench", 0),
        },
        "target": {
            "createdPerSecond": TARGET_CREATED_PER_SECOND,
            "met": create.ok_per_second >= TARGET_CREATED_PER_SECOND,
        },
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    report(result)
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.emulator_throughput", description=__doc__)
    parser.add_argument(
        "--duration", type=float, default=10.0, help="seconds of create-issue load (default 10)"
    )
    parser.add_argument(
        "--baseline-duration", type=float, default=5.0, help="seconds of baseline load (default 5)"
    )
    parser.add_argument("--connections", type=int, default=200, help="concurrent keep-alive connections")
    parser.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto")
    # Internal: run as the Python load generator process.
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--method", default="GET", help=argparse.SUPPRESS)
    parser.add_argument("--authorization", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.duration + args.baseline_duration > TOKEN_LIFETIME_SECONDS - 30:
        parser.error("the run must fit in one token lifetime (150 s)")
    return args


# -- the emulator ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def emulator_process() -> Iterator[tuple[str, int]]:
    port = free_port()
    command = [sys.executable, "-m", "devstack.jira_emulator", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--latency-ms", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"http://\S+", line)
        if match is None:
            raise RuntimeError(f"the emulator did not start: {line!r}")
        yield match.group(0), process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=START_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def create_token(shared_secret: str) -> str:
    """A Connect JWT made without the project's signer: qsh of ``POST /rest/api/3/issue``, no query."""
    now = int(time.time())
    qsh = hashlib.sha256(f"POST&{CREATE_PATH}&".encode()).hexdigest()
    claims = {"iss": APP_KEY, "iat": now, "exp": now + TOKEN_LIFETIME_SECONDS, "qsh": qsh}
    return jwt.encode(claims, shared_secret, algorithm="HS256")


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), or None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- one phase -------------------------------------------------------------------------------------------


def run_phase(
    phase: Phase,
    *,
    control: EmulatorControl,
    tenant: dict[str, Any],
    pid: int,
    generator: str,
    connections: int,
    duration: float,
    token: str | None,
) -> Phase:
    route = CREATE_ROUTE if phase.method == "POST" else BASELINE_ROUTE
    owner = "jira:bench" if token else "anonymous"
    before = control.stats()["requests"].get(owner, {}).get(route, {})
    cpu_before, started = cpu_seconds(pid), time.monotonic()
    url = tenant["baseUrl"] + phase.path
    authorization = f"JWT {token}" if token else None
    if generator == "python":
        measured = run_python_generator(url, phase.method, authorization, connections, duration)
    else:
        measured = run_wrk(
            generator,
            url,
            method=phase.method,
            authorization=authorization,
            connections=connections,
            duration=duration,
        )
    elapsed = time.monotonic() - started
    cpu_after = cpu_seconds(pid)
    after = control.stats()["requests"].get(owner, {}).get(route, {})
    counts = {status: after.get(status, 0) - before.get(status, 0) for status in after}
    ok_status = "201" if phase.method == "POST" else "200"
    phase.duration_seconds = measured["duration"]
    phase.ok_responses = counts.pop(ok_status, 0)
    phase.ok_per_second = round(phase.ok_responses / measured["duration"], 1)
    phase.other_statuses = {k: v for k, v in counts.items() if v}
    phase.generator_requests = measured["requests"]
    phase.generator_requests_per_second = round(measured["requests"] / measured["duration"], 1)
    phase.socket_errors = measured["socket_errors"]
    phase.latency_ms = measured["latency_ms"]
    if cpu_before is not None and cpu_after is not None:
        phase.emulator_cpu_percent = round(100 * (cpu_after - cpu_before) / elapsed, 1)
        if phase.ok_responses:
            phase.emulator_cpu_ms_per_ok_response = round(
                1000 * (cpu_after - cpu_before) / phase.ok_responses, 3
            )
    return phase


# -- wrk -------------------------------------------------------------------------------------------------


def choose_generator(wanted: str) -> str:
    """The path of wrk, or "python" for the asyncio generator."""
    if wanted == "python":
        return "python"
    path = shutil.which("wrk") or install_wrk()
    if path is not None:
        return path
    if wanted == "wrk":
        raise SystemExit("wrk is not installed and could not be installed (apt-get install -y wrk)")
    print("wrk is not available: using the asyncio load generator", file=sys.stderr)
    return "python"


def install_wrk() -> str | None:
    apt_get = shutil.which("apt-get")
    if apt_get is None or os.geteuid() != 0:
        return None
    print("installing wrk with apt-get ...", file=sys.stderr)
    for command in (
        [apt_get, "install", "-y", "-q", "wrk"],
        [apt_get, "update", "-q"],
        [apt_get, "install", "-y", "-q", "wrk"],
    ):
        subprocess.run(command, check=False, capture_output=True, timeout=600)
        if shutil.which("wrk"):
            break
    return shutil.which("wrk")


def generator_name(generator: str) -> str:
    if generator == "python":
        return "asyncio/aiohttp client (separate process)"
    version = subprocess.run([generator, "--version"], capture_output=True, text=True, check=False).stdout
    return f"{version.split(' [')[0].strip() or 'wrk'} (-t1, separate process)"


def run_wrk(
    wrk: str, url: str, *, method: str, authorization: str | None, connections: int, duration: float
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "request.lua"
        script.write_text(wrk_script(method, authorization), encoding="utf-8")
        command = [
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{duration:g}s",
            "--latency",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ]
        output = subprocess.run(
            command, capture_output=True, text=True, check=True, timeout=duration + 60
        ).stdout
    return parse_wrk(output)


def wrk_script(method: str, authorization: str | None) -> str:
    lines = [f'wrk.method = "{method}"', 'wrk.headers["Content-Type"] = "application/json"']
    if authorization:
        lines.append(f'wrk.headers["Authorization"] = "{authorization}"')
    if method == "POST":
        lines.append(f"wrk.body = [==[{json.dumps(ISSUE_BODY)}]==]")
    return "\n".join(lines) + "\n"


def parse_wrk(output: str) -> dict[str, Any]:
    done = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    if done is None:
        raise RuntimeError(f"unexpected wrk output:\n{output}")
    unit = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[done.group(3)]
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    socket_errors = (
        dict(zip(("connect", "read", "write", "timeout"), map(int, errors.groups()), strict=True))
        if errors
        else {}
    )
    latency = {
        f"p{p}": _milliseconds(value, unit_text)
        for p, value, unit_text in re.findall(
            r"^\s+(50|90|99)%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE
        )
    }
    return {
        "requests": int(done.group(1)),
        "duration": float(done.group(2)) * unit,
        "socket_errors": socket_errors,
        "latency_ms": latency,
    }


def _milliseconds(value: str, unit: str) -> float:
    return round(float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit], 2)


# -- the asyncio load generator (a separate process) ----------------------------------------------------


def run_python_generator(
    url: str, method: str, authorization: str | None, connections: int, duration: float
) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "bench.emulator_throughput",
        "--generate",
        "--url",
        url,
        "--method",
        method,
    ]
    command += ["--connections", str(connections), "--duration", str(duration), "--baseline-duration", "0"]
    if authorization:
        command += ["--authorization", authorization]
    output = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, check=True, timeout=duration + 120
    )
    result: dict[str, Any] = json.loads(output.stdout)
    return result


async def generate(args: argparse.Namespace) -> int:
    import aiohttp

    headers = {"Content-Type": "application/json"}
    if args.authorization:
        headers["Authorization"] = args.authorization
    body = json.dumps(ISSUE_BODY).encode() if args.method == "POST" else None
    latencies: list[float] = []
    errors = {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    connector = aiohttp.TCPConnector(limit=args.connections, force_close=False)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, headers=headers) as session:
        started = time.monotonic()
        deadline = started + args.duration

        async def worker() -> None:
            while time.monotonic() < deadline:
                sent = time.monotonic()
                try:
                    async with session.request(args.method, args.url, data=body) as response:
                        await response.read()
                    latencies.append(time.monotonic() - sent)
                except TimeoutError:
                    errors["timeout"] += 1
                except aiohttp.ClientError:
                    errors["read"] += 1

        await asyncio.gather(*(worker() for _ in range(args.connections)))
        elapsed = time.monotonic() - started
    latencies.sort()
    percentiles = (
        {
            f"p{p}": round(1000 * latencies[min(len(latencies) - 1, len(latencies) * p // 100)], 2)
            for p in (50, 90, 99)
        }
        if latencies
        else {}
    )
    print(
        json.dumps(
            {
                "requests": len(latencies),
                "duration": elapsed,
                "socket_errors": errors,
                "latency_ms": percentiles,
            }
        )
    )
    return 0


# -- report ----------------------------------------------------------------------------------------------


def report(result: dict[str, Any]) -> None:
    print(f"Jira emulator throughput ({result['generator']}, {result['connections']} keep-alive connections)")
    for key in ("baseline", "createIssue"):
        phase = result[key]
        print(f"  {phase['name']}: {phase['ok_per_second']:,.0f} ok/s")
        print(f"    {phase['ok_responses']:,} in {phase['duration_seconds']:.1f} s")
        print(f"    latency: {phase['latency_ms']}")
        print(f"    other statuses: {phase['other_statuses'] or 'none'}")
        print(f"    socket errors: {phase['socket_errors']}")
        print(f"    emulator CPU: {phase['emulator_cpu_percent']}% of one core")
        print(f"    emulator CPU per ok response: {phase['emulator_cpu_ms_per_ok_response']} ms")
    emulator = result["emulator"]
    print(f"  emulator: {emulator['connectionsOpened']} connections used")
    print(f"  emulator: {emulator['issuesCreated']:,} issues created")
    target = result["target"]
    print(f"  target {target['createdPerSecond']:,} created/s: {'met' if target['met'] else 'NOT met'}")
    print(f"  results: {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    sys.exit(main())
