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

Errors, all one JSON shape (:class:`ErrorBody`), decided in one table by exception type
(:data:`ERROR_STATUS`). ``errorMessages`` and ``errors`` are Jira's ErrorCollection when Jira answered,
else ours in the same form (``errors`` maps a field path to its problem)::

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

import binascii
import math
import os
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any, Final

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from jira_connect.api_settings import ApiSettings
from jira_connect.batch import DeliveryInProgress, IdempotencyStoreUnavailable
from jira_connect.errors import (
    ActAsUserUnavailable,
    AmbiguousError,
    AnonymousRequest,
    ConnectionFailed,
    DisallowedBaseUrl,
    InvalidMessage,
    IssueCreatorError,
    JiraAuthenticationFailed,
    JiraBadRequest,
    JiraForbidden,
    JiraNotFound,
    JiraRejected,
    JiraUnavailable,
    JiraUnprocessable,
    MalformedTenantRecord,
    PermanentError,
    RateLimited,
    ResponseTimeout,
    RetryableError,
    TenantUninstalled,
    UnknownTenant,
)
from jira_connect.http_api_contract import (
    CREATE_RESPONSES,
    MAX_KEY_LENGTH,
    MAX_PAGE_SIZE,
    MAX_START_AT,
    READ_RESPONSES,
    RESPOND_ASYNC,
    ActAsUserHeader,
    BodyTooLarge,
    ClientKey,
    ErrorBody,
    ErrorDetail,
    IdempotencyKeyHeader,
    IssueCreate,
    IssueCreated,
    IssueQueued,
    MalformedBody,
    PreferHeader,
    ProjectPage,
    parse_body,
)
from jira_connect.idempotency_store import DynamoDBIdempotencyStore
from jira_connect.issue_api import IssueApi, MessageTooLarge
from jira_connect.issue_queue import SqsIssueQueue
from jira_connect.jira_client import JiraClients
from jira_connect.settings import SettingsError
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


# --- errors: the one place where an exception becomes an HTTP answer -------------------------------------

#: First match wins, so a subclass comes before its base.
ERROR_STATUS: Final[tuple[tuple[type[BaseException], HTTPStatus], ...]] = (
    # The request itself.
    (BodyTooLarge, HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
    (MessageTooLarge, HTTPStatus.REQUEST_ENTITY_TOO_LARGE),
    (MalformedBody, HTTPStatus.BAD_REQUEST),
    (RequestUnsupportedContentType, HTTPStatus.UNSUPPORTED_MEDIA_TYPE),
    (RequestValidationError, HTTPStatus.UNPROCESSABLE_ENTITY),
    (InvalidMessage, HTTPStatus.UNPROCESSABLE_ENTITY),
    (NotFoundError, HTTPStatus.NOT_FOUND),
    (DeliveryInProgress, HTTPStatus.CONFLICT),
    # The tenant.
    (UnknownTenant, HTTPStatus.NOT_FOUND),
    (TenantUninstalled, HTTPStatus.GONE),
    (ActAsUserUnavailable, HTTPStatus.FORBIDDEN),
    # Our configuration or the tenant's record: nothing the caller can fix.
    (MalformedTenantRecord, HTTPStatus.BAD_GATEWAY),
    (DisallowedBaseUrl, HTTPStatus.BAD_GATEWAY),
    (JiraAuthenticationFailed, HTTPStatus.BAD_GATEWAY),
    (AnonymousRequest, HTTPStatus.BAD_GATEWAY),
    # Jira's answers, with Jira's meaning.
    (JiraBadRequest, HTTPStatus.BAD_REQUEST),
    (JiraForbidden, HTTPStatus.FORBIDDEN),
    (JiraNotFound, HTTPStatus.NOT_FOUND),
    (JiraUnprocessable, HTTPStatus.UNPROCESSABLE_ENTITY),
    (JiraRejected, HTTPStatus.BAD_REQUEST),
    (RateLimited, HTTPStatus.TOO_MANY_REQUESTS),
    (JiraUnavailable, HTTPStatus.SERVICE_UNAVAILABLE),
    (ConnectionFailed, HTTPStatus.BAD_GATEWAY),
    (IdempotencyStoreUnavailable, HTTPStatus.SERVICE_UNAVAILABLE),
    (ResponseTimeout, HTTPStatus.GATEWAY_TIMEOUT),
    (AmbiguousError, HTTPStatus.BAD_GATEWAY),
    (RetryableError, HTTPStatus.SERVICE_UNAVAILABLE),
    (PermanentError, HTTPStatus.BAD_REQUEST),
    (IssueCreatorError, HTTPStatus.BAD_GATEWAY),
    # AWS (Secrets Manager, DynamoDB, SQS) failing.
    (ClientError, HTTPStatus.SERVICE_UNAVAILABLE),
    (BotoCoreError, HTTPStatus.SERVICE_UNAVAILABLE),
    # A bug, or a deployment missing a variable: logged with its traceback.
    (SettingsError, HTTPStatus.INTERNAL_SERVER_ERROR),
    (Exception, HTTPStatus.INTERNAL_SERVER_ERROR),
)
#: Powertools' function that reads the request body; a ValueError raised inside it is the caller's body.
BODY_READER: Final = ("openapi_validation.py", "_get_body")
RETRY_IS_SAFE: Final = (
    "The issue may have been created. Retrying with the same Idempotency-Key is safe: the retry finds "
    "the issue if it exists and creates it otherwise."
)
RETRY_NEEDS_KEY: Final = (
    "The issue may have been created. Send an Idempotency-Key header with creates, so that a retry is safe."
)


def error_response(error: Exception) -> Response[dict[str, Any]]:
    error = _as_request_error(error)
    status = next(status for kind, status in ERROR_STATUS if isinstance(error, kind))
    detail = ErrorDetail(
        type=_error_type(error),
        status=int(status),
        message=_message(error, status),
        errorMessages=list(getattr(error, "error_messages", ())),
        errors=_field_errors(error),
        retryAfter=_retry_after(error),
        rateLimitReason=getattr(error, "rate_limit_reason", None),
    )
    if status == HTTPStatus.INTERNAL_SERVER_ERROR:
        logger.exception("request failed", error_type=type(error).__name__, status=detail.status)
    else:
        # Jira's or AWS's trouble is worth a warning; the caller's own mistakes are only information.
        log = logger.warning if status >= HTTPStatus.INTERNAL_SERVER_ERROR else logger.info
        log(
            "request refused",
            status=detail.status,
            error_type=detail.type,
            reason=detail.message,
            client_key=getattr(error, "client_key", None),
            jira_status=getattr(error, "status", None),
        )
    headers = {} if detail.retryAfter is None else {"Retry-After": str(detail.retryAfter)}
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=ErrorBody(error=detail).model_dump(),
        headers=headers,
    )


def _as_request_error(error: Exception) -> Exception:
    """A ValueError raised while Powertools read the body (bad base64 or UTF-8, a form or multipart body
    it could not parse) is a malformed request, not a bug of ours."""
    if isinstance(error, ValueError | binascii.Error) and any(
        frame.filename.endswith(BODY_READER[0]) and frame.name == BODY_READER[1]
        for frame in traceback.extract_tb(error.__traceback__)
    ):
        return MalformedBody(f"the request body could not be read ({type(error).__name__})")
    return error


def _error_type(error: Exception) -> str:
    if isinstance(error, IssueCreatorError):
        return error.error_type
    if isinstance(error, ClientError | BotoCoreError):
        return "AwsServiceError"
    if isinstance(error, NotFoundError):
        return "RouteNotFound"
    if type(error) is Exception or not _is_ours(error):
        return "InternalError"
    return type(error).__name__


def _is_ours(error: Exception) -> bool:
    return isinstance(
        error,
        BodyTooLarge | MalformedBody | RequestValidationError | RequestUnsupportedContentType | SettingsError,
    )


def _message(error: Exception, status: HTTPStatus) -> str:
    if isinstance(error, RequestValidationError):
        return "the request does not match this API's schema; see errors"
    if isinstance(error, RequestUnsupportedContentType):
        return "the request body must be application/json"
    if isinstance(error, NotFoundError):
        return "no such route"
    if isinstance(error, ClientError | BotoCoreError):
        # botocore's text names the AWS operation and resource, never a secret value; keep it short.
        return f"an AWS service this API depends on failed ({type(error).__name__}); retry later"
    if status == HTTPStatus.INTERNAL_SERVER_ERROR:
        return "internal error; it has been logged"
    text = error.message if isinstance(error, IssueCreatorError) else str(error)
    if isinstance(error, AmbiguousError) and app.current_event.http_method == "POST":
        has_key = app.current_event.headers.get("idempotency-key") is not None
        text = f"{text}. {RETRY_IS_SAFE if has_key else RETRY_NEEDS_KEY}"
    return text


def _field_errors(error: Exception) -> dict[str, str]:
    if isinstance(error, IssueCreatorError):
        return dict(error.errors)
    if isinstance(error, RequestValidationError):
        # loc and pydantic's message (which names the limit: "at most 255 characters"); never the input.
        return {
            ".".join(str(part) for part in e.get("loc", ())) or "request": str(e.get("msg") or e.get("type"))
            for e in error.errors()
        }
    return {}


def _retry_after(error: Exception) -> int | None:
    seconds = getattr(error, "retry_after", None)
    if not isinstance(seconds, int | float) or not math.isfinite(seconds):
        return None
    return max(1, math.ceil(seconds))


# Registered for every exception: Powertools looks handlers up along the raised type's MRO.
app.exception_handler(Exception)(error_response)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
