"""Jira's answers map onto the failure taxonomy: statuses, the anonymous-400 trap, bulk per element."""

from __future__ import annotations

from typing import Any

import pytest

from jira_connect.errors import (
    AnonymousRequest,
    IssueCreatorError,
    JiraAuthenticationFailed,
    JiraBadRequest,
    JiraForbidden,
    JiraNotFound,
    JiraRejected,
    JiraServerError,
    JiraUnavailable,
    JiraUnprocessable,
    RateLimited,
)
from jira_connect.jira_answers import (
    NOT_ON_SCREEN,
    CreatedIssue,
    SentRequest,
    bulk_results,
    error_collection,
    error_for_answer,
    is_bulk_result,
    looks_anonymous,
)

URL = "https://acme.atlassian.net/rest/api/3/issue"
CREATE = SentRequest(
    "POST", URL, idempotent=False, sent_fields=frozenset({"project", "issuetype", "summary"})
)
READ = SentRequest("GET", "https://acme.atlassian.net/rest/api/3/project/OPS", idempotent=True)


def _not_on_screen(*fields: str) -> dict[str, Any]:
    return {"errorMessages": [], "errors": {f: f"Field '{f}' {NOT_ON_SCREEN}" for f in fields}}


# --- 4xx -------------------------------------------------------------------------------------------


def test_400_keeps_jiras_error_messages_and_field_errors_intact() -> None:
    body = {
        "errorMessages": ["Field 'priority' is required"],
        "errors": {"summary": "You must specify a summary of the issue."},
    }
    error = error_for_answer(400, body, CREATE)
    assert type(error) is JiraBadRequest
    assert error.status == 400
    assert error.error_messages == ("Field 'priority' is required",)
    assert error.errors == {"summary": "You must specify a summary of the issue."}
    assert error.fate == "permanent"


def test_400_where_every_sent_field_cannot_be_set_is_diagnosed_as_anonymous() -> None:
    error = error_for_answer(400, _not_on_screen("summary"), CREATE)
    assert isinstance(error, AnonymousRequest)
    assert "treated the request as anonymous" in error.message
    assert "Authorization: JWT <token>" in error.message
    assert "never 'Bearer'" in error.message
    assert "'iss'" in error.message
    assert f"python -m jira_connect explain --method POST --url {URL}" in error.message
    assert error.errors == {"summary": f"Field 'summary' {NOT_ON_SCREEN}"}


def test_one_field_missing_from_the_screen_is_a_real_field_error_not_anonymity() -> None:
    request = SentRequest(
        "POST", URL, idempotent=False, sent_fields=frozenset({"project", "issuetype", "summary", "priority"})
    )
    error = error_for_answer(400, _not_on_screen("priority"), request)
    assert type(error) is JiraBadRequest


def test_mixed_field_errors_are_a_real_bad_request() -> None:
    body = _not_on_screen("summary")
    body["errors"]["issuetype"] = "Specify a valid issue type"
    assert type(error_for_answer(400, body, CREATE)) is JiraBadRequest


def test_anonymous_detection_without_sent_fields_relies_on_summary() -> None:
    assert looks_anonymous(_not_on_screen("summary", "labels")["errors"], None)
    assert not looks_anonymous(_not_on_screen("labels")["errors"], None)
    assert not looks_anonymous({}, None)


def test_anonymous_diagnosis_for_a_user_points_at_the_users_permissions() -> None:
    request = SentRequest("POST", URL, idempotent=False, sent_fields=frozenset({"summary"}), account_id="u-1")
    error = error_for_answer(400, _not_on_screen("summary"), request)
    assert isinstance(error, AnonymousRequest)
    assert "'u-1'" in error.message
    assert "permission" in error.message


@pytest.mark.parametrize(
    ("status", "leaf"),
    [
        (401, JiraAuthenticationFailed),
        (403, JiraForbidden),
        (404, JiraNotFound),
        (405, JiraRejected),
        (410, JiraRejected),
        (422, JiraUnprocessable),
        (302, JiraRejected),
    ],
)
def test_client_errors_are_permanent_leaves(status: int, leaf: type[IssueCreatorError]) -> None:
    error = error_for_answer(status, {"errorMessages": ["x"], "errors": {}}, READ)
    assert type(error) is leaf
    assert error.fate == "permanent"
    assert error.error_messages == ("x",)


def test_401_message_names_the_usual_causes() -> None:
    error = error_for_answer(401, None, READ)
    assert "iss" in error.message
    assert "sharedSecret" in error.message


def test_429_is_retryable_and_carries_retry_after_and_reason() -> None:
    error = error_for_answer(
        429, None, CREATE, retry_after=1847.0, rate_limit_reason="jira-quota-global-based"
    )
    assert type(error) is RateLimited
    assert error.fate == "retryable"
    assert error.retry_after == 1847.0
    assert error.rate_limit_reason == "jira-quota-global-based"


def test_html_error_body_is_tolerated() -> None:
    error = error_for_answer(401, "<html>Unauthorized</html>", READ)
    assert error.error_messages == ()
    assert error.errors == {}


# --- 5xx -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "retry_after", "request_", "leaf"),
    [
        (503, 5.0, CREATE, JiraUnavailable),  # Jira turned the create away: safe to send again
        (503, None, CREATE, JiraServerError),
        (500, None, CREATE, JiraServerError),
        (500, 5.0, CREATE, JiraServerError),  # a write's 500 may have committed even with Retry-After
        (502, None, CREATE, JiraServerError),  # a gateway error does not prove nothing was committed
        (504, None, CREATE, JiraServerError),
        (502, None, READ, JiraUnavailable),
        (503, None, READ, JiraUnavailable),
        (504, None, READ, JiraUnavailable),
        (500, 2.0, READ, JiraUnavailable),
        (500, None, READ, JiraServerError),
    ],
)
def test_5xx_is_retryable_only_when_jira_did_not_act(
    status: int, retry_after: float | None, request_: SentRequest, leaf: type[IssueCreatorError]
) -> None:
    assert type(error_for_answer(status, None, request_, retry_after=retry_after)) is leaf


def test_ambiguous_server_error_says_to_look_before_sending_again() -> None:
    error = error_for_answer(500, None, CREATE)
    assert error.fate == "ambiguous"
    assert "look before sending it again" in error.message


# --- ErrorCollection and bulk ------------------------------------------------------------------------


def test_error_collection_tolerates_odd_shapes() -> None:
    assert error_collection({"errorMessages": "not a list", "errors": ["x"]}) == ((), {})
    assert error_collection({"errorMessages": [1], "errors": {"a": 2}}) == (("1",), {"a": "2"})
    assert error_collection(None) == ((), {})


def _issue(summary: str) -> dict[str, Any]:
    return {"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": summary}}


def _created(n: int) -> dict[str, str]:
    return {
        "id": str(10000 + n),
        "key": f"OPS-{n}",
        "self": f"https://acme.atlassian.net/rest/api/3/issue/{n}",
    }


def _failure(index: int, errors: dict[str, str], status: int = 400) -> dict[str, Any]:
    return {
        "status": status,
        "failedElementNumber": index,
        "elementErrors": {"errorMessages": [], "errors": errors},
    }


BULK = SentRequest("POST", URL + "/bulk", idempotent=False)


def test_bulk_results_place_failures_by_element_number_and_successes_in_order() -> None:
    chunk = [_issue(f"s{i}") for i in range(5)]
    payload = {
        "issues": [_created(1), _created(2), _created(3)],
        "errors": [
            _failure(3, {"summary": "You must specify a summary of the issue."}),
            _failure(1, {"issuetype": "Specify a valid issue type"}),
        ],
    }
    results = bulk_results(chunk, payload, 201, BULK)
    assert results[0] == CreatedIssue("10001", "OPS-1", "https://acme.atlassian.net/rest/api/3/issue/1")
    assert isinstance(results[1], JiraBadRequest)
    assert results[1].errors == {"issuetype": "Specify a valid issue type"}
    assert isinstance(results[2], CreatedIssue)
    assert results[2].key == "OPS-2"
    assert isinstance(results[3], JiraBadRequest)
    assert "element 3" in results[3].message
    assert isinstance(results[4], CreatedIssue)
    assert results[4].key == "OPS-3"


def test_bulk_element_rejected_as_anonymous_is_diagnosed() -> None:
    results = bulk_results(
        [_issue("x")], {"issues": [], "errors": [_failure(0, _not_on_screen("summary")["errors"])]}, 400, BULK
    )
    assert isinstance(results[0], AnonymousRequest)


def test_bulk_element_status_chooses_the_leaf() -> None:
    results = bulk_results([_issue("x")], {"issues": [], "errors": [_failure(0, {}, status=403)]}, 400, BULK)
    assert isinstance(results[0], JiraForbidden)


def test_bulk_results_that_do_not_add_up_are_ambiguous_for_unplaced_elements() -> None:
    chunk = [_issue("a"), _issue("b")]
    results = bulk_results(chunk, {"issues": [_created(1)], "errors": []}, 201, BULK)
    assert all(isinstance(r, JiraServerError) for r in results)


def test_bulk_failure_with_an_out_of_range_element_number_is_ignored_safely() -> None:
    results = bulk_results(
        [_issue("a")], {"issues": [_created(1)], "errors": [_failure(7, {"x": "y"})]}, 201, BULK
    )
    assert results == [CreatedIssue("10001", "OPS-1", "https://acme.atlassian.net/rest/api/3/issue/1")]


def test_bulk_result_shape_is_recognised() -> None:
    assert is_bulk_result({"issues": [], "errors": []})
    assert not is_bulk_result({"errorMessages": ["too many"], "errors": {}})
    assert not is_bulk_result(None)


def test_created_issue_requires_string_id_key_and_self() -> None:
    assert CreatedIssue.from_json(_created(1)).id == "10001"
    with pytest.raises(ValueError, match="CreatedIssue"):
        CreatedIssue.from_json({"id": 10001, "key": "OPS-1", "self": "x"})
