"""Lambda: the Atlassian Connect side of the app (API Gateway HTTP API, payload v2). Public routes.

    GET  /atlassian-connect.json  -> the app descriptor
    POST /installed               -> verify the signed install -> create or update the tenant secret -> 204
    POST /uninstalled             -> verify -> mark the tenant uninstalled, schedule deletion -> 204

Anything unverified: 401 ``{"error", "message"}`` and nothing stored or changed. A body that is not a
JSON object: 400. Install-keys CDN down: 503 (Atlassian reports the install as failed; retry it).

``APP_BASE_URL`` must be the descriptor ``baseUrl`` exactly as Atlassian calls it: the API's invoke URL,
with ``/<stage>`` for a named stage (see :mod:`jira_connect.lifecycle_settings`). The qsh is computed over
the event's ``rawPath`` and ``rawQueryString``, relative to that URL's path.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from functools import cache
from http import HTTPStatus
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.typing import LambdaContext

from jira_connect.descriptor import DESCRIPTOR_PATH, INSTALLED_PATH, UNINSTALLED_PATH, app_descriptor
from jira_connect.errors import InstallKeysUnavailable, InstallVerificationFailed
from jira_connect.install_keys import InstallKeyFetcher
from jira_connect.lifecycle_settings import LifecycleSettings
from jira_connect.signed_install import LifecycleEvent, SignedInstallVerifier
from jira_connect.tenant_store import SecretsManagerTenantStore

logger = Logger()
app = APIGatewayHttpResolver()


class MalformedBody(Exception):
    """The callback's body is not a JSON object."""


@dataclass(frozen=True)
class Lifecycle:
    """What the routes need, built once per execution environment (on the first request)."""

    settings: LifecycleSettings
    verifier: SignedInstallVerifier
    store: SecretsManagerTenantStore


@cache
def lifecycle() -> Lifecycle:
    settings = LifecycleSettings.from_env(os.environ)
    verifier = SignedInstallVerifier(
        app_key=settings.app_key,
        app_base_url=settings.app_base_url,
        public_key=InstallKeyFetcher(settings.install_keys_url),
        host_guard=settings.host_guard,
    )
    store = SecretsManagerTenantStore(boto3.client("secretsmanager"), settings.tenant_secret_prefix)
    return Lifecycle(settings, verifier, store)


@app.get(DESCRIPTOR_PATH)
def descriptor() -> dict[str, Any]:
    settings = lifecycle().settings
    return app_descriptor(app_key=settings.app_key, base_url=settings.app_base_url)


@app.post(INSTALLED_PATH)
def installed() -> Response[None]:
    body = verified_body("installed")
    secret_name = lifecycle().store.save_installation(body)
    logger.info(
        "tenant installed", client_key=body["clientKey"], base_url=body["baseUrl"], secret=secret_name
    )
    return Response(status_code=HTTPStatus.NO_CONTENT)


@app.post(UNINSTALLED_PATH)
def uninstalled() -> Response[None]:
    body = verified_body("uninstalled")
    runtime = lifecycle()
    marked = runtime.store.mark_uninstalled(
        body["clientKey"], recovery_window_days=runtime.settings.uninstall_recovery_window_days
    )
    logger.info("tenant uninstalled", client_key=body["clientKey"], had_record=marked)
    return Response(status_code=HTTPStatus.NO_CONTENT)


def verified_body(event: LifecycleEvent) -> dict[str, Any]:
    """The callback's JSON body, once the signed-install checks have all passed."""
    request = app.current_event
    body = json_object(request)
    query = request.raw_query_string
    lifecycle().verifier.verify(
        event,
        method=request.http_method,
        path_with_query=f"{request.raw_path}?{query}" if query else request.raw_path,
        authorization=request.headers.get("authorization"),
        body=body,
    )
    return body


def json_object(request: APIGatewayProxyEventV2) -> dict[str, Any]:
    try:
        # decoded_body undoes API Gateway's base64; bad base64 or UTF-8 is a ValueError too.
        body = json.loads(request.decoded_body or "")
    except ValueError as e:
        raise MalformedBody("the request body is not JSON") from e
    if not isinstance(body, dict):
        raise MalformedBody("the request body is not a JSON object")
    return body


# Errors become responses here, and only here, by type. Messages never hold a token or a secret.
ERROR_STATUS: dict[type[Exception], HTTPStatus] = {
    MalformedBody: HTTPStatus.BAD_REQUEST,
    InstallVerificationFailed: HTTPStatus.UNAUTHORIZED,
    InstallKeysUnavailable: HTTPStatus.SERVICE_UNAVAILABLE,
}


def error_response(error: Exception) -> Response[dict[str, str]]:
    status = next(status for kind, status in ERROR_STATUS.items() if isinstance(error, kind))
    logger.warning(
        "lifecycle request refused",
        status=int(status),
        error_type=type(error).__name__,
        check=getattr(error, "check", None),
        reason=str(error),
    )
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"error": type(error).__name__, "message": str(error)},
    )


# Registered by a call rather than as a decorator: Powertools' exception_handler is untyped.
app.exception_handler(list(ERROR_STATUS))(error_response)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
