"""jira_connect.http_api_errors: what the HTTP API answers for each error, without a request or a handler."""

from __future__ import annotations

import math
from collections.abc import Callable
from http import HTTPStatus

import pytest
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from botocore.exceptions import ClientError

from jira_connect.errors import (
    AnonymousRequest,
    JiraBadRequest,
    JiraServerError,
    JiraUnavailable,
    ResponseTimeout,
    UnknownTenant,
)
from jira_connect.http_api_contract import ErrorBody
from jira_connect.http_api_errors import (
    ERROR_STATUS,
    RETRY_IS_SAFE,
    RETRY_NEEDS_KEY,
    ErrorAnswer,
    error_answer,
)
from jira_connect.settings import SettingsError

pytestmark = pytest.mark.unit


def answer(error: Exception, *, method: str = "POST", has_idempotency_key: bool = False) -> ErrorAnswer:
    return error_answer(error, method=method, has_idempotency_key=has_idempotency_key)


def test_every_entry_of_the_table_is_reachable_a_subclass_before_its_base() -> None:
    kinds = [kind for kind, _ in ERROR_STATUS]
    shadowed = [
        (later.__name__, earlier.__name__)
        for i, earlier in enumerate(kinds)
        for later in kinds[i + 1 :]
        if issubclass(later, earlier)
    ]
    assert shadowed == []
    assert len(set(kinds)) == len(kinds)
    assert ERROR_STATUS[-1] == (Exception, HTTPStatus.INTERNAL_SERVER_ERROR)


def test_a_subclass_gets_its_own_status_not_its_bases() -> None:
    # AnonymousRequest is a JiraBadRequest: Jira ignored our credentials, which the caller cannot fix.
    assert answer(AnonymousRequest("ignored our auth", status=400)).status == HTTPStatus.BAD_GATEWAY
    assert answer(JiraBadRequest("400", status=400)).status == HTTPStatus.BAD_REQUEST


def test_the_body_is_the_one_error_shape_of_the_detail() -> None:
    error = UnknownTenant("no tenant for that clientKey", client_key="jira:1")
    got = answer(error)

    assert (got.status, got.detail.status) == (HTTPStatus.NOT_FOUND, 404)
    assert got.body == ErrorBody(error=got.detail).model_dump()
    assert got.body["error"]["type"] == "UnknownTenant"
    assert got.body["error"]["message"] == "no tenant for that clientKey"
    assert got.error is error
    assert not got.is_bug
    assert got.headers == {}


@pytest.mark.parametrize(("has_idempotency_key", "advice"), [(True, RETRY_IS_SAFE), (False, RETRY_NEEDS_KEY)])
def test_an_ambiguous_create_advises_how_to_retry(has_idempotency_key: bool, advice: str) -> None:
    got = answer(ResponseTimeout("sent, no answer in time"), has_idempotency_key=has_idempotency_key)
    assert got.status == HTTPStatus.GATEWAY_TIMEOUT
    assert got.detail.message == f"sent, no answer in time. {advice}"


@pytest.mark.parametrize("has_idempotency_key", [True, False])
def test_an_ambiguous_read_gives_no_create_advice(has_idempotency_key: bool) -> None:
    got = answer(JiraServerError("500", status=500), method="GET", has_idempotency_key=has_idempotency_key)
    assert (got.status, got.detail.message) == (HTTPStatus.BAD_GATEWAY, "500")


@pytest.mark.parametrize(("seconds", "header"), [(0.2, "1"), (2.5, "3"), (30, "30"), (0, "1")])
def test_retry_after_is_whole_seconds_rounded_up_at_least_one(seconds: float, header: str) -> None:
    got = answer(JiraUnavailable("503", status=503, retry_after=seconds))
    assert got.headers == {"Retry-After": header}
    assert got.detail.retryAfter == int(header)


@pytest.mark.parametrize("seconds", [None, math.inf, math.nan])
def test_no_or_unusable_retry_after_means_no_header(seconds: float | None) -> None:
    got = answer(JiraUnavailable("503", status=503, retry_after=seconds))
    assert got.headers == {}
    assert got.detail.retryAfter is None


@pytest.mark.parametrize("make", [lambda: Exception("x"), lambda: RuntimeError("secret=hunter2")])
def test_a_bug_is_500_internal_error_without_its_text(make: Callable[[], Exception]) -> None:
    got = answer(make())
    assert got.is_bug
    assert (got.status, got.detail.type, got.detail.message) == (
        HTTPStatus.INTERNAL_SERVER_ERROR,
        "InternalError",
        "internal error; it has been logged",
    )
    assert "hunter2" not in str(got.body)


def test_a_missing_variable_is_500_named_as_such_without_its_text() -> None:
    got = answer(SettingsError("TENANT_SECRET_PREFIX is required but is not set"))
    assert got.is_bug
    assert (got.detail.type, got.detail.message) == ("SettingsError", "internal error; it has been logged")


def test_aws_failing_is_503_named_by_its_botocore_class() -> None:
    got = answer(ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "GetSecretValue"))
    assert (got.status, got.detail.type) == (HTTPStatus.SERVICE_UNAVAILABLE, "AwsServiceError")
    assert got.detail.message == "an AWS service this API depends on failed (ClientError); retry later"


def test_an_unknown_route_is_404_route_not_found() -> None:
    got = answer(NotFoundError("/nowhere"), method="GET")
    assert (got.status, got.detail.type, got.detail.message) == (
        HTTPStatus.NOT_FOUND,
        "RouteNotFound",
        "no such route",
    )


def _raised_in(filename: str, function: str) -> ValueError:
    """A ValueError whose traceback runs through ``function`` defined in a file named ``filename``."""
    namespace: dict[str, object] = {}
    source = f"def {function}():\n    raise ValueError('Invalid base64-encoded string')\n"
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - a frame with a chosen file name
    reader = namespace[function]
    assert callable(reader)
    try:
        reader()
    except ValueError as error:
        return error
    raise AssertionError("unreachable")


def test_a_value_error_while_powertools_reads_the_body_is_a_malformed_body() -> None:
    got = answer(_raised_in("site-packages/openapi/openapi_validation.py", "_get_body"))
    assert (got.status, got.detail.type) == (HTTPStatus.BAD_REQUEST, "MalformedBody")
    assert got.detail.message == "the request body could not be read (ValueError)"


def test_a_value_error_elsewhere_is_a_bug() -> None:
    got = answer(_raised_in("site-packages/openapi/openapi_validation.py", "_route"))
    assert (got.status, got.detail.type) == (HTTPStatus.INTERNAL_SERVER_ERROR, "InternalError")
