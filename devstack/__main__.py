"""``python -m devstack``: the local stack's command line.

``invoke``  run one function of template.yaml with an event, without Docker (``sam local invoke``'s flags)
``package`` build the jira_connect layer for Lambda (python3.13, arm64) and report its size
``demo``    the service doing its job on the local stack (``make demo``; ``demo --help`` for its options)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from devstack import demo, package
from devstack.invoke import InvokeError, build_environment, invoke, parse_env_vars
from devstack.template import DEFAULT_REGION, Template, TemplateError, parse_parameter_overrides

EXIT_FUNCTION_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
#: sam local invoke's container options: accepted so a sam command line works here unchanged, ignored.
DOCKER_ONLY_OPTIONS = (
    "--docker-network",
    "--container-host",
    "--container-host-interface",
    "--invoke-image",
    "--layer-cache-basedir",
    "--docker-volume-basedir",
)
DOCKER_ONLY_FLAGS = ("--skip-pull-image", "--force-image-build")


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["demo"]:  # the demo parses its own options
        return demo.main(arguments[1:])
    parser = _parser()
    args = parser.parse_args(arguments)
    try:
        result: int = args.run(args)
    except (TemplateError, InvokeError, package.PackageError) as e:
        sys.stderr.write(f"error: {e}\n")
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED  # what the command started has been ended on the way out
    return result


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m devstack", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run = commands.add_parser(
        "invoke",
        help="run a function of template.yaml locally, like `sam local invoke` without Docker",
        description="Runs the handler in a fresh Python process with the function's CodeUri and layers on "
        "sys.path, its environment, and a Lambda context with a real deadline. Prints the result (or the "
        "error) on stdout, logs on stderr; exits 1 on a function error or timeout.",
    )
    run.add_argument("function", nargs="?", metavar="LogicalId", help="the function (optional if only one)")
    run.add_argument("-e", "--event", help="JSON file with the event, '-' for stdin (default: {})")
    run.add_argument("-n", "--env-vars", help='sam\'s env.json: {"Parameters": {...}, "<LogicalId>": {...}}')
    run.add_argument(
        "-t", "--template", "--template-file", default="template.yaml", help="default: %(default)s"
    )
    run.add_argument(
        "--parameter-overrides",
        nargs="+",
        metavar="KEY=VALUE",
        help="template parameters (also pseudo parameters: AWS::StackName=...), as sam takes them",
    )
    run.add_argument("--region", help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, us-east-1)")
    run.add_argument(
        "--config-file", help="samconfig.toml to read defaults from (default: beside the template)"
    )
    run.add_argument("--config-env", default="default", help="its environment (default: %(default)s)")
    run.add_argument("--profile", help="AWS profile for the function's credentials (sets AWS_PROFILE)")
    run.add_argument("-l", "--log-file", help="write the function's logs there instead of stderr")
    docker = run.add_argument_group("sam's container options", "accepted for sam compatibility and ignored")
    for option in DOCKER_ONLY_OPTIONS:
        docker.add_argument(
            option, dest=f"ignored{option.replace('-', '_')}", metavar="VALUE", help=argparse.SUPPRESS
        )
    for flag in DOCKER_ONLY_FLAGS:
        docker.add_argument(
            flag, dest=f"ignored{flag.replace('-', '_')}", action="store_true", help=argparse.SUPPRESS
        )
    run.set_defaults(run=_invoke)

    build = commands.add_parser("package", help=package.__doc__.splitlines()[0] if package.__doc__ else None)
    package.add_arguments(build)
    build.set_defaults(run=package.run)

    commands.add_parser("demo", help="the service doing its job on the local stack (demo --help)")
    return parser


def _invoke(args: argparse.Namespace) -> int:
    template_path = Path(args.template)
    samconfig = _samconfig(args, template_path)
    overrides = parse_parameter_overrides(
        args.parameter_overrides or _as_list(samconfig.get("parameter_overrides"))
    )
    shell = dict(os.environ)
    if args.profile:
        shell["AWS_PROFILE"] = args.profile
    ignored = [
        name.removeprefix("ignored__").replace("_", "-")
        for name, v in vars(args).items()
        if v and name.startswith("ignored__")
    ]
    _note([f"--{name} ignored: no container here" for name in ignored])
    region = (
        args.region or samconfig.get("region") or shell.get("AWS_REGION") or shell.get("AWS_DEFAULT_REGION")
    )
    region = str(region or DEFAULT_REGION)

    template = Template.load(template_path, parameter_overrides=overrides, region=region)
    function_id = args.function or _only_function(template)
    config = template.function_config(function_id)
    _note(config.warnings)
    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if config.runtime != here:
        _note([f"{function_id} runs on this {here}; its Runtime in the template is {config.runtime}"])

    env_vars_path = args.env_vars or samconfig.get("env_vars")
    env_vars = parse_env_vars(_read(Path(env_vars_path)), str(env_vars_path)) if env_vars_path else None
    environment = build_environment(config, env_vars=env_vars, caller_env=shell, region=region)
    _note(environment.notes)

    event = _event(args.event)
    if args.log_file:
        with Path(args.log_file).open("a", encoding="utf-8") as log:
            invocation = invoke(config, event, environment.variables, log=log)
    else:
        invocation = invoke(config, event, environment.variables)
    sys.stdout.write(invocation.payload + "\n")
    return 0 if invocation.outcome == "ok" else EXIT_FUNCTION_ERROR


def _samconfig(args: argparse.Namespace, template_path: Path) -> dict[str, Any]:
    """The ``global`` and ``local_invoke`` parameters of the chosen samconfig environment, as sam reads them.

    Relative paths in it (env_vars) are taken from the folder of samconfig.toml.
    """
    path = Path(args.config_file) if args.config_file else template_path.parent / "samconfig.toml"
    if not path.is_file():
        if args.config_file:
            raise InvokeError(f"config file {path} not found")
        return {}
    try:
        document = tomllib.loads(_read(path))
    except tomllib.TOMLDecodeError as e:
        raise InvokeError(f"{path} is not valid TOML: {e}") from e
    environment = document.get(args.config_env) or {}
    if args.config_file and args.config_env not in document:
        raise InvokeError(f"{path} has no environment {args.config_env!r}")
    values: dict[str, Any] = {}
    for command in ("global", "local_invoke"):
        values.update((environment.get(command) or {}).get("parameters") or {})
    if "env_vars" in values:
        values["env_vars"] = str(path.parent / str(values["env_vars"]))
    return values


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _only_function(template: Template) -> str:
    functions = template.function_ids()
    if len(functions) != 1:
        raise TemplateError(
            f"name the function to invoke; the template has: {', '.join(functions) or 'none'}"
        )
    return functions[0]


def _event(source: str | None) -> bytes:
    if source is None:
        return b"{}"  # sam's default when no event is given
    data = sys.stdin.buffer.read() if source == "-" else _read(Path(source)).encode("utf-8")
    try:
        json.loads(data)
    except ValueError as e:
        raise InvokeError(f"event {source} is not JSON: {e}") from e
    return data


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as e:
        raise InvokeError(f"cannot read {path}: {e.strerror}") from e


def _note(lines: Sequence[str]) -> None:
    for line in lines:
        sys.stderr.write(f"note: {line}\n")


if __name__ == "__main__":
    sys.exit(main())
