"""``python -m devstack.jira_emulator``: one line with the root URL once it accepts connections, a clean
stop (exit 0) on SIGTERM or SIGINT, knobs from --config and --set, and a clear refusal of bad ones."""

from __future__ import annotations

import json
import os
import re
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devstack.jira_emulator.__main__ import main as cli_main

REPO = Path(__file__).resolve().parents[2]
URL_LINE = re.compile(r"^Jira emulator listening on (http://127\.0\.0\.1:\d+)$")
START_SECONDS = 20


def run(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # as a user runs it, from the repo root
    return subprocess.Popen(
        [sys.executable, "-m", "devstack.jira_emulator", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def first_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], START_SECONDS)
    assert ready, "the emulator printed nothing"
    return process.stdout.readline().rstrip("\n")


@pytest.fixture
def emulator_process() -> Iterator[subprocess.Popen[str]]:
    process = run("--host", "127.0.0.1", "--port", "0", "--set", "auth.jwtLeewaySeconds=5")
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_cli_prints_its_url_serves_and_stops_cleanly(
    emulator_process: subprocess.Popen[str], stop_signal: signal.Signals
) -> None:
    match = URL_LINE.match(first_line(emulator_process))
    assert match, "expected one line with the root URL"
    url = match.group(1)
    health = requests.get(f"{url}/__emu/health", timeout=10).json()
    assert health == {"status": "ok", "rootUrl": url, "tenants": 0}
    assert requests.get(f"{url}/__emu/config", timeout=10).json()["auth"]["jwtLeewaySeconds"] == 5
    emulator_process.send_signal(stop_signal)
    assert emulator_process.wait(timeout=15) == 0
    assert emulator_process.stdout is not None
    assert emulator_process.stdout.read() == ""


def test_cli_reads_a_config_file_then_set_overrides(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "emulator.json"
    config.write_text(json.dumps({"latencyMs": 5, "search": {"indexLagMs": 2000}}))
    status = cli_main(["--config", str(config), "--set", "search.indexLagMs=10", "--print-config"])
    effective = json.loads(capsys.readouterr().out)
    assert (status, effective["latencyMs"], effective["search"]["indexLagMs"]) == (0, 5, 10)


def test_cli_refuses_an_unknown_knob_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["--set", "search.lagMs=10", "--print-config"]) == 2
    assert "search.lagMs" in capsys.readouterr().err
