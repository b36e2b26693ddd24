"""The API's OpenAPI document, generated from the route functions' types: ``python -m functions.api.openapi``.

Writes docs/openapi.json (``make openapi``); ``--check`` exits 1 instead when the committed file differs,
which tests/unit/test_api_openapi.py also asserts. Not used at run time.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from aws_lambda_powertools.event_handler.openapi.models import APIKey, HTTPBearer, SecurityScheme

from functions.api.app import app

__all__ = ["DOCUMENT_PATH", "document", "main"]

DOCUMENT_PATH: Final = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
TITLE: Final = "Jira issue creator"
VERSION: Final = "1.0.0"
DESCRIPTION: Final = """\
Fetch a Jira Cloud site's projects and create issues in it, as the Atlassian Connect app installed there.
A site (tenant) is named by its Connect `clientKey`; the app must be installed on it.

Authentication is API Gateway's: AWS SigV4 (`execute-api:Invoke`) by default, or a JWT bearer token when
the stack is deployed with `ApiAuthMode=JWT`.

Every error has one shape, `{"error": {"type", "status", "message", "errorMessages", "errors", "retryAfter",
"rateLimitReason"}}`; `errorMessages`/`errors` carry Jira's own ErrorCollection when Jira answered.
Create with an `Idempotency-Key` to make retries safe (a replay answers the same issue with
`Idempotent-Replayed: true`); with `Prefer: respond-async` the create is queued and answered 202."""
SECURITY_SCHEMES: Final[dict[str, SecurityScheme]] = {
    # API Gateway's own description of SigV4 (what SAM writes into the deployed API's definition).
    "sigv4": APIKey.model_validate(
        {
            "type": "apiKey",
            "name": "Authorization",
            "in": "header",
            "description": "AWS Signature Version 4 (API Gateway IAM authorization)",
            "x-amazon-apigateway-authtype": "awsSigv4",
        }
    ),
    "jwt": HTTPBearer(
        bearerFormat="JWT",
        description="A JWT from the configured issuer (when deployed with ApiAuthMode=JWT)",
    ),
}


def document() -> dict[str, Any]:
    """The OpenAPI document, as a JSON object."""
    text = app.get_openapi_json_schema(
        title=TITLE,
        version=VERSION,
        description=DESCRIPTION,
        security_schemes=SECURITY_SCHEMES,
        # Either, depending on how the stack is deployed.
        security=[{"sigv4": []}, {"jwt": []}],
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


def render() -> str:
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m functions.api.openapi", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed document is stale")
    parser.add_argument("--output", type=Path, default=DOCUMENT_PATH)
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            sys.stderr.write(f"{args.output} is stale: run `make openapi`\n")
            return 1
        return 0
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    sys.stdout.write(f"wrote {args.output}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
