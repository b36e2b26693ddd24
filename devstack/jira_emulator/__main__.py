"""``python -m devstack.jira_emulator --host 127.0.0.1 --port 8080 [--config file.json] [--set key=JSON]``

Prints one line with the root URL once it accepts connections; SIGINT or SIGTERM stops it (exit 0).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import signal
import sys
from pathlib import Path
from typing import Any

from devstack.jira_emulator.config import (
    ConfigError,
    EmulatorConfig,
    config_to_json,
    merge_config,
    parse_assignment,
)
from devstack.jira_emulator.server import log_to_stderr, serve

#: (young, middle, old) collection thresholds; Python's defaults are (700, 10, 10).
GC_THRESHOLDS = (50_000, 20, 100)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devstack.jira_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")
    parser.add_argument("--config", type=Path, help="JSON file with (part of) the config, camelCase keys")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="one knob, dotted path, e.g. --set auth.jwtLeewaySeconds=30 (repeatable; after --config)",
    )
    parser.add_argument("--latency-ms", type=int, help="shortcut for --set latencyMs=N")
    parser.add_argument("--index-lag-ms", type=int, help="shortcut for --set search.indexLagMs=N")
    parser.add_argument("--print-config", action="store_true", help="print the effective config and exit")
    return parser.parse_args(argv)


def build_config(args: argparse.Namespace) -> EmulatorConfig:
    config = EmulatorConfig()
    if args.config is not None:
        config = merge_config(config, _read_json(args.config))
    patches: list[dict[str, Any]] = [parse_assignment(text) for text in args.set]
    if args.latency_ms is not None:
        patches.append({"latencyMs": args.latency_ms})
    if args.index_lag_ms is not None:
        patches.append({"search": {"indexLagMs": args.index_lag_ms}})
    for patch in patches:
        config = merge_config(config, patch)
    return config


def tune_garbage_collector() -> None:
    """Issues live until reset, so nearly everything a create allocates survives and the default
    collector keeps rescanning it: over 30,000 creates that was about a quarter of the process's CPU
    time per create (measured here). Start-up objects are frozen out of the collector and collections
    run less often. Only the CLI process does this; an in-process server leaves its host's GC alone."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ConfigError(f"--config {path}: {error}") from None


async def _main(config: EmulatorConfig, host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await serve(config, host, port, stop)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = build_config(args)
    except ConfigError as error:
        print(f"jira emulator: invalid config: {error}", file=sys.stderr)
        return 2
    if args.print_config:
        print(json.dumps(config_to_json(config), indent=2))
        return 0
    log_to_stderr()
    tune_garbage_collector()
    asyncio.run(_main(config, args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
