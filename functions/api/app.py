"""Lambda: the HTTP API for the systems that use this service (API Gateway HTTP API, payload v2).

    GET  /tenants/{clientKey}/projects                   -> the tenant's projects (every page, or one page)
    GET  /tenants/{clientKey}/projects/{projectKeyOrId}  -> one project
    POST /tenants/{clientKey}/issues                     -> 201 the issue, created now
                              (Prefer: respond-async)    -> 202 the message id, created by the worker

Every route needs AWS IAM (SigV4) by default, or a JWT authorizer (template parameter ``ApiAuthMode``): API
Gateway refuses anonymous callers before this function runs. Request parameters and bodies are declared
with types below, so Powertools validates them and generates the OpenAPI document (docs/openapi.json,
``python -m functions.api.openapi``).

Create headers: ``Idempotency-Key`` (1-255 characters) makes a retry safe in both modes, with the worker's
records and rules: a replay answers 201 with the same issue and ``Idempotent-Replayed: true``; a duplicate
while the first is still in flight answers 409 with ``Retry-After``. ``X-Act-As-User`` (an Atlassian
accountId) creates the issue as that user (the app needs the ACT_AS_USER scope). ``Prefer: respond-async``
(RFC 7240) queues the create instead and answers ``Preference-Applied: respond-async``.

Limits (jira_connect.http_api_contract), each named in its error: a body of at most 240 KiB (413);
``summary`` at most 255 characters (Jira's own limit), a plain-text ``description`` at most 32,767, at most
100 ``labels`` of at most 255 characters without spaces, at most 20 ``properties`` (422).

Errors, all one JSON shape (``ErrorBody``, jira_connect.http_api_contract), decided in one table by
exception type (``ERROR_STATUS``, jira_connect.http_api_errors; the handler only logs and answers).
``errorMessages`` and ``errors`` are Jira's ErrorCollection when Jira answered, else ours in the same form
(``errors`` maps a field path to its problem)::

    {"error": {"type": "JiraBadRequest", "status": 400, "message": "...", "errorMessages": [...],
               "errors": {"summary": "..."}, "retryAfter": null, "rateLimitReason": null}}

Choices worth knowing: an uninstalled tenant is 410 Gone (it was there; stop sending), an unknown one 404
(until the uninstalled tenant's secret is deleted, after its recovery window, when it is unknown again).
A failure of this service's own configuration or of the tenant's record (a base URL the host guard
refuses, a damaged record, Jira refusing our credentials, Jira ignoring our credentials) is 502: the
caller did nothing wrong, and retrying will not help until an operator acts. Jira unreachable: 502; Jira
busy (503): 503; Jira too slow: 504; AWS failing (DynamoDB, SQS, Secrets Manager): 503. When a create may
or may not have happened (timeout, connection lost, a 5xx), the message says so, and that retrying with
the same ``Idempotency-Key`` is safe. 500 only for a bug, logged with its traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from jira_connect.api_settings import ApiSettings
from jira_connect.http_api_contract import (
    CREATE_RESPONSES,
    MAX_KEY_LENGTH,
    MAX_PAGE_SIZE,
    MAX_START_AT,
    READ_RESPONSES,
    RESPOND_ASYNC,
    ActAsUserHeader,
    ClientKey,
    IdempotencyKeyHeader,
    IssueCreate,
    IssueCreated,
    IssueQueued,
    PreferHeader,
    ProjectPage,
    parse_body,
)
from jira_connect.http_api_errors import error_answer
from jira_connect.idempotency_store import DynamoDBIdempotencyStore
from jira_connect.issue_api import IssueApi
from jira_connect.issue_queue import SqsIssueQueue
from jira_connect.jira_client import JiraClients
from jira_connect.tenant_store import SecretsManagerTenantStore

logger = Logger()
# The layer logs through standard loggers; give them this Logger's JSON format and level.
copy_config_to_registered_loggers(source_logger=logger, include={"jira_connect"})

app = APIGatewayHttpResolver(enable_validation=True, json_body_deserializer=parse_body)


# --- wiring, once per execution environment --------------------------------------------------------------


@dataclass(frozen=True)
class Runtime:
    settings: ApiSettings
    api: IssueApi


@cache
def runtime() -> Runtime:
    """Built on the first request: configuration (failing fast, naming the variable), clients, stores."""
    settings = ApiSettings.from_env(os.environ)
    aws = Config(retries={"mode": "standard"})
    tenants = SecretsManagerTenantStore(
        boto3.client("secretsmanager", config=aws),
        settings.jira.tenant_secret_prefix,
        ttl_seconds=settings.jira.tenant_cache_ttl_seconds,
    )
    api = IssueApi(
        settings=settings,
        clients=JiraClients.from_settings(settings.jira, tenants),
        store=DynamoDBIdempotencyStore(
            boto3.client("dynamodb", config=aws),
            settings.idempotency_table,
            ttl_seconds=settings.idempotency_ttl_seconds,
        ),
        queue=SqsIssueQueue(boto3.client("sqs", config=aws), settings.issue_queue_url),
    )
    return Runtime(settings, api)


def remaining_seconds() -> Callable[[], float]:
    context = app.lambda_context
    return lambda: context.get_remaining_time_in_millis() / 1000.0


# --- routes ------------------------------------------------------------------------------------------------


@app.get(
    "/tenants/<clientKey>/projects",
    summary="The tenant's projects",
    description="Every page gathered (at most 1,000 projects, then `isLast` is false), or one page when "
    "`startAt` or `maxResults` is given (`maxResults` 100 by default). `query` filters by key or name, as "
    "Jira's project search does.",
    responses={200: {"description": "Projects"}, **READ_RESPONSES},
    tags=["projects"],
)
def list_projects(
    clientKey: ClientKey,
    startAt: Annotated[int | None, Query(ge=0, le=MAX_START_AT)] = None,
    maxResults: Annotated[int | None, Query(ge=1, le=MAX_PAGE_SIZE)] = None,
    query: Annotated[str | None, Query(max_length=MAX_KEY_LENGTH)] = None,
) -> ProjectPage:
    listed = runtime().api.projects(
        clientKey, start_at=startAt, max_results=maxResults, query=query, remaining=remaining_seconds()
    )
    return ProjectPage(
        values=listed.values,
        startAt=listed.start_at,
        maxResults=listed.max_results,
        total=listed.total,
        isLast=listed.is_last,
    )


@app.get(
    "/tenants/<clientKey>/projects/<projectKeyOrId>",
    summary="One project, by key (case-sensitive) or id",
    responses={200: {"description": "Jira's Project object"}, **READ_RESPONSES},
    tags=["projects"],
)
def get_project(
    clientKey: ClientKey,
    projectKeyOrId: Annotated[str, Path(min_length=1, max_length=MAX_KEY_LENGTH)],
) -> dict[str, Any]:
    return runtime().api.project(clientKey, projectKeyOrId, remaining=remaining_seconds())


@app.post(
    "/tenants/<clientKey>/issues",
    summary="Create an issue now (201), or queue it with `Prefer: respond-async` (202)",
    responses=CREATE_RESPONSES,
    tags=["issues"],
)
def create_issue(
    clientKey: ClientKey,
    issue: IssueCreate,
    idempotency_key: IdempotencyKeyHeader = None,
    act_as_user: ActAsUserHeader = None,
    prefer: PreferHeader = None,
) -> Response[dict[str, Any]]:
    body = issue.model_dump(mode="json", exclude_unset=True, by_alias=True)
    api = runtime().api
    if RESPOND_ASYNC in preferences(prefer):
        queued = api.enqueue_issue(clientKey, body, idempotency_key=idempotency_key, act_as_user=act_as_user)
        return Response(
            status_code=HTTPStatus.ACCEPTED,
            content_type=content_types.APPLICATION_JSON,
            body=IssueQueued(messageId=queued.message_id, idempotencyKey=queued.idempotency_key).model_dump(),
            headers={"Preference-Applied": RESPOND_ASYNC},
        )
    outcome = api.create_issue(
        clientKey,
        body,
        idempotency_key=idempotency_key,
        act_as_user=act_as_user,
        remaining=remaining_seconds(),
    )
    created = IssueCreated.model_validate({"id": outcome.id, "key": outcome.key, "self": outcome.url or ""})
    return Response(
        status_code=HTTPStatus.CREATED,
        content_type=content_types.APPLICATION_JSON,
        body=created.model_dump(by_alias=True),
        headers={"Idempotent-Replayed": "true"} if outcome.replayed else {},
    )


def preferences(header: str | None) -> set[str]:
    """The preference names of a ``Prefer`` header (RFC 7240: ``respond-async, wait=10``), lower-case."""
    names = (item.split(";", 1)[0].split("=", 1)[0].strip().lower() for item in (header or "").split(","))
    return {name for name in names if name}


# --- errors: the one place where an exception becomes an HTTP answer (jira_connect.http_api_errors) ------


def error_response(error: Exception) -> Response[dict[str, Any]]:
    event = app.current_event
    answer = error_answer(
        error,
        method=event.http_method,
        has_idempotency_key=event.headers.get("idempotency-key") is not None,
    )
    detail = answer.detail
    if answer.is_bug:
        logger.exception("request failed", error_type=type(answer.error).__name__, status=detail.status)
    else:
        # Jira's or AWS's trouble is worth a warning; the caller's own mistakes are only information.
        log = logger.warning if answer.status >= HTTPStatus.INTERNAL_SERVER_ERROR else logger.info
        log(
            "request refused",
            status=detail.status,
            error_type=detail.type,
            reason=detail.message,
            client_key=getattr(answer.error, "client_key", None),
            jira_status=getattr(answer.error, "status", None),
        )
    return Response(
        status_code=answer.status,
        content_type=content_types.APPLICATION_JSON,
        body=answer.body,
        headers=answer.headers,
    )


# Registered for every exception: Powertools looks handlers up along the raised type's MRO.
app.exception_handler(Exception)(error_response)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
