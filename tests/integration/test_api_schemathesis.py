"""Schemathesis against the committed OpenAPI document (docs/openapi.json), over real HTTP.

The API function is served by ``devstack.http_api`` with moto server and the Jira emulator behind it and one
tenant installed. Hooks steer part of the generated requests to that tenant, its project and issue bodies
Jira accepts, queued creates and a repeated Idempotency-Key, so that creates, replays and the queue are
reached, not only the validation errors of random input. Every answer must be no 5xx and conform to the
document: a documented status and content type, the documented schema and headers.

Phases: examples, coverage (boundary and negative values, deterministic) and fuzzing (MAX_EXAMPLES per
operation); no stateful phase, since the document declares no links. Hooks apply to the fuzzing phase.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig

from tests.integration.test_api_stack import ApiStack, api_fixture  # noqa: F401 (fixture)

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
#: Unreserved characters only: schemathesis hands path-parameter hooks values already percent-encoded.
TENANT = "schemathesis-site"
#: Enough to reach creates, replays and the queue; the whole module runs in about 20 s.
MAX_EXAMPLES = 60
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

# Loaded at import, as the committed file is; the server's URL is known only per test (see `stack`).
schema = schemathesis.openapi.from_path(
    DOCUMENT,
    config=SchemathesisConfig.from_dict(
        {
            "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
            # No links are declared, so no stateful phase; the coverage phase's boundary values stay.
            "phases": {"stateful": {"enabled": False}},
        }
    ),
)


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
    # Half the time, the installed tenant and its project: the paths that reach Jira.
    known = {**path_parameters, "clientKey": TENANT}
    if "projectKeyOrId" in path_parameters:
        known["projectKeyOrId"] = "OPS"
    return st.sampled_from([path_parameters, known])


@schema.hook
def flatmap_body(context: Any, body: Any) -> Any:
    # Also an issue Jira can create: the generated body addressed to the tenant's project, and a minimal
    # one (generated bodies carry fields no create screen has, which Jira refuses with 400).
    if not isinstance(body, dict) or not isinstance(body.get("fields"), dict):
        return st.just(body)
    address = {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}}
    summary = body["fields"].get("summary")
    minimal = {"fields": {**address, "summary": summary if isinstance(summary, str) else "Generated"}}
    return st.sampled_from([body, {**body, "fields": {**body["fields"], **address}}, minimal])


@schema.hook
def flatmap_headers(context: Any, headers: dict[str, Any] | None) -> Any:
    # Also queued creates, and a key used again and again (replays, once its first create has settled).
    if context.operation is None or context.operation.method.upper() != "POST":
        return st.just(headers)
    generated = dict(headers or {})
    return st.sampled_from(
        [
            generated,
            {**generated, "prefer": "respond-async"},
            {**generated, "idempotency-key": "schemathesis-replayed-key"},
        ]
    )


@pytest.fixture
def stack(api: ApiStack) -> ApiStack:
    """The API with the tenant installed (one stack per operation; its examples share it)."""
    api.add_tenant(TENANT)
    return api


@schema.parametrize()
# The stack is meant to be shared by an operation's examples: state accumulating is what a server sees.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_generated_request_gets_a_5xx_or_an_undocumented_answer(case: Case, stack: ApiStack) -> None:
    case.call_and_validate(base_url=stack.url, checks=CHECKS)
