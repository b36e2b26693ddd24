"""A local Jira Cloud emulator that authenticates Connect JWTs the way Jira does (issue 3).

Start it with ``python -m devstack.jira_emulator --host 127.0.0.1 --port 8080`` or in-process with
``EmulatorServer(EmulatorConfig()).start()``; drive it through the ``/__emu`` control surface
(:class:`EmulatorControl`). devstack/README.md documents the behaviour, the knobs and the control surface.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

# The qsh comes from the project's own layer, which is deployed as a Lambda layer rather than installed
# into the virtualenv; pytest and mypy find it through their configured paths, the CLI through this.
if importlib.util.find_spec("jira_connect") is None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "layers" / "jira_connect"))

if TYPE_CHECKING:
    from devstack.jira_emulator.config import ConfigError, EmulatorConfig, merge_config
    from devstack.jira_emulator.control_client import EmulatorControl
    from devstack.jira_emulator.server import EmulatorServer

__all__ = ["ConfigError", "EmulatorConfig", "EmulatorControl", "EmulatorServer", "merge_config"]

# Imported on first use: the control client is stdlib only, and a test session that never starts the
# emulator should not pay for importing aiohttp and cryptography.
_HOMES = {
    "ConfigError": "devstack.jira_emulator.config",
    "EmulatorConfig": "devstack.jira_emulator.config",
    "merge_config": "devstack.jira_emulator.config",
    "EmulatorControl": "devstack.jira_emulator.control_client",
    "EmulatorServer": "devstack.jira_emulator.server",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
