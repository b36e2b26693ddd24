"""The demo on the whole local stack: every message of the mix ends as the plan says, with no duplicate."""

from __future__ import annotations

import io

from devstack.demo import run_demo


def test_short_demo_creates_each_issue_once_and_dead_letters_poison_with_reasons() -> None:
    report = run_demo(messages=40, tenants=2, concurrency=2, seed=3, progress=io.StringIO())
    assert report.duplicates == []
    assert report.issues_per_tenant == report.expected_issues == report.issues_listed
    assert report.dead_letters == report.expected_dead_letters
    assert set(report.dead_letters) == {"InvalidMessage", "UnknownTenant", "JiraBadRequest"}
    assert report.rate_limited  # the throttled tenant was throttled, and its messages still landed
    assert report.api["created"]
    assert report.consistent
