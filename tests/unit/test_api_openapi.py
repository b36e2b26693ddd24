"""docs/openapi.json is the document the code generates, and it describes what template.yaml deploys."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from devstack.http_api import routes_of
from devstack.template import Template
from functions.api import openapi

REPO = Path(__file__).resolve().parents[2]


def committed() -> dict[str, Any]:
    return dict(json.loads((REPO / "docs" / "openapi.json").read_text(encoding="utf-8")))


def test_committed_openapi_document_is_the_generated_one() -> None:
    # Fails when a route, parameter or model changed without `make openapi`.
    assert (REPO / "docs" / "openapi.json").read_text(encoding="utf-8") == openapi.render()
    assert openapi.main(["--check"]) == 0


def test_check_mode_reports_a_stale_document(tmp_path: Path) -> None:
    stale = tmp_path / "openapi.json"
    stale.write_text("{}\n", encoding="utf-8")
    assert openapi.main(["--check", "--output", str(stale)]) == 1


def test_document_has_exactly_the_routes_the_template_deploys() -> None:
    template = Template.load(REPO / "template.yaml")
    deployed = set(routes_of(template.function_properties("ApiFunction").get("Events") or {}))
    documented = {
        f"{method.upper()} {path}" for path, item in committed()["paths"].items() for method in item
    }
    assert documented == deployed


def test_every_operation_documents_its_errors_in_the_one_error_shape() -> None:
    for path, item in committed()["paths"].items():
        for method, operation in item.items():
            errors = {code: r for code, r in operation["responses"].items() if int(code) >= 400}
            assert {"404", "422", "429", "502", "503", "504"} <= set(errors), (method, path)
            for code, response in errors.items():
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, code)


def test_create_documents_both_modes_and_the_headers_that_shape_them() -> None:
    create = committed()["paths"]["/tenants/{clientKey}/issues"]["post"]
    headers = {p["name"] for p in create["parameters"] if p["in"] == "header"}
    assert headers == {"idempotency-key", "x-act-as-user", "prefer"}
    assert {"201", "202", "409", "413"} <= set(create["responses"])
    assert "Idempotent-Replayed" in create["responses"]["201"]["headers"]
    assert "Retry-After" in create["responses"]["409"]["headers"]


def test_limits_are_in_the_document() -> None:
    schemas = committed()["components"]["schemas"]
    fields = schemas["IssueFields"]["properties"]
    assert fields["summary"]["maxLength"] == 255
    assert fields["labels"]["maxItems"] == 100
    assert schemas["IssueCreate"]["properties"]["properties"]["maxItems"] == 20
