"""When to send a Jira request again, and what to hold back meanwhile (../shared/spec/jira-cloud.md §4.3).

Atlassian's published algorithm, step by step:

1. ``Retry-After`` present (seconds or an HTTP-date): it is the *minimum* delay. Jitter only lengthens
   it, by up to 30 %, so many clients paused together do not come back in the same second.
2. Otherwise a 429 backs off exponentially: 5 s, 10 s, 20 s, then 30 s (the cap), each multiplied by a
   random factor in [0.7, 1.3].
3. Any other status, 5xx included, is retried only when ``Retry-After`` is present.
4. At most 4 retries.
5. The pause is scoped by ``RateLimit-Reason``: ``jira-quota-global-based`` pauses every request of the
   app (all tenants share the global points pool), other ``jira-quota-*`` reasons the tenant,
   ``jira-burst-based`` that tenant's method and route, ``jira-per-issue-on-write`` writes to that issue.
   An unknown or missing reason pauses the tenant: the cautious reading of a 429 we cannot place.

A refused connection (nothing was sent) follows the 429 schedule: Jira never saw the request.

Whether a retry is *started* also depends on the caller's deadline (a Lambda's remaining time): a delay
that does not fit is handed back to the caller with the error, so the queue redelivers later instead.
This module is pure: time, randomness and sleeping are passed in.
"""

from __future__ import annotations

import email.utils
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal, Protocol

from jira_connect.errors import ConnectionFailed, IssueCreatorError, RateLimited, RetryableError

__all__ = [
    "BACKOFF_CAP_SECONDS",
    "FIRST_BACKOFF_SECONDS",
    "JITTER_RANGE",
    "MAX_RETRIES",
    "RETRY_AFTER_JITTER_RANGE",
    "Deadline",
    "Pause",
    "PauseBoard",
    "PauseScope",
    "RetryPolicy",
    "Uniform",
    "lambda_deadline",
    "parse_retry_after",
    "pause_scope",
    "remaining_seconds",
    "scopes_of_request",
]

MAX_RETRIES = 4
FIRST_BACKOFF_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 30.0
#: Multiplies a computed backoff.
JITTER_RANGE = (0.7, 1.3)
#: Multiplies a server-given Retry-After: never below it, since Retry-After is the minimum.
RETRY_AFTER_JITTER_RANGE = (1.0, 1.3)

REASON_QUOTA_PREFIX = "jira-quota-"
REASON_QUOTA_GLOBAL = "jira-quota-global-based"
REASON_BURST = "jira-burst-based"
REASON_PER_ISSUE = "jira-per-issue-on-write"

#: A random number in [a, b] (``random.uniform``); injected so tests can pin the jitter.
Uniform = Callable[[float, float], float]

#: When the caller's time runs out: None (no limit), a ``clock()`` value (absolute), or a callable giving
#: the seconds left (e.g. ``lambda_deadline(context)``).
Deadline = float | Callable[[], float] | None


# --- Retry-After ---------------------------------------------------------------------------------------


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).

    ``now`` is the wall clock (epoch seconds) the HTTP-date is measured from. A date in the past gives 0.
    Missing, negative or unreadable values give None: the header is then treated as absent.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until_http_date(text, now)
    if math.isnan(seconds) or math.isinf(seconds) or seconds < 0:
        return None
    return seconds


def _seconds_until_http_date(text: str, now: float) -> float | None:
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None  # an HTTP-date is always GMT; a zone-less date is not one
    return max(0.0, moment.timestamp() - now)


# --- the delay ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryPolicy:
    """Atlassian's retry algorithm, with its published parameters as defaults."""

    max_retries: int = MAX_RETRIES
    first_backoff: float = FIRST_BACKOFF_SECONDS
    backoff_cap: float = BACKOFF_CAP_SECONDS
    jitter: tuple[float, float] = JITTER_RANGE
    retry_after_jitter: tuple[float, float] = RETRY_AFTER_JITTER_RANGE

    def backoff(self, retries_done: int) -> float:
        """Step 2 without jitter: 5, 10, 20, 30, 30 ... seconds for the 1st, 2nd, 3rd ... retry."""
        return min(self.first_backoff * 2.0**retries_done, self.backoff_cap)

    def delay(self, error: IssueCreatorError, retries_done: int, uniform: Uniform) -> float | None:
        """Seconds to wait before retrying after ``error``, or None when it must not be retried here.

        Only :class:`RetryableError` is ever retried; ambiguous outcomes never are (a create may exist).
        """
        if not isinstance(error, RetryableError) or retries_done >= self.max_retries:
            return None
        if error.retry_after is not None:
            return error.retry_after * uniform(*self.retry_after_jitter)
        if isinstance(error, RateLimited | ConnectionFailed):
            return self.backoff(retries_done) * uniform(*self.jitter)
        return None  # a 5xx without Retry-After (step 3)


# --- deadlines ----------------------------------------------------------------------------------------


class _LambdaContext(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


def lambda_deadline(context: _LambdaContext, *, safety_margin: float = 5.0) -> Callable[[], float]:
    """A :data:`Deadline` from a Lambda context: its remaining time minus ``safety_margin`` seconds.

    The margin must cover one request (connect + read timeout) and the handler's own work after it.
    """
    return lambda: context.get_remaining_time_in_millis() / 1000.0 - safety_margin


def remaining_seconds(deadline: Deadline, clock: Callable[[], float]) -> float:
    """Seconds left before ``deadline`` (infinite when there is none)."""
    if deadline is None:
        return math.inf
    if callable(deadline):
        return deadline()
    return deadline - clock()


# --- pause scopes -------------------------------------------------------------------------------------

ScopeKind = Literal["app", "tenant", "endpoint", "issue"]


@dataclass(frozen=True)
class PauseScope:
    """What a 429 pauses. ``key`` identifies it: (app key,), (clientKey,), (clientKey, METHOD, route) or
    (clientKey, issue id or key)."""

    kind: ScopeKind
    key: tuple[str, ...]


def pause_scope(
    reason: str | None,
    *,
    app_key: str,
    client_key: str,
    method: str,
    route: str,
    issue: str | None = None,
) -> PauseScope:
    """Step 5: the scope a 429 with ``RateLimit-Reason: reason`` pauses.

    ``route`` is the endpoint's template (``/rest/api/3/issue/{issueIdOrKey}``), not the concrete path:
    Jira's burst buckets are per endpoint. ``issue`` is the issue a write targets, when it targets one.
    """
    if reason == REASON_QUOTA_GLOBAL:
        return PauseScope("app", (app_key,))
    if reason == REASON_BURST:
        return PauseScope("endpoint", (client_key, method.upper(), route))
    if reason == REASON_PER_ISSUE and issue is not None:
        return PauseScope("issue", (client_key, issue))
    if reason == REASON_PER_ISSUE:
        # A per-issue limit on a request that names no issue cannot be placed more finely.
        return PauseScope("endpoint", (client_key, method.upper(), route))
    return PauseScope("tenant", (client_key,))  # jira-quota-*, or a reason we do not know


def scopes_of_request(
    *, app_key: str, client_key: str, method: str, route: str, issue: str | None = None
) -> tuple[PauseScope, ...]:
    """Every scope whose pause holds back this request."""
    scopes = [
        PauseScope("app", (app_key,)),
        PauseScope("tenant", (client_key,)),
        PauseScope("endpoint", (client_key, method.upper(), route)),
    ]
    if issue is not None:
        scopes.append(PauseScope("issue", (client_key, issue)))
    return tuple(scopes)


@dataclass(frozen=True)
class Pause:
    """No request in ``scope`` before ``until`` (a ``clock()`` value), because of ``reason``."""

    scope: PauseScope
    until: float
    reason: str | None


class PauseBoard:
    """The pauses Jira asked for, shared by every client of one execution environment.

    Consulted before each request is sent; thread-safe. Pauses only ever lengthen: a shorter Retry-After
    from a concurrent request does not cut a longer pause short.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._pauses: dict[PauseScope, Pause] = {}
        self._lock = threading.Lock()

    def pause(self, scope: PauseScope, seconds: float, reason: str | None) -> None:
        """Hold back requests in ``scope`` for ``seconds`` from now."""
        until = self._clock() + max(0.0, seconds)
        with self._lock:
            current = self._pauses.get(scope)
            if current is None or current.until < until:
                self._pauses[scope] = Pause(scope, until, reason)

    def longest(self, scopes: Iterable[PauseScope]) -> tuple[float, Pause | None]:
        """Seconds until every pause on ``scopes`` has passed (0 if none), and the longest of them."""
        now = self._clock()
        longest: Pause | None = None
        with self._lock:
            for scope in scopes:
                pause = self._pauses.get(scope)
                if pause is None:
                    continue
                if pause.until <= now:
                    del self._pauses[scope]  # expired: forget it so the board stays small
                elif longest is None or pause.until > longest.until:
                    longest = pause
        return (0.0, None) if longest is None else (longest.until - now, longest)

    def clear(self) -> None:
        with self._lock:
            self._pauses.clear()
