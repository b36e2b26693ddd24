"""A local Jira Cloud emulator that authenticates Connect JWTs the way Jira does (issue 3).

Start it with ``python -m devstack.jira_emulator --host 127.0.0.1 --port 8080`` or in-process with
``EmulatorServer(EmulatorConfig()).start()``; drive it through the ``/__emu`` control surface
(:class:`EmulatorControl`). devstack/README.md documents the behaviour, the knobs and the control surface.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

# The qsh comes from the project's own layer, which is deployed as a Lambda layer rather than installed
# into the virtualenv; pytest and mypy find it through their configured paths, the CLI through this.
if importlib.util.find_spec("jira_connect") is None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "layers" / "jira_connect"))

from devstack.jira_emulator.config import ConfigError, EmulatorConfig, merge_config
from devstack.jira_emulator.control_client import EmulatorControl
from devstack.jira_emulator.server import EmulatorServer

__all__ = ["ConfigError", "EmulatorConfig", "EmulatorControl", "EmulatorServer", "merge_config"]
