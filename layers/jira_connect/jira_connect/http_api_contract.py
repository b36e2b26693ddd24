"""The HTTP API's contract: limits, request and response models, parameters and documented answers.

Declared with types so that Powertools validates requests and generates the OpenAPI document
(docs/openapi.json) from them; the handler (functions/api/app.py) routes to the layer with these. The
limits are named in the errors that enforce them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from http import HTTPStatus
from typing import Annotated, Any, Final

from aws_lambda_powertools.event_handler import content_types
from aws_lambda_powertools.event_handler.openapi.params import Header, Path
from pydantic import BaseModel, ConfigDict, Field, model_validator

from jira_connect.idempotency_property import IDEMPOTENCY_PROPERTY_KEY

#: Leaves room for the issue message's envelope within SQS's 256 KiB, so an accepted body can be queued.
MAX_BODY_BYTES: Final = 240 * 1024
MAX_SUMMARY_LENGTH: Final = 255
MAX_DESCRIPTION_LENGTH: Final = 32_767
MAX_LABELS: Final = 100
MAX_LABEL_LENGTH: Final = 255
MAX_PROPERTIES: Final = 20
MAX_KEY_LENGTH: Final = 255
MAX_ACCOUNT_ID_LENGTH: Final = 128
#: Jira's largest project/search page; it lowers larger values itself, we refuse them instead.
MAX_PAGE_SIZE: Final = 100
MAX_START_AT: Final = 2**31 - 1
RESPOND_ASYNC: Final = "respond-async"


class MalformedBody(Exception):
    """The request body is not JSON (or not UTF-8, or not valid base64), or is not a JSON object."""


class BodyTooLarge(Exception):
    """The request body is over :data:`MAX_BODY_BYTES`."""


def parse_body(text: str) -> Any:
    """The JSON body, refusing what Jira or the issue queue could not carry: more than MAX_BODY_BYTES,
    NaN/Infinity, numbers too large to be finite, integers too long to parse."""
    size = len(text.encode("utf-8"))
    if size > MAX_BODY_BYTES:
        raise BodyTooLarge(f"the request body is {size} bytes, over the limit of {MAX_BODY_BYTES} bytes")
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except ValueError as e:
        raise MalformedBody(f"the request body is not valid JSON: {e}") from e


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]} is too large")
    return value


# --- the request and response shapes (the OpenAPI document is generated from these) --------------------


def _no_null_defaults(schema: dict[str, Any]) -> None:
    # An optional member may be left out, not sent as null: its schema shows no `"default": null`.
    for member in schema.get("properties", {}).values():
        if isinstance(member, dict) and "default" in member and member["default"] is None:
            del member["default"]


class _Open(BaseModel):
    """Jira's objects: unknown members pass through untouched; known ones are checked strictly."""

    model_config = ConfigDict(extra="allow", strict=True, json_schema_extra=_no_null_defaults)


#: The default of a member that may be absent but, when present, must have its type (never null). Typed
#: Any so the annotation can stay the member's type: a ``| None`` union would document null as allowed
#: and double every validation error (one per union branch).
ABSENT: Any = None


NonEmpty = Annotated[str, Field(min_length=1, max_length=MAX_KEY_LENGTH)]
Label = Annotated[str, Field(min_length=1, max_length=MAX_LABEL_LENGTH, pattern=r"^\S+$")]


def _one_of_required(*names: str) -> Callable[[dict[str, Any]], None]:
    def extra(schema: dict[str, Any]) -> None:
        _no_null_defaults(schema)
        schema["anyOf"] = [{"required": [name]} for name in names]

    return extra


class ProjectRef(_Open):
    """``{"key": "OPS"}`` or ``{"id": "10000"}``."""

    model_config = ConfigDict(json_schema_extra=_one_of_required("key", "id"))

    key: NonEmpty = ABSENT
    id: NonEmpty = ABSENT

    @model_validator(mode="after")
    def _addressed(self) -> ProjectRef:
        if self.key is None and self.id is None:
            raise ValueError("a project needs its key or its id")
        return self


class IssueTypeRef(_Open):
    """``{"name": "Task"}`` or ``{"id": "10001"}``."""

    model_config = ConfigDict(json_schema_extra=_one_of_required("name", "id"))

    name: NonEmpty = ABSENT
    id: NonEmpty = ABSENT

    @model_validator(mode="after")
    def _addressed(self) -> IssueTypeRef:
        if self.name is None and self.id is None:
            raise ValueError("an issue type needs its name or its id")
        return self


class IssueFields(_Open):
    """Jira's ``fields``: any field Jira accepts, custom fields included; these are checked here."""

    project: ProjectRef
    issuetype: IssueTypeRef
    summary: Annotated[str, Field(max_length=MAX_SUMMARY_LENGTH)] = ABSENT
    description: Annotated[
        Annotated[str, Field(max_length=MAX_DESCRIPTION_LENGTH)] | dict[str, Any],
        Field(description="Plain text (made into an ADF document for API v3) or an ADF document"),
    ] = ABSENT
    labels: Annotated[list[Label], Field(max_length=MAX_LABELS)] = ABSENT


class EntityProperty(_Open):
    # The idempotency property is this service's to set (with an Idempotency-Key); a caller's is refused.
    key: Annotated[NonEmpty, Field(json_schema_extra={"not": {"const": IDEMPOTENCY_PROPERTY_KEY}})]
    value: Any


class IssueCreate(_Open):
    """Jira's create-issue body (IssueUpdateDetails), passed to Jira as given."""

    fields: IssueFields
    update: dict[str, Any] = ABSENT
    properties: Annotated[list[EntityProperty], Field(max_length=MAX_PROPERTIES)] = ABSENT
    transition: dict[str, Any] = ABSENT
    historyMetadata: dict[str, Any] = ABSENT


class IssueCreated(BaseModel):
    """Jira's CreatedIssue. ``id`` is null on a replay whose issue was found by Jira's search."""

    id: str | None
    key: str
    url: str = Field(alias="self")


class IssueQueued(BaseModel):
    messageId: str
    idempotencyKey: str | None


class ProjectPage(BaseModel):
    """Jira's page of projects (``values`` are Jira's Project objects, unchanged)."""

    values: list[dict[str, Any]]
    startAt: int
    maxResults: int
    total: int | None
    isLast: bool


class ErrorDetail(BaseModel):
    type: str = Field(description="The error's name: JiraBadRequest, RateLimited, RequestValidationError ...")
    status: int
    message: str
    errorMessages: list[str] = Field(description="Jira's errorMessages, or ours")
    errors: dict[str, str] = Field(description="Field path -> problem: Jira's field errors, or ours")
    retryAfter: int | None = Field(description="Seconds to wait before retrying, as in Retry-After")
    rateLimitReason: str | None = Field(description="Jira's RateLimit-Reason")


class ErrorBody(BaseModel):
    error: ErrorDetail


ClientKey = Annotated[
    str, Path(min_length=1, max_length=MAX_KEY_LENGTH, description="The Connect clientKey of the Jira site")
]
IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="idempotency-key",
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        description="Creates at most one issue per key and tenant, here and through the queue alike",
    ),
]
ActAsUserHeader = Annotated[
    str | None,
    Header(
        alias="x-act-as-user",
        min_length=1,
        max_length=MAX_ACCOUNT_ID_LENGTH,
        description="Atlassian accountId to create the issue as (needs the ACT_AS_USER scope)",
    ),
]
PreferHeader = Annotated[
    str | None,
    Header(alias="prefer", max_length=1000, description="`respond-async`: queue the create, answer 202"),
]


#: Answers that may say when to come back.
RETRY_STATUSES: Final = frozenset(
    {
        HTTPStatus.CONFLICT,
        HTTPStatus.TOO_MANY_REQUESTS,
        HTTPStatus.BAD_GATEWAY,
        HTTPStatus.SERVICE_UNAVAILABLE,
    }
)
RETRY_AFTER_HEADER: Final = {
    "Retry-After": {
        "description": "Seconds to wait before retrying (Jira's own value for 429 and 503)",
        "schema": {"type": "integer", "minimum": 1},
    }
}


def _error_responses(*statuses: HTTPStatus) -> dict[int, Any]:
    return {
        int(status): {
            "description": status.phrase,
            "content": {content_types.APPLICATION_JSON: {"model": ErrorBody}},
            **({"headers": RETRY_AFTER_HEADER} if status in RETRY_STATUSES else {}),
        }
        for status in statuses
    }


_COMMON_ERRORS = (
    HTTPStatus.NOT_FOUND,
    HTTPStatus.GONE,
    HTTPStatus.UNPROCESSABLE_ENTITY,
    HTTPStatus.TOO_MANY_REQUESTS,
    HTTPStatus.BAD_GATEWAY,
    HTTPStatus.SERVICE_UNAVAILABLE,
    HTTPStatus.GATEWAY_TIMEOUT,
)
READ_RESPONSES = _error_responses(HTTPStatus.BAD_REQUEST, HTTPStatus.FORBIDDEN, *_COMMON_ERRORS)
CREATE_RESPONSES: dict[int, Any] = {
    201: {
        "description": "Created (or, with `Idempotent-Replayed: true`, created earlier for this key)",
        "content": {content_types.APPLICATION_JSON: {"model": IssueCreated}},
        "headers": {
            "Idempotent-Replayed": {
                "description": "`true` when an earlier request with this Idempotency-Key created the issue",
                "schema": {"type": "string", "enum": ["true"]},
            }
        },
    },
    202: {
        "description": "Queued (`Prefer: respond-async`): the worker creates it",
        "content": {content_types.APPLICATION_JSON: {"model": IssueQueued}},
        "headers": {"Preference-Applied": {"schema": {"type": "string", "enum": [RESPOND_ASYNC]}}},
    },
    **_error_responses(
        HTTPStatus.BAD_REQUEST,
        HTTPStatus.FORBIDDEN,
        HTTPStatus.CONFLICT,
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
        *_COMMON_ERRORS,
    ),
}
