"""env.json and samconfig.toml work for sam and for ``python -m devstack invoke`` alike, and point local runs
only at the local stack."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from devstack.invoke import CONNECTION_VARIABLES, ENDPOINT_PREFIX, parse_env_vars
from devstack.template import Template

REPO = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ("default", "dev", "prod")
#: The functions env.json is written for; the template gains them as the worker, API and lifecycle land.
PLANNED_FUNCTIONS = {"IssueWorkerFunction", "ApiFunction", "LifecycleFunction"}
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


@pytest.fixture(scope="module")
def env_json() -> dict[str, dict[str, str]]:
    return parse_env_vars((REPO / "env.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def samconfig() -> dict[str, Any]:
    return tomllib.loads((REPO / "samconfig.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(REPO / "template.yaml")


def test_env_json_has_shared_parameters_and_a_section_per_function(
    env_json: dict[str, dict[str, str]],
) -> None:
    # sam's format: every top-level value an object; "Parameters" applies to every function.
    assert set(env_json) == {"Parameters"} | PLANNED_FUNCTIONS
    assert env_json["Parameters"]["AWS_ENDPOINT_URL"] == "http://127.0.0.1:5000"


def test_env_json_sends_nothing_beyond_loopback(env_json: dict[str, dict[str, str]]) -> None:
    for section, variables in env_json.items():
        for name, value in variables.items():
            if "://" in value:
                assert urlsplit(value).hostname in LOOPBACK_HOSTS, f"{section}.{name} = {value}"


def test_env_json_sections_name_template_functions_and_their_variables(
    env_json: dict[str, dict[str, str]], template: Template
) -> None:
    # sam ignores an env.json variable the template does not declare for the function, silently: a typo
    # or a stale name would never reach the code. (Each section is checked once its function is in the
    # template; Parameters once all of them are.)
    functions = set(template.function_ids())
    assert set(env_json) - {"Parameters"} - functions <= PLANNED_FUNCTIONS
    declared = {
        f: set((template.function_properties(f).get("Environment") or {}).get("Variables") or {})
        for f in functions
    }
    all_present = functions >= PLANNED_FUNCTIONS  # shared Parameters serve functions still to come
    for section, variables in env_json.items():
        if section == "Parameters" and not all_present:
            continue
        targets = functions if section == "Parameters" else {section} & functions
        for name in variables:
            if name in CONNECTION_VARIABLES or name.startswith(ENDPOINT_PREFIX) or not targets:
                continue  # devstack takes the connection anyway (see devstack.invoke)
            assert any(name in declared[f] for f in targets), (
                f"env.json {section}.{name}: template.yaml declares it for none of {sorted(targets)}, "
                "so sam local invoke ignores it"
            )


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_samconfig_environment_builds_deploys_validates_with_lint_and_invokes_locally(
    samconfig: dict[str, Any], environment: str
) -> None:
    commands = samconfig[environment]

    assert commands["global"]["parameters"]["stack_name"].startswith("jira-issue-creator")
    assert commands["build"]["parameters"]["cached"] is True
    assert commands["validate"]["parameters"]["lint"] is True
    assert "CAPABILITY_IAM" in commands["deploy"]["parameters"]["capabilities"]
    env_vars = commands["local_invoke"]["parameters"]["env_vars"]
    assert (REPO / env_vars).is_file()


def test_each_environment_deploys_its_own_stack(samconfig: dict[str, Any]) -> None:
    names = [samconfig[e]["global"]["parameters"]["stack_name"] for e in ENVIRONMENTS]

    assert len(set(names)) == len(names)


def test_samconfig_parameter_overrides_name_template_parameters(
    samconfig: dict[str, Any], template: Template
) -> None:
    declared = set(template.document.get("Parameters") or {})
    for environment in ENVIRONMENTS:
        for command, section in samconfig[environment].items():
            overrides = section.get("parameters", {}).get("parameter_overrides", "")
            for pair in overrides.split():
                assert pair.split("=", 1)[0] in declared, f"{environment}.{command}: {pair}"


def test_env_json_is_valid_json_for_sam() -> None:
    document = json.loads((REPO / "env.json").read_text(encoding="utf-8"))

    assert all(isinstance(v, dict) and all(isinstance(x, str) for x in v.values()) for v in document.values())
