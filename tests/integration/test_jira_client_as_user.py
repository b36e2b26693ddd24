"""Acting as a user against the emulator's OAuth 2.0 JWT-bearer grant: the issue's reporter is that user,
the access token is cached until shortly before it expires, and a tenant that cannot grant it fails for
good with a clear reason."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from jira_connect.errors import (
    ActAsUserUnavailable,
    ConnectionFailed,
    IssueCreatorError,
    JiraUnavailable,
    RateLimited,
)
from jira_connect.jira_client import JiraClient, JiraClients
from jira_connect.user_tokens import RENEWAL_MARGIN_SECONDS
from tests.integration.jira_client_support import (
    FakeTime,
    RawPeer,
    SecretsOnTheWire,
    closed_port,
    http_answer,
    install_tenant,
    issue,
    jira_clients,
    requests_to,
    tenant_store,
)

pytest_plugins = ["tests.integration.jira_client_fixtures"]

#: A human user every emulated site has (Atlassian's example accountId).
MIA = "5b10a2844c20165700ede21g"
CREATE = "POST /rest/api/{v}/issue"
TOKEN_LIFETIME = 900


def _clients(emu: Any, secrets: SecretsOnTheWire, time: FakeTime, **tenant: Any) -> JiraClients:
    tenant.setdefault("scopes", ["READ", "WRITE", "ACT_AS_USER"])
    install_tenant(emu, secrets, "acme", **tenant)
    return jira_clients(tenant_store(secrets, time), time, oauth_token_url=emu.url + "/oauth2/token")


def _token_requests(emu: Any) -> int:
    return sum(
        sum(statuses.values())
        for routes in emu.stats()["requests"].values()
        for route, statuses in routes.items()
        if "oauth2/token" in route
    )


def _reporter(emu: Any, key: str) -> str:
    stored = next(i for i in emu.issues("acme") if i["key"] == key)
    return str(stored["fields"]["reporter"]["accountId"])


def test_issue_created_as_a_user_has_that_user_as_reporter(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    app = _clients(emu, secrets, fake_time).for_tenant("acme")
    as_mia: JiraClient = app.as_user(MIA)
    assert as_mia.account_id == MIA
    created = as_mia.create_issue(issue())
    assert _reporter(emu, created.key) == MIA
    # The app itself is still the app.
    assert _reporter(emu, app.create_issue(issue()).key) != MIA


def test_access_token_is_reused_until_shortly_before_it_expires(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    clients = _clients(emu, secrets, fake_time)
    clients.for_tenant("acme").as_user(MIA).create_issue(issue())
    clients.for_tenant("acme").as_user(MIA).get_project("OPS")
    assert _token_requests(emu) == 1
    fake_time.advance(TOKEN_LIFETIME - RENEWAL_MARGIN_SECONDS + 1)
    clients.for_tenant("acme").as_user(MIA).get_project("OPS")
    assert _token_requests(emu) == 2


def test_bulk_create_as_a_user_reports_as_that_user(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    results = (
        _clients(emu, secrets, fake_time)
        .for_tenant("acme")
        .as_user(MIA)
        .create_issues([issue("a"), issue("b")])
    )
    assert [_reporter(emu, r.key) for r in results] == [MIA, MIA]  # type: ignore[union-attr]


def test_app_without_act_as_user_scope_cannot_act_as_a_user(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _clients(emu, secrets, fake_time, scopes=["READ", "WRITE"]).for_tenant("acme").as_user(MIA)
    with pytest.raises(ActAsUserUnavailable) as caught:
        client.create_issue(issue())
    assert caught.value.fate == "permanent"
    assert "ACT_AS_USER" in caught.value.message
    assert "unauthorized_client" in caught.value.message
    assert requests_to(emu, "acme", CREATE) == {}


def test_tenant_record_without_oauth_client_id_cannot_act_as_a_user(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    client = _clients(emu, secrets, fake_time, store_oauth_client_id=False).for_tenant("acme").as_user(MIA)
    with pytest.raises(ActAsUserUnavailable, match="oauthClientId"):
        client.create_issue(issue())
    assert _token_requests(emu) == 0


def test_acting_as_nobody_is_refused(emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime) -> None:
    app = _clients(emu, secrets, fake_time).for_tenant("acme")
    with pytest.raises(ValueError, match="account_id"):
        app.as_user("")


def test_access_token_jira_refuses_is_replaced_once_and_the_request_succeeds(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    # Jira's clock runs ahead of ours by more than the token's life: the cached token is refused (401).
    skew = [0.0]
    install_tenant(emu, secrets, "acme", scopes=["READ", "WRITE", "ACT_AS_USER"])
    clients = jira_clients(
        tenant_store(secrets, fake_time),
        fake_time,
        oauth_token_url=emu.url + "/oauth2/token",
        wall_clock=lambda: time.time() + skew[0],
    )
    as_mia = clients.for_tenant("acme").as_user(MIA)
    as_mia.get_project("OPS")
    emu.clock(advance=TOKEN_LIFETIME + 60)
    skew[0] = TOKEN_LIFETIME + 60  # new assertions are dated in Jira's time
    created = as_mia.create_issue(issue())
    assert _reporter(emu, created.key) == MIA
    assert _token_requests(emu) == 2
    assert requests_to(emu, "anonymous", CREATE) == {"401": 1}
    assert secrets.count() == 2  # the record is re-read once after the 401


def test_unreachable_authorization_server_is_retryable(
    emu: Any, secrets: SecretsOnTheWire, fake_time: FakeTime
) -> None:
    install_tenant(emu, secrets, "acme", scopes=["READ", "WRITE", "ACT_AS_USER"])
    clients = jira_clients(
        tenant_store(secrets, fake_time),
        fake_time,
        oauth_token_url=f"http://127.0.0.1:{closed_port()}/oauth2/token",
    )
    with pytest.raises(ConnectionFailed) as caught:
        clients.for_tenant("acme").as_user(MIA).create_issue(issue(), deadline=fake_time.now + 1)
    assert caught.value.fate == "retryable"
    assert caught.value.retry_after == 5.0
    assert requests_to(emu, "acme", CREATE) == {}


@pytest.mark.parametrize(
    ("answer", "leaf"),
    [
        (http_answer(503, {"error": "temporarily_unavailable"}, {"Retry-After": "7"}), JiraUnavailable),
        (http_answer(429, None, {"Retry-After": "7"}), RateLimited),
        (http_answer(200, {"token_type": "Bearer"}), JiraUnavailable),
    ],
)
def test_authorization_server_trouble_is_retryable_and_not_a_jira_pause(
    emu: Any,
    secrets: SecretsOnTheWire,
    fake_time: FakeTime,
    raw_peer: Callable[..., RawPeer],
    *,
    answer: bytes,
    leaf: type[IssueCreatorError],
) -> None:
    server = raw_peer(lambda request: answer)
    install_tenant(emu, secrets, "acme", scopes=["READ", "WRITE", "ACT_AS_USER"])
    clients = jira_clients(
        tenant_store(secrets, fake_time), fake_time, oauth_token_url=server.base_url + "/oauth2/token"
    )
    with pytest.raises(leaf) as caught:
        clients.for_tenant("acme").as_user(MIA).create_issue(issue(), deadline=fake_time.now + 1)
    assert caught.value.fate == "retryable"
    assert b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer" in server.requests[0]
    # The app's own requests to Jira are not held back by the authorization server's trouble.
    assert clients.for_tenant("acme").get_project("OPS", deadline=fake_time.now + 1)["key"] == "OPS"
