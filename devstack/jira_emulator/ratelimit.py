"""Jira Cloud's three rate limits (spec E8), each off unless configured; all read the emulator clock.

* Burst: a token bucket per tenant x method x route template, ``RateLimit-Reason: jira-burst-based``.
* Per-issue writes: sliding windows (20 per 2 s, 100 per 30 s) per issue for writes to an existing issue,
  ``jira-per-issue-on-write``.
* Points quota: points per UTC hour, one pool for all tenants (``global``) or one per tenant (``tenant``),
  ``jira-quota-global-based`` / ``jira-quota-tenant-based``. Exhausted: everything is denied until the
  top of the hour. Successes get ``X-RateLimit-NearLimit: true`` once less than 20% is left.
A 429 carries ``Retry-After``, ``X-RateLimit-Limit``, ``X-RateLimit-Remaining: 0``, ``X-RateLimit-Reset``
and ``RateLimit-Reason``.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass

from devstack.jira_emulator.config import RateLimitConfig
from devstack.jira_emulator.replies import JiraError

__all__ = ["HOUR", "RateLimiter", "iso_utc", "rate_limited"]

HOUR = 3600
BURST_REASON = "jira-burst-based"
PER_ISSUE_REASON = "jira-per-issue-on-write"
QUOTA_REASONS = {"global": "jira-quota-global-based", "tenant": "jira-quota-tenant-based"}
POLICY_NAMES = {"global": "global-app-quota", "tenant": "tenant-app-quota"}
RATE_LIMIT_MESSAGE = "Rate limit exceeded."


def iso_utc(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def rate_limited(
    reason: str | None, retry_after: int | None, limit: float | None, config: RateLimitConfig, now: float
) -> JiraError:
    """A 429; headers only for what is given (a legacy 429 has none)."""
    headers: dict[str, str] = {}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
        headers["X-RateLimit-Reset"] = iso_utc(now + retry_after)
    if limit is not None:
        headers["X-RateLimit-Limit"] = f"{limit:g}"
        headers["X-RateLimit-Remaining"] = "0"
    if reason:
        headers["RateLimit-Reason"] = reason
    if config.body == "json":
        return JiraError(429, [RATE_LIMIT_MESSAGE], headers=headers, reason=reason)
    return JiraError(429, headers=headers, body=b"", content_type=None, reason=reason)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """The state of every limit; ``check`` before handling a request, ``charge`` after it."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._issue_writes: dict[tuple[str, str], deque[float]] = {}
        self._quota_hour = -1
        self._quota_used: dict[str, int] = {}

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]

    def check(
        self,
        *,
        client_key: str,
        method: str,
        route: str,
        issue_id: str | None,
        config: RateLimitConfig,
        now: float,
    ) -> None:
        """Raise a 429 :class:`JiraError` if a limit denies this request (and count it if not)."""
        if config.quota.mode != "off":
            self._check_quota(client_key, config, now)
        if config.burst.enabled:
            self._take_token(client_key, method, route, config, now)
        if config.per_issue_write.enabled and issue_id is not None and method != "GET":
            self._record_issue_write(client_key, issue_id, config, now)

    def charge(self, client_key: str, points: int, config: RateLimitConfig, now: float) -> dict[str, str]:
        """Add ``points`` to the quota; the headers a success carries (NearLimit, policy)."""
        quota = config.quota
        if quota.mode == "off":
            return {}
        pool, limit = self._pool(client_key, config, now)
        self._quota_used[pool] = self._quota_used.get(pool, 0) + points
        remaining = max(0, limit - self._quota_used[pool])
        headers: dict[str, str] = {}
        near = remaining < quota.near_limit_ratio * limit
        if near:
            headers["X-RateLimit-NearLimit"] = "true"
        if quota.policy_headers:
            name = POLICY_NAMES[quota.mode]
            headers["RateLimit-Policy"] = f'"{name}";q={limit};w={HOUR}'
            reset_in = self._seconds_to_next_hour(now)
            headers["RateLimit"] = (
                f'"{name}";r={remaining};t={reset_in}' if near else f'"{name}";t={reset_in}'
            )
        return headers

    def quota_json(self, config: RateLimitConfig, now: float) -> dict[str, object]:
        self._roll_window(now)
        return {
            "mode": config.quota.mode,
            "hourStart": iso_utc(self._quota_hour * HOUR),
            "used": dict(self._quota_used),
        }

    # -- quota -----------------------------------------------------------------------------------------

    def _roll_window(self, now: float) -> None:
        hour = int(now // HOUR)
        if hour != self._quota_hour:
            self._quota_hour = hour
            self._quota_used = {}

    def _pool(self, client_key: str, config: RateLimitConfig, now: float) -> tuple[str, int]:
        self._roll_window(now)
        quota = config.quota
        if quota.mode == "global":
            return "global", quota.points_per_hour
        return client_key, quota.tenant_points_per_hour.get(client_key, quota.points_per_hour)

    def _check_quota(self, client_key: str, config: RateLimitConfig, now: float) -> None:
        pool, limit = self._pool(client_key, config, now)
        if self._quota_used.get(pool, 0) >= limit:
            reason = QUOTA_REASONS[config.quota.mode]
            raise rate_limited(reason, self._seconds_to_next_hour(now), limit, config, now)

    @staticmethod
    def _seconds_to_next_hour(now: float) -> int:
        return max(1, math.ceil((math.floor(now / HOUR) + 1) * HOUR - now))

    # -- burst -----------------------------------------------------------------------------------------

    def _take_token(
        self, client_key: str, method: str, route: str, config: RateLimitConfig, now: float
    ) -> None:
        burst = config.burst
        rate = (
            burst.overrides.get(route)
            or burst.rate_per_second.get(method)
            or burst.rate_per_second.get("POST", 100.0)
        )
        size = burst.bucket_size or rate
        bucket = self._buckets.get((client_key, route))
        if bucket is None:
            bucket = self._buckets[(client_key, route)] = _Bucket(size, now)
        bucket.tokens = min(size, bucket.tokens + max(0.0, now - bucket.updated) * rate)
        bucket.updated = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return
        retry_after = max(1, math.ceil((1 - bucket.tokens) / rate))
        raise rate_limited(BURST_REASON, retry_after, rate, config, now)

    # -- per-issue writes ------------------------------------------------------------------------------

    def _record_issue_write(
        self, client_key: str, issue_id: str, config: RateLimitConfig, now: float
    ) -> None:
        windows = config.per_issue_write.windows
        writes = self._issue_writes.setdefault((client_key, issue_id), deque())
        longest = max(seconds for _, seconds in windows)
        while writes and writes[0] <= now - longest:
            writes.popleft()
        for limit, seconds in windows:
            recent = [t for t in writes if t > now - seconds]
            if len(recent) >= limit:
                retry_after = max(1, math.ceil(recent[0] + seconds - now))
                raise rate_limited(PER_ISSUE_REASON, retry_after, limit, config, now)
        writes.append(now)
