"""Transport outcomes over real loopback sockets: nothing sent is retryable, maybe-sent is ambiguous and a
create is never sent twice; redirects are not followed; the host guard stops requests before they leave."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from jira_connect.errors import (
    ConnectionFailed,
    ConnectionLost,
    DisallowedBaseUrl,
    JiraRejected,
    JiraServerError,
    ResponseTimeout,
)
from jira_connect.jira_client import USER_AGENT, Timeouts
from tests.integration.jira_client_support import (
    FakeTime,
    RawPeer,
    SecretsOnTheWire,
    closed_port,
    http_answer,
    jira_clients,
    tenant_record,
    tenant_store,
)

pytest_plugins = ["tests.integration.jira_client_fixtures"]

ISSUE = {"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "Disk full"}}
CREATED = {"id": "10000", "key": "OPS-1", "self": "http://x/rest/api/3/issue/10000"}


def _client(secrets: SecretsOnTheWire, time: FakeTime, base_url: str, **options: Any) -> Any:
    store = tenant_store(secrets, time)
    store.save_installation(tenant_record("tenant-1", base_url))
    return jira_clients(store, time, **options).for_tenant("tenant-1")


def test_refused_connection_is_retried_on_the_backoff_schedule_then_raised_as_retryable(
    secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _client(secrets, fake_time, f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(ConnectionFailed) as caught:
        client.create_issue(ISSUE)
    assert caught.value.fate == "retryable"
    assert fake_time.sleeps == [5.0, 10.0, 20.0, 30.0]


def test_refused_connection_retry_that_does_not_fit_the_deadline_is_handed_back_with_its_delay(
    secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _client(secrets, fake_time, f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(ConnectionFailed) as caught:
        client.create_issue(ISSUE, deadline=fake_time.now + 12.0)
    assert fake_time.sleeps == [5.0]
    assert caught.value.retry_after == 10.0


def test_create_that_gets_no_answer_in_time_is_ambiguous_and_sent_once(
    secrets: SecretsOnTheWire, fake_time: FakeTime, raw_peer: Callable[..., RawPeer]
) -> None:
    peer = raw_peer(lambda request: None, hold=2.0)
    client = _client(secrets, fake_time, peer.base_url, timeouts=Timeouts(connect=1.0, read=0.3))
    with pytest.raises(ResponseTimeout) as caught:
        client.create_issue(ISSUE)
    assert caught.value.fate == "ambiguous"
    assert len(peer.requests) == 1
    assert fake_time.sleeps == []


def test_create_whose_connection_breaks_after_sending_is_ambiguous_and_sent_once(
    secrets: SecretsOnTheWire, fake_time: FakeTime, raw_peer: Callable[..., RawPeer]
) -> None:
    peer = raw_peer(lambda request: None)
    client = _client(secrets, fake_time, peer.base_url)
    with pytest.raises(ConnectionLost):
        client.create_issue(ISSUE)
    assert len(peer.requests) == 1


def test_read_whose_connection_breaks_is_resent_once_at_once(
    secrets: SecretsOnTheWire, fake_time: FakeTime, raw_peer: Callable[..., RawPeer]
) -> None:
    answers = iter([None, http_answer(200, {"id": "10000", "key": "OPS"})])
    peer = raw_peer(lambda request: next(answers))
    client = _client(secrets, fake_time, peer.base_url)
    assert client.get_project("OPS")["key"] == "OPS"
    assert len(peer.requests) == 2
    assert fake_time.sleeps == [0.0]


def test_500_on_create_is_ambiguous_and_not_resent(
    secrets: SecretsOnTheWire, fake_time: FakeTime, raw_peer: Callable[..., RawPeer]
) -> None:
    peer = raw_peer(lambda request: http_answer(500, {"errorMessages": ["boom"], "errors": {}}))
    client = _client(secrets, fake_time, peer.base_url)
    with pytest.raises(JiraServerError) as caught:
        client.create_issue(ISSUE)
    assert caught.value.error_messages == ("boom",)
    assert len(peer.requests) == 1


def test_redirect_is_not_followed(
    secrets: SecretsOnTheWire, fake_time: FakeTime, raw_peer: Callable[..., RawPeer]
) -> None:
    target = raw_peer(lambda request: http_answer(200, {}))
    peer = raw_peer(lambda request: http_answer(302, None, {"Location": target.base_url + "/steal"}))
    client = _client(secrets, fake_time, peer.base_url)
    with pytest.raises(JiraRejected) as caught:
        client.get_project("OPS")
    assert caught.value.status == 302
    assert target.requests == []


def test_request_carries_user_agent_json_and_a_jwt_authorization(
    secrets: SecretsOnTheWire, fake_time: FakeTime, raw_peer: Callable[..., RawPeer]
) -> None:
    peer = raw_peer(lambda request: http_answer(201, CREATED))
    client = _client(secrets, fake_time, peer.base_url)
    client.create_issue(ISSUE)
    head = peer.requests[0].split(b"\r\n\r\n")[0].decode().lower()
    assert f"user-agent: {USER_AGENT}".lower() in head
    assert "content-type: application/json" in head
    assert "authorization: jwt ey" in head
    assert "bearer" not in head


@pytest.mark.parametrize(
    "base_url",
    [
        "http://169.254.169.254",
        "http://10.0.0.1",
        "https://jira.internal",
        "https://acme.atlassian.net@127.0.0.1",
        "https://evil.com\\.atlassian.net",
    ],
)
def test_tenant_pointing_at_a_forbidden_host_is_refused_before_anything_is_sent(
    secrets: SecretsOnTheWire, fake_time: FakeTime, base_url: str
) -> None:
    client = _client(secrets, fake_time, base_url, timeouts=Timeouts(connect=0.2, read=0.2))
    with pytest.raises(DisallowedBaseUrl) as caught:
        client.get_project("OPS")
    assert caught.value.fate == "permanent"
    assert fake_time.sleeps == []


def test_unlisted_loopback_host_is_refused_and_the_peer_sees_no_connection(
    secrets: SecretsOnTheWire, fake_time: FakeTime, raw_peer: Callable[..., RawPeer]
) -> None:
    peer = raw_peer(lambda request: http_answer(200, {}))
    # The peer listens on 127.0.0.1, but "localhost" is not in the allow-list.
    client = _client(secrets, fake_time, peer.base_url.replace("127.0.0.1", "localhost"))
    with pytest.raises(DisallowedBaseUrl):
        client.create_issue(ISSUE)
    assert peer.connections == 0
