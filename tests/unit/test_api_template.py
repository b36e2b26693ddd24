"""template.yaml's HTTP API: what no linter checks. Every API route requires IAM, or JWT when chosen, and
only the Connect lifecycle routes are public; the API function's permissions are the least it needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devstack.http_api import routes_of
from devstack.template import Template, load_yaml

REPO = Path(__file__).resolve().parents[2]
SECURITY = {"Fn::If": ["UseJwtAuth", [{"JwtAuthorizer": []}], [{"AWS_IAM": []}]]}
PUBLIC_ROUTES = {"GET /atlassian-connect.json", "POST /installed", "POST /uninstalled"}


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    document: dict[str, Any] = load_yaml((REPO / "template.yaml").read_text(encoding="utf-8"))
    return document


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(REPO / "template.yaml")


def _events(raw: dict[str, Any], function: str) -> dict[str, Any]:
    events: dict[str, Any] = raw["Resources"][function]["Properties"]["Events"]
    return events


def test_every_api_route_requires_iam_or_the_jwt_authorizer(raw: dict[str, Any]) -> None:
    api = raw["Resources"]["HttpApi"]["Properties"]
    # Routes not in the definition fall to the default: IAM. The API's own routes choose by ApiAuthMode.
    assert api["Auth"]["DefaultAuthorizer"] == "AWS_IAM"
    assert api["Auth"]["EnableIamAuthorizer"] is True
    paths = api["DefinitionBody"]["paths"]
    for route in routes_of(_events(raw, "ApiFunction")):
        method, path = route.split(" ", 1)
        assert paths[path][method.lower()]["security"] == SECURITY, route
        event = next(e for e in _events(raw, "ApiFunction").values() if e["Properties"]["Path"] == path)
        assert "Auth" not in event["Properties"], f"{route} must not override the API's authorizer"


def test_only_the_connect_lifecycle_routes_are_public(raw: dict[str, Any]) -> None:
    public = set()
    for name, resource in raw["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for event in (resource["Properties"].get("Events") or {}).values():
            auth = event.get("Properties", {}).get("Auth") or {}
            if event["Type"] == "HttpApi" and auth.get("Authorizer") == "NONE":
                public.add(f"{event['Properties']['Method']} {event['Properties']['Path']}")
                assert name == "LifecycleFunction"
    assert public == PUBLIC_ROUTES


def test_jwt_mode_has_its_parameters_and_refuses_to_deploy_without_them(raw: dict[str, Any]) -> None:
    assert raw["Parameters"]["ApiAuthMode"]["AllowedValues"] == ["IAM", "JWT"]
    assert raw["Conditions"]["UseJwtAuth"] == {"Fn::Equals": [{"Ref": "ApiAuthMode"}, "JWT"]}
    rule = raw["Rules"]["JwtAuthNeedsIssuerAndAudience"]
    assert len(rule["Assertions"]) == 2
    jwt = raw["Resources"]["HttpApi"]["Properties"]["Auth"]["Authorizers"]["JwtAuthorizer"]
    assert jwt["JwtConfiguration"]["issuer"]["Fn::If"][1] == {"Ref": "JwtIssuer"}
    assert jwt["JwtConfiguration"]["audience"]["Fn::If"][1] == {"Ref": "JwtAudience"}


def test_api_function_reads_secrets_sends_to_the_queue_and_writes_the_table_only(raw: dict[str, Any]) -> None:
    function = raw["Resources"]["ApiFunction"]["Properties"]
    statements = {s["Sid"]: s for p in function["Policies"] for s in p["Statement"]}
    assert set(statements) == {"ReadTenantSecrets", "IdempotencyRecords", "SendToIssueQueue"}
    assert statements["ReadTenantSecrets"]["Action"] == "secretsmanager:GetSecretValue"
    assert "${TenantSecretPrefix}*" in statements["ReadTenantSecrets"]["Resource"]["Fn::Sub"]
    assert statements["SendToIssueQueue"] == {
        "Sid": "SendToIssueQueue",
        "Effect": "Allow",
        "Action": "sqs:SendMessage",
        "Resource": {"Fn::GetAtt": ["IssueQueue", "Arn"]},
    }
    assert statements["IdempotencyRecords"]["Resource"] == {"Fn::GetAtt": ["IdempotencyTable", "Arn"]}
    assert not any(a.endswith("*") for a in statements["IdempotencyRecords"]["Action"])


def test_api_function_gets_its_configuration_and_answers_before_api_gateways_timeout(
    template: Template,
) -> None:
    config = template.function_config("ApiFunction")
    assert config.timeout < 30
    variables = template.function_properties("ApiFunction")["Environment"]["Variables"]
    assert {"ISSUE_QUEUE_URL", "IDEMPOTENCY_TABLE", "TENANT_SECRET_PREFIX", "JIRA_INDEX_LAG_SECONDS"} <= set(
        variables
    )


def test_outputs_name_the_api_and_the_descriptor(raw: dict[str, Any]) -> None:
    assert "${HttpApi}.execute-api" in raw["Outputs"]["ApiUrl"]["Value"]["Fn::Sub"]
    assert raw["Outputs"]["DescriptorUrl"]["Value"] == {"Fn::Sub": "${AppBaseUrl}/atlassian-connect.json"}
