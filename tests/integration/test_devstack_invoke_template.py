"""``python -m devstack invoke`` runs each function of the real template.yaml with each of its events in
events/, with the repository's env.json pointed at this test's moto server.

"Runs" means the runtime got as far as the handler and the handler finished within its Timeout: a
handler that returns an error response, or raises because the local stack holds no tenant, still ran.
What fails here is wiring: a wrong Handler or CodeUri, a layer that does not import, configuration that
env.json and template.yaml leave unset (a settings error at import), a hang.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devstack.aws import MotoServer
from devstack.template import Template

REPO = Path(__file__).resolve().parents[2]
LOCAL_STACK_ENDPOINT = "http://127.0.0.1:5000"
#: Anything a function sends beyond loopback (a public default URL no variable overrode) goes to a closed
#: loopback port instead: requests and boto3 honour these, and devstack passes them through.
LOOPBACK_ONLY = {
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost",
}
#: Errors that mean the handler never ran to the end.
RUNTIME_FAILURES = ("Runtime.", "Sandbox.")


def function_events() -> list[tuple[str, Path]]:
    template = Template.load(REPO / "template.yaml")
    return [
        (function, event)
        for function in template.function_ids()
        for event in template.event_files(function, REPO / "events")
    ]


@pytest.mark.parametrize(
    ("function", "event"),
    function_events(),
    ids=lambda value: value.name if isinstance(value, Path) else str(value),
)
def test_function_runs_with_its_event(
    moto_server: MotoServer, tmp_path: Path, function: str, event: Path
) -> None:
    env_json = (REPO / "env.json").read_text(encoding="utf-8")
    (tmp_path / "env.json").write_text(env_json.replace(LOCAL_STACK_ENDPOINT, moto_server.endpoint_url))

    env_vars = ["--env-vars", str(tmp_path / "env.json")]
    completed = subprocess.run(
        [sys.executable, "-m", "devstack", "invoke", function, "--event", str(event), *env_vars],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={"PATH": os.environ["PATH"], **LOOPBACK_ONLY},
        timeout=120,
        check=False,
    )

    result = json.loads(completed.stdout)
    error_type = str(result.get("errorType", "")) if isinstance(result, dict) else ""
    assert not error_type.startswith(RUNTIME_FAILURES), completed.stdout + completed.stderr
