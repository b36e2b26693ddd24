"""Atlassian's retry algorithm (jira-cloud.md §4.3): Retry-After, backoff, jitter, scopes, pause board."""

from __future__ import annotations

import email.utils
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jira_connect.errors import (
    ConnectionFailed,
    ConnectionLost,
    JiraBadRequest,
    JiraServerError,
    JiraUnavailable,
    RateLimited,
    ResponseTimeout,
)
from jira_connect.retry_policy import (
    JITTER_RANGE,
    PauseBoard,
    PauseScope,
    RetryPolicy,
    lambda_deadline,
    parse_retry_after,
    pause_scope,
    remaining_seconds,
    scopes_of_request,
)

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z
POLICY = RetryPolicy()


def low(a: float, b: float) -> float:
    return a


def high(a: float, b: float) -> float:
    return b


def middle(a: float, b: float) -> float:
    return (a + b) / 2


class FakeClock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- Retry-After parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("1", 1.0), ("1847", 1847.0), (" 30 ", 30.0), ("0", 0.0), ("2.5", 2.5)],
)
def test_retry_after_in_seconds_is_read(header: str, seconds: float) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


def test_retry_after_as_http_date_is_seconds_from_now() -> None:
    header = email.utils.formatdate(NOW + 120, usegmt=True)
    assert parse_retry_after(header, now=NOW) == pytest.approx(120.0)


def test_retry_after_http_date_in_the_past_means_no_wait() -> None:
    header = email.utils.formatdate(NOW - 60, usegmt=True)
    assert parse_retry_after(header, now=NOW) == 0.0


def test_retry_after_obsolete_rfc850_date_is_read() -> None:
    assert parse_retry_after("Thursday, 01-Jan-26 00:01:00 GMT", now=NOW) == pytest.approx(60.0)


@pytest.mark.parametrize("header", [None, "", "  ", "-5", "soon", "nan", "inf", "Thu, 01 Jan 2026 00:01:00"])
def test_unreadable_retry_after_counts_as_absent(header: str | None) -> None:
    assert parse_retry_after(header, now=NOW) is None


# --- delays ----------------------------------------------------------------------------------------


def test_429_without_retry_after_backs_off_5_10_20_then_30_seconds() -> None:
    error = RateLimited("429", status=429)
    delays = [POLICY.delay(error, n, middle) for n in range(4)]
    assert delays == [5.0, 10.0, 20.0, 30.0]


def test_backoff_is_capped_at_30_seconds() -> None:
    assert POLICY.backoff(10) == 30.0


@pytest.mark.parametrize("retries_done", range(4))
def test_backoff_jitter_stays_within_0_7_and_1_3(retries_done: int) -> None:
    error = RateLimited("429", status=429)
    base = POLICY.backoff(retries_done)
    assert POLICY.delay(error, retries_done, low) == pytest.approx(base * JITTER_RANGE[0])
    assert POLICY.delay(error, retries_done, high) == pytest.approx(base * JITTER_RANGE[1])


@given(st.integers(min_value=0, max_value=3), st.floats(min_value=0.7, max_value=1.3))
def test_any_jitter_factor_keeps_the_delay_in_bounds(retries_done: int, factor: float) -> None:
    delay = POLICY.delay(RateLimited("429", status=429), retries_done, lambda a, b: factor)
    assert delay is not None
    base = POLICY.backoff(retries_done)
    assert 0.7 * base - 1e-9 <= delay <= 1.3 * base + 1e-9


def test_real_random_jitter_stays_in_bounds() -> None:
    import random

    rng = random.Random(7)
    for _ in range(1000):
        delay = POLICY.delay(RateLimited("429", status=429), 0, rng.uniform)
        assert delay is not None
        assert 3.5 <= delay <= 6.5


def test_retry_after_is_the_minimum_delay_even_with_jitter() -> None:
    error = RateLimited("429", status=429, retry_after=7.0)
    assert POLICY.delay(error, 0, low) == 7.0
    assert POLICY.delay(error, 0, high) == pytest.approx(9.1)


def test_retry_after_wins_over_the_backoff_schedule() -> None:
    error = RateLimited("429", status=429, retry_after=1.0)
    assert POLICY.delay(error, 3, low) == 1.0


def test_at_most_four_retries() -> None:
    error = RateLimited("429", status=429, retry_after=1.0)
    assert POLICY.delay(error, 3, low) is not None
    assert POLICY.delay(error, 4, low) is None


def test_503_with_retry_after_is_retried_after_it() -> None:
    assert POLICY.delay(JiraUnavailable("503", status=503, retry_after=2.0), 0, low) == 2.0


@pytest.mark.parametrize("status", [502, 503, 504])
def test_5xx_without_retry_after_is_not_retried(status: int) -> None:
    assert POLICY.delay(JiraUnavailable("5xx", status=status), 0, low) is None


def test_refused_connection_follows_the_backoff_schedule() -> None:
    assert POLICY.delay(ConnectionFailed("refused"), 1, middle) == 10.0


@pytest.mark.parametrize(
    "error",
    [
        JiraServerError("500 on POST", status=500, retry_after=1.0),
        ResponseTimeout("timed out"),
        ConnectionLost("reset"),
        JiraBadRequest("400", status=400),
    ],
)
def test_ambiguous_and_permanent_outcomes_are_never_retried(error: Exception) -> None:
    assert POLICY.delay(error, 0, low) is None  # type: ignore[arg-type]


# --- scopes ----------------------------------------------------------------------------------------


def _scope(reason: str | None, issue: str | None = None) -> PauseScope:
    return pause_scope(
        reason, app_key="app", client_key="tenant", method="post", route="/rest/api/3/issue", issue=issue
    )


def test_global_quota_pauses_the_whole_app() -> None:
    assert _scope("jira-quota-global-based") == PauseScope("app", ("app",))


def test_tenant_quota_pauses_that_tenant() -> None:
    assert _scope("jira-quota-tenant-based") == PauseScope("tenant", ("tenant",))


def test_burst_limit_pauses_only_that_method_and_route_of_the_tenant() -> None:
    assert _scope("jira-burst-based") == PauseScope("endpoint", ("tenant", "POST", "/rest/api/3/issue"))


def test_per_issue_limit_pauses_writes_to_that_issue() -> None:
    assert _scope("jira-per-issue-on-write", issue="OPS-1") == PauseScope("issue", ("tenant", "OPS-1"))


def test_per_issue_limit_without_an_issue_pauses_the_endpoint() -> None:
    assert _scope("jira-per-issue-on-write").kind == "endpoint"


@pytest.mark.parametrize("reason", [None, "", "jira-cost-based", "something-new"])
def test_unknown_or_missing_reason_pauses_the_tenant(reason: str | None) -> None:
    assert _scope(reason) == PauseScope("tenant", ("tenant",))


def test_request_is_held_back_by_app_tenant_endpoint_and_issue_scopes() -> None:
    scopes = scopes_of_request(app_key="app", client_key="t", method="put", route="/r/{k}", issue="OPS-1")
    assert {s.kind for s in scopes} == {"app", "tenant", "endpoint", "issue"}


# --- pause board -----------------------------------------------------------------------------------


def test_quota_pause_holds_back_every_endpoint_of_the_tenant() -> None:
    clock = FakeClock()
    board = PauseBoard(clock)
    board.pause(_scope("jira-quota-tenant-based"), 30.0, "jira-quota-tenant-based")
    other_endpoint = scopes_of_request(app_key="app", client_key="tenant", method="GET", route="/project")
    wait, pause = board.longest(other_endpoint)
    assert wait == 30.0
    assert pause is not None
    assert pause.reason == "jira-quota-tenant-based"


def test_burst_pause_does_not_hold_back_other_endpoints_or_tenants() -> None:
    board = PauseBoard(FakeClock())
    board.pause(_scope("jira-burst-based"), 5.0, "jira-burst-based")
    same = scopes_of_request(app_key="app", client_key="tenant", method="POST", route="/rest/api/3/issue")
    other_route = scopes_of_request(
        app_key="app", client_key="tenant", method="GET", route="/rest/api/3/issue"
    )
    other_tenant = scopes_of_request(app_key="app", client_key="x", method="POST", route="/rest/api/3/issue")
    assert board.longest(same)[0] == 5.0
    assert board.longest(other_route) == (0.0, None)
    assert board.longest(other_tenant) == (0.0, None)


def test_global_quota_pause_holds_back_other_tenants_of_the_app() -> None:
    board = PauseBoard(FakeClock())
    board.pause(_scope("jira-quota-global-based"), 60.0, "jira-quota-global-based")
    other_tenant = scopes_of_request(app_key="app", client_key="another", method="GET", route="/x")
    assert board.longest(other_tenant)[0] == 60.0


def test_pause_expires_and_is_forgotten() -> None:
    clock = FakeClock()
    board = PauseBoard(clock)
    board.pause(_scope(None), 10.0, None)
    clock.now += 10.0
    assert board.longest(scopes_of_request(app_key="app", client_key="tenant", method="GET", route="/")) == (
        0.0,
        None,
    )


def test_a_shorter_pause_does_not_cut_a_longer_one_short() -> None:
    board = PauseBoard(FakeClock())
    board.pause(_scope(None), 30.0, "long")
    board.pause(_scope(None), 1.0, "short")
    wait, pause = board.longest([_scope(None)])
    assert wait == 30.0
    assert pause is not None
    assert pause.reason == "long"


def test_longest_of_several_pauses_wins() -> None:
    board = PauseBoard(FakeClock())
    board.pause(_scope("jira-burst-based"), 3.0, "jira-burst-based")
    board.pause(_scope("jira-quota-global-based"), 9.0, "jira-quota-global-based")
    request = scopes_of_request(app_key="app", client_key="tenant", method="POST", route="/rest/api/3/issue")
    assert board.longest(request)[0] == 9.0
    board.clear()
    assert board.longest(request) == (0.0, None)


# --- deadlines -------------------------------------------------------------------------------------


def test_no_deadline_leaves_unlimited_time() -> None:
    assert remaining_seconds(None, FakeClock()) == math.inf


def test_absolute_deadline_is_measured_on_the_clock() -> None:
    assert remaining_seconds(130.0, FakeClock(100.0)) == 30.0


def test_callable_deadline_gives_the_seconds_left() -> None:
    assert remaining_seconds(lambda: 12.5, FakeClock()) == 12.5


def test_lambda_deadline_keeps_a_safety_margin() -> None:
    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 20_000

    assert lambda_deadline(Context(), safety_margin=5.0)() == 15.0
