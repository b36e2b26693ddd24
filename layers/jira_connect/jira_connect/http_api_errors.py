"""The HTTP API's errors: the one place where an exception becomes an HTTP answer.

Kept out of the handler (functions/api/app.py) so that it stays a thin adapter, and so that the decision
(status, message, the one error shape, Retry-After) is a pure function tested on its own. The handler
passes in the two facts of the request it needs (the method, and whether an ``Idempotency-Key`` was
sent), logs, and builds the response.

First match wins in :data:`ERROR_STATUS`, so a subclass comes before its base.
"""

from __future__ import annotations

import binascii
import math
import traceback
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Final

from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from botocore.exceptions import BotoCoreError, ClientError

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
from jira_connect.http_api_contract import BodyTooLarge, ErrorBody, ErrorDetail, MalformedBody
from jira_connect.issue_api import MessageTooLarge
from jira_connect.settings import SettingsError

__all__ = ["BODY_READER", "ERROR_STATUS", "RETRY_IS_SAFE", "RETRY_NEEDS_KEY", "ErrorAnswer", "error_answer"]

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


@dataclass(frozen=True)
class ErrorAnswer:
    """What the API answers for an error, and what the handler needs to log it.

    ``error``: the exception as answered (a ValueError raised while reading the body becomes
    :class:`MalformedBody`). ``body``: ``ErrorBody(error=detail).model_dump()``. ``headers``: Retry-After
    when the error says how long to wait.
    """

    status: HTTPStatus
    detail: ErrorDetail
    error: Exception
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def is_bug(self) -> bool:
        """500: a bug or a missing variable, to be logged with its traceback."""
        return self.status == HTTPStatus.INTERNAL_SERVER_ERROR


def error_answer(error: Exception, *, method: str, has_idempotency_key: bool) -> ErrorAnswer:
    """The answer to ``error``, raised while serving a ``method`` request (with or without a key)."""
    error = _as_request_error(error)
    status = next(status for kind, status in ERROR_STATUS if isinstance(error, kind))
    detail = ErrorDetail(
        type=_error_type(error),
        status=int(status),
        message=_message(error, status, method=method, has_idempotency_key=has_idempotency_key),
        errorMessages=list(getattr(error, "error_messages", ())),
        errors=_field_errors(error),
        retryAfter=_retry_after(error),
        rateLimitReason=getattr(error, "rate_limit_reason", None),
    )
    headers = {} if detail.retryAfter is None else {"Retry-After": str(detail.retryAfter)}
    return ErrorAnswer(
        status=status,
        detail=detail,
        error=error,
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


def _message(error: Exception, status: HTTPStatus, *, method: str, has_idempotency_key: bool) -> str:
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
    if isinstance(error, AmbiguousError) and method == "POST":
        text = f"{text}. {RETRY_IS_SAFE if has_idempotency_key else RETRY_NEEDS_KEY}"
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
