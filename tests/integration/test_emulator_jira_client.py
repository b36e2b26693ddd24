"""A Jira client nobody here wrote (pycontribs ``jira``, with its Atlassian Connect JWT option) works
against the emulator: it reads server info, lists projects, creates an issue and reads it back."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from typing import Any

import jira.client
import jwt
import pytest
from jira import JIRA

from tests.fixtures.emulator import EmulatorHandle


class RequestsJwtStandIn:
    """Only if ``requests-jwt`` is not installed: the same behaviour as its ``JWTAuth`` 0.6.0.

    pycontribs ``jira`` signs Connect requests through ``requests_jwt.JWTAuth``, an optional dependency
    missing from requirements-dev.txt. This copies that class's documented behaviour (each field is a value
    or a callable of the prepared request, the payload is PyJWT-encoded, the header is formatted with
    ``%s``); the claims, qsh and header format still come from ``jira`` itself.
    """

    def __init__(self, secret: str, alg: str = "HS256", header_format: str = 'JWT token="%s"') -> None:
        self.secret, self.alg, self._header_format = secret, alg, header_format
        self._generators: dict[str, Any] = {}

    def add_field(self, name: str, generator: Any) -> None:
        self._generators[name] = generator

    def set_header_format(self, new_format: str) -> None:
        self._header_format = new_format

    def __call__(self, request: Any) -> Any:
        payload = {}
        for name, generator in self._generators.items():
            value = generator(request) if callable(generator) else generator
            if value:
                payload[name] = value
        request.headers["Authorization"] = self._header_format % jwt.encode(payload, self.secret, self.alg)
        return request


@pytest.fixture
def jira_jwt_support(monkeypatch: pytest.MonkeyPatch) -> None:
    if importlib.util.find_spec("requests_jwt") is None:
        monkeypatch.setattr(jira.client, "JWTAuth", RequestsJwtStandIn, raising=False)


@pytest.fixture
def connect_jira(jira_emulator: EmulatorHandle, jira_jwt_support: None) -> Callable[[dict[str, Any]], JIRA]:
    def make(tenant: dict[str, Any]) -> JIRA:
        return JIRA(
            server=tenant["baseUrl"],
            jwt={"secret": tenant["sharedSecret"], "payload": {"iss": tenant["key"]}},
            max_retries=0,
            timeout=10,
        )

    return make


def test_pycontribs_jira_lists_projects(
    jira_emulator: EmulatorHandle, connect_jira: Callable[[dict[str, Any]], JIRA]
) -> None:
    tenant = jira_emulator.add_tenant(
        projects=[{"key": "OPS", "name": "Operations"}, {"key": "SEC", "name": "Sec"}]
    )
    client = connect_jira(tenant)
    assert [p.key for p in client.projects()] == ["OPS", "SEC"]
    assert client.project("SEC").name == "Sec"


def test_pycontribs_jira_creates_an_issue_and_reads_it_back(
    jira_emulator: EmulatorHandle, connect_jira: Callable[[dict[str, Any]], JIRA]
) -> None:
    tenant = jira_emulator.add_tenant()
    client = connect_jira(tenant)
    issue = client.create_issue(
        fields={
            "project": {"key": "OPS"},
            "issuetype": {"name": "Bug"},
            "summary": f"Created by pycontribs jira at {int(time.time())}",
            "description": "Plain text: this client speaks REST v2.",
            "labels": ["pycontribs"],
        }
    )
    assert issue.key == "OPS-1"
    assert issue.fields.issuetype.name == "Bug"
    assert issue.fields.labels == ["pycontribs"]
    assert issue.fields.reporter.accountId == jira_emulator.tenants()[0]["botAccountId"]
    stats = jira_emulator.stats()
    assert stats["issuesCreated"] == {tenant["clientKey"]: 1}
    assert "anonymous" not in stats["requests"]
