"""What Jira's answers mean: status, ErrorCollection and headers -> the failure taxonomy (pure).

1. 2xx is success; a bulk create's answer is mapped per element (:func:`bulk_results`).
2. 400 -> ``JiraBadRequest`` with Jira's ``errorMessages`` and ``errors`` unchanged, or
   ``AnonymousRequest`` when every field error is "cannot be set. It is not on the appropriate screen, or
   unknown." and those errors cover every field sent except ``project`` and ``issuetype``: Jira ran the
   create as anonymous (../shared/spec/jira-cloud.md §1.5), the forum thread's trap.
3. 401 -> ``JiraAuthenticationFailed`` (the client re-reads the tenant and retries once before this).
4. 403, 404, 422, 429 -> their own leaves; any other 3xx/4xx -> ``JiraRejected``.
5. 5xx: Jira turned the request away (503 with Retry-After) -> ``JiraUnavailable``. On a read, also
   502/503/504 and any 5xx with Retry-After. On a write, everything else -> ``JiraServerError``
   (ambiguous): a gateway's 502/504 or a 500 does not prove the create was not committed.

Every error carries ``status``, Jira's messages, ``Retry-After`` (seconds) and ``RateLimit-Reason``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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

__all__ = [
    "NOT_ON_SCREEN",
    "CreatedIssue",
    "SentRequest",
    "bulk_results",
    "error_collection",
    "error_for_answer",
    "field_names",
    "is_bulk_result",
    "looks_anonymous",
]

#: The tail of Jira's field error for a field the caller cannot see on the create screen (§1.4, §1.5).
NOT_ON_SCREEN = "cannot be set. It is not on the appropriate screen, or unknown."
#: Fields Jira resolves before the screen check, so an anonymous create never reports them.
ALWAYS_RESOLVED_FIELDS = frozenset({"project", "issuetype"})
#: Fields on every create screen: a caller who may create issues can always set them.
ALWAYS_ON_SCREEN = "summary"
_REJECTIONS: dict[int, type[IssueCreatorError]] = {
    403: JiraForbidden,
    404: JiraNotFound,
    422: JiraUnprocessable,
    429: RateLimited,
}
_GATEWAY_STATUSES = frozenset({502, 503, 504})


@dataclass(frozen=True)
class CreatedIssue:
    """Jira's ``CreatedIssue``: ``id`` (a numeric string), ``key`` (``OPS-17``) and ``self`` (its URL)."""

    id: str
    key: str
    self: str

    @classmethod
    def from_json(cls, data: object) -> CreatedIssue:
        """Raises ValueError unless ``data`` has string ``id``, ``key`` and ``self``."""
        if not isinstance(data, Mapping) or not all(
            isinstance(data.get(name), str) for name in ("id", "key", "self")
        ):
            raise ValueError("not a CreatedIssue")
        return cls(id=data["id"], key=data["key"], self=data["self"])


@dataclass(frozen=True)
class SentRequest:
    """What was sent, as far as the meaning of the answer depends on it."""

    method: str
    url: str
    #: Safe to send twice (reads): decides whether a 5xx is retryable or ambiguous.
    idempotent: bool
    #: The fields of a create body, to recognise the anonymous 400 (None: not a create).
    sent_fields: frozenset[str] | None = None
    #: The user the request ran as (None: the app).
    account_id: str | None = None
    base_url: str | None = None


def error_for_answer(
    status: int,
    body: object,
    request: SentRequest,
    *,
    retry_after: float | None = None,
    rate_limit_reason: str | None = None,
    where: str | None = None,
) -> IssueCreatorError:
    """The taxonomy error for a non-2xx answer. ``body`` is the parsed JSON (None if not JSON)."""
    messages, field_errors = error_collection(body)
    details: dict[str, Any] = {
        "status": status,
        "error_messages": messages,
        "errors": field_errors,
        "retry_after": retry_after,
        "rate_limit_reason": rate_limit_reason,
    }
    said = f"Jira answered {status} to {where or _where(request)}"
    leaf, message = _classify(status, said, field_errors, request, retry_after)
    return leaf(message, **details)


def _classify(
    status: int,
    said: str,
    field_errors: Mapping[str, str],
    request: SentRequest,
    retry_after: float | None,
) -> tuple[type[IssueCreatorError], str]:
    if status == 400:
        if looks_anonymous(field_errors, request.sent_fields):
            return AnonymousRequest, _anonymous_message(said, field_errors, request)
        return JiraBadRequest, said
    if status == 401:
        return JiraAuthenticationFailed, (
            f"{said} (after re-reading the tenant record): check that the JWT 'iss' is the app key (not "
            "the clientKey), that the stored sharedSecret is current, that this machine's clock is right, "
            "and that the app is installed on that site"
        )
    if status < 500:
        return _REJECTIONS.get(status, JiraRejected), said
    if _turned_away(status, retry_after, idempotent=request.idempotent):
        return JiraUnavailable, said
    return JiraServerError, f"{said}; the request may have been applied: look before sending it again"


def _turned_away(status: int, retry_after: float | None, *, idempotent: bool) -> bool:
    """Step 5: may this 5xx be treated as "Jira did not act"?"""
    if status == 503 and retry_after is not None:
        return True
    return idempotent and (retry_after is not None or status in _GATEWAY_STATUSES)


def looks_anonymous(field_errors: Mapping[str, str], sent_fields: frozenset[str] | None) -> bool:
    """Every field error says "cannot be set", and they cover every field sent but project and issuetype.

    Covering every field matters: one field really missing from a screen gives the same text for that
    field only, and is a genuine field error. Without the sent fields, ``summary`` decides.
    """
    if not field_errors or not all(text.endswith(NOT_ON_SCREEN) for text in field_errors.values()):
        return False
    if sent_fields is None:
        return ALWAYS_ON_SCREEN in field_errors
    expected = sent_fields - ALWAYS_RESOLVED_FIELDS
    return bool(expected) and expected <= field_errors.keys()


def _anonymous_message(said: str, field_errors: Mapping[str, str], request: SentRequest) -> str:
    fields = ", ".join(sorted(field_errors))
    if request.account_id is not None:
        return (
            f"{said}: every field ({fields}) 'cannot be set', so Jira did not run the request as user "
            f"{request.account_id!r}: the user may lack Browse projects/Create issues permission in the "
            "project, or the access token was not accepted"
        )
    site = request.base_url or "that site"
    return (
        f"{said}: every field ({fields}) 'cannot be set. It is not on the appropriate screen, or unknown.' "
        "The fields are most likely fine: Jira treated the request as anonymous. Usual causes: the wrong "
        "auth scheme (a Connect JWT must be sent as 'Authorization: JWT <token>', never 'Bearer'), a JWT "
        f"'iss' that is not the app key, or the app not installed on {site} (or its user lacking Create "
        "issues in the project). Diagnose with: "
        f"python -m jira_connect explain --method {request.method} --url {request.url}"
        + (f" --base-url {request.base_url}" if request.base_url else "")
    )


def _where(request: SentRequest) -> str:
    return f"{request.method} {request.url.split('?', 1)[0]}"


def error_collection(payload: object) -> tuple[tuple[str, ...], dict[str, str]]:
    """Jira's ErrorCollection (``errorMessages``, ``errors``), tolerant of any other body (HTML, empty)."""
    if not isinstance(payload, Mapping):
        return (), {}
    raw_messages = payload.get("errorMessages")
    raw_errors = payload.get("errors")
    messages = tuple(str(m) for m in raw_messages) if isinstance(raw_messages, list) else ()
    errors = {str(k): str(v) for k, v in raw_errors.items()} if isinstance(raw_errors, Mapping) else {}
    return messages, errors


def field_names(issue: Mapping[str, Any]) -> frozenset[str]:
    """The field ids a create body sets through ``fields``."""
    fields = issue.get("fields")
    return frozenset(fields) if isinstance(fields, Mapping) else frozenset()


def is_bulk_result(payload: object) -> bool:
    """True for a ``CreatedIssues`` body (``issues`` and ``errors`` lists), as bulk create answers."""
    return isinstance(payload, Mapping) and isinstance(payload.get("errors"), list)


def bulk_results(
    chunk: Sequence[Mapping[str, Any]], payload: Mapping[str, Any], status: int, request: SentRequest
) -> list[CreatedIssue | IssueCreatorError]:
    """Jira's bulk answer, one entry per element of ``chunk`` in input order.

    Failures are placed by ``failedElementNumber`` (0-based); the ``issues`` list holds the successes in
    input order, so they fill the remaining places. If the counts do not add up, the unplaced elements
    get an ambiguous ``JiraServerError``: they may have been created.
    """
    failures: dict[int, Mapping[str, Any]] = {}
    for entry in payload.get("errors") or []:
        index = entry.get("failedElementNumber") if isinstance(entry, Mapping) else None
        if isinstance(index, int) and 0 <= index < len(chunk):
            failures[index] = entry
    raw_created = payload.get("issues")
    created: list[Any] = raw_created if isinstance(raw_created, list) else []
    consistent = len(created) == len(chunk) - len(failures)
    successes = iter(created)
    results: list[CreatedIssue | IssueCreatorError] = []
    for index, issue in enumerate(chunk):
        if index in failures:
            results.append(_element_error(failures[index], issue, index, request))
            continue
        try:
            if not consistent:
                raise ValueError("the counts of created and failed elements do not add up")
            results.append(CreatedIssue.from_json(next(successes)))
        except ValueError:
            results.append(
                JiraServerError(
                    f"Jira answered {status} to a bulk create but its result for element {index} cannot "
                    "be placed; the issue may exist",
                    status=status,
                )
            )
    return results


def _element_error(
    entry: Mapping[str, Any], issue: Mapping[str, Any], index: int, request: SentRequest
) -> IssueCreatorError:
    status = entry.get("status")
    element_request = SentRequest(
        method=request.method,
        url=request.url,
        idempotent=False,
        sent_fields=field_names(issue),
        account_id=request.account_id,
        base_url=request.base_url,
    )
    return error_for_answer(
        status if isinstance(status, int) else 400,
        entry.get("elementErrors"),
        element_request,
        where=f"element {index} of {_where(request)}",
    )
