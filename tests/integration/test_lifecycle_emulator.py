"""The lifecycle Lambda with the Jira emulator playing Atlassian and moto server playing Secrets Manager.

The emulator reads the app's descriptor (served by the function), answers the signed ``installed`` and
``uninstalled`` requests Atlassian would send, and serves the install key; each request is delivered to
``lambda_handler`` as the API Gateway v2 event of a named stage (``/prod``). Every forged variant of a
callback is refused with 401 and leaves Secrets Manager exactly as it was.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.aws import MotoServer
from functions.lifecycle import app
from jira_connect.errors import TenantUninstalled
from jira_connect.idempotency_property import IDEMPOTENCY_PROPERTY_KEY, IDEMPOTENCY_PROPERTY_PATH
from jira_connect.qsh import query_string_hash
from jira_connect.tenant import tenant_secret_name
from jira_connect.tenant_store import SecretsManagerTenantStore
from tests.fixtures.emulator import EmulatorHandle
from tests.integration.test_lifecycle_handler import FakeLambdaContext, http_api_event

APP_KEY = "com.example.jira-issue-creator"
STAGE = "prod"
APP_BASE_URL = f"https://abc123.execute-api.eu-west-1.amazonaws.com/{STAGE}"
OTHER_APP_BASE_URL = "https://another-app.example.com/prod"
PREFIX = "jira-issue-creator/test/tenants/"
VICTIM = "jira:victim-site"
ATTACKER = "jira:attacker-site"
ATTACKER_SECRET = "attacker-chosen-shared-secret-0123456789abcdef"

Request = dict[str, Any]


@pytest.fixture
def lifecycle(
    aws: MotoServer, jira_emulator: EmulatorHandle, monkeypatch: pytest.MonkeyPatch
) -> Iterator[EmulatorHandle]:
    """The function configured as deployed at APP_BASE_URL, trusting the emulator's install keys."""
    monkeypatch.setenv("APP_KEY", APP_KEY)
    monkeypatch.setenv("APP_BASE_URL", APP_BASE_URL)
    monkeypatch.setenv("TENANT_SECRET_PREFIX", PREFIX)
    monkeypatch.setenv("CONNECT_INSTALL_KEYS_URL", f"{jira_emulator.url}/__emu/install-keys")
    monkeypatch.setenv("JIRA_ALLOWED_HOSTS", urlsplit(jira_emulator.url).hostname or "")
    app.lifecycle.cache_clear()
    yield jira_emulator
    app.lifecycle.cache_clear()


@pytest.fixture
def secrets() -> Any:
    return boto3.client("secretsmanager")


@pytest.fixture
def store(secrets: Any) -> SecretsManagerTenantStore:
    return SecretsManagerTenantStore(secrets, PREFIX)


def deliver(request: Request, *, to: str | None = None) -> dict[str, Any]:
    """Atlassian's request, as API Gateway hands it to the function (``to``: another URL path)."""
    url = urlsplit(request["url"])
    event = http_api_event(
        request["method"],
        to or url.path,
        raw_query=url.query,
        headers=request["headers"],
        body=json.dumps(request["body"]),
    )
    response: dict[str, Any] = app.lambda_handler(event, FakeLambdaContext())  # type: ignore[arg-type]
    return response


def descriptor() -> dict[str, Any]:
    response = app.lambda_handler(
        http_api_event("GET", f"/{STAGE}/atlassian-connect.json"),
        FakeLambdaContext(),  # type: ignore[arg-type]
    )
    assert response["statusCode"] == 200
    return dict(json.loads(response["body"]))


def install(emulator: EmulatorHandle, client_key: str, **tenant: Any) -> dict[str, Any]:
    """The emulator installs the app from its descriptor; returns the tenant and its signed request."""
    tenant.setdefault("app_base_url", APP_BASE_URL)
    return emulator.add_tenant(key=APP_KEY, client_key=client_key, descriptor=descriptor(), **tenant)


def stored(secrets: Any, client_key: str) -> dict[str, Any]:
    secret = secrets.get_secret_value(SecretId=tenant_secret_name(PREFIX, client_key))
    return dict(json.loads(secret["SecretString"]))


def snapshot(secrets: Any, *, with_value: bool = True) -> list[tuple[str, Any, Any]]:
    """Everything an attacker could change: names, deletion dates, versions, and the victim's value."""
    state = [
        (
            entry["Name"],
            entry.get("DeletedDate"),
            json.dumps(secrets.describe_secret(SecretId=entry["Name"])["VersionIdsToStages"], sort_keys=True),
        )
        for entry in secrets.list_secrets(IncludePlannedDeletion=True)["SecretList"]
    ]
    if with_value:
        state.append(("value", stored(secrets, VICTIM), None))
    return sorted(state, key=repr)


# -- the genuine flow ---------------------------------------------------------------------------------


def test_emulator_reads_the_descriptor_and_indexes_the_idempotency_property(
    lifecycle: EmulatorHandle,
) -> None:
    tenant = install(lifecycle, VICTIM)
    assert tenant["key"] == APP_KEY
    assert tenant["install"]["url"] == f"{APP_BASE_URL}/installed"
    assert tenant["indexedProperties"] == {IDEMPOTENCY_PROPERTY_KEY: [IDEMPOTENCY_PROPERTY_PATH]}


def test_signed_install_stores_the_payload_under_the_tenant_secret_name(
    lifecycle: EmulatorHandle, secrets: Any, store: SecretsManagerTenantStore
) -> None:
    tenant = install(lifecycle, VICTIM)
    assert deliver(tenant["install"])["statusCode"] == 204
    [entry] = secrets.list_secrets()["SecretList"]
    assert entry["Name"] == PREFIX + "jira_3Avictim-site"
    assert stored(secrets, VICTIM) == tenant["install"]["body"]
    # The stored record is what the worker signs with, and the emulator accepts it.
    record = store.get(VICTIM).record
    assert lifecycle.client(record).get("/rest/api/3/project").status_code == 200


def test_reinstall_with_a_new_shared_secret_updates_the_secret(
    lifecycle: EmulatorHandle, secrets: Any, store: SecretsManagerTenantStore
) -> None:
    deliver(install(lifecycle, VICTIM, shared_secret="first-secret-" + "a" * 40)["install"])
    reinstall = install(lifecycle, VICTIM, shared_secret="second-secret-" + "b" * 40)
    assert deliver(reinstall["install"])["statusCode"] == 204
    assert stored(secrets, VICTIM)["sharedSecret"] == "second-secret-" + "b" * 40
    assert len(secrets.list_secrets()["SecretList"]) == 1
    assert lifecycle.client(store.get(VICTIM).record).get("/rest/api/3/project").status_code == 200


def test_uninstall_marks_the_tenant_and_schedules_deletion(
    lifecycle: EmulatorHandle, secrets: Any, store: SecretsManagerTenantStore
) -> None:
    deliver(install(lifecycle, VICTIM)["install"])
    assert store.get(VICTIM).client_key == VICTIM
    assert deliver(lifecycle.uninstall(VICTIM))["statusCode"] == 204
    name = tenant_secret_name(PREFIX, VICTIM)
    assert "DeletedDate" in secrets.describe_secret(SecretId=name)
    # A reader that cached the tenant sees the uninstall when it re-reads (TTL, or Jira's 401).
    with pytest.raises(TenantUninstalled):
        store.refresh(VICTIM)
    with pytest.raises(TenantUninstalled):
        SecretsManagerTenantStore(secrets, PREFIX).get(VICTIM)


def test_repeated_uninstall_callback_is_accepted_and_changes_nothing(
    lifecycle: EmulatorHandle, secrets: Any
) -> None:
    deliver(install(lifecycle, VICTIM)["install"])
    uninstall = lifecycle.uninstall(VICTIM)
    deliver(uninstall)
    before = snapshot(secrets, with_value=False)
    assert deliver(uninstall)["statusCode"] == 204
    assert snapshot(secrets, with_value=False) == before


def test_reinstall_after_uninstall_restores_the_tenant(
    lifecycle: EmulatorHandle, secrets: Any, store: SecretsManagerTenantStore
) -> None:
    deliver(install(lifecycle, VICTIM)["install"])
    deliver(lifecycle.uninstall(VICTIM))
    again = install(lifecycle, VICTIM, shared_secret="after-uninstall-" + "c" * 40)
    assert deliver(again["install"])["statusCode"] == 204
    assert "DeletedDate" not in secrets.describe_secret(SecretId=tenant_secret_name(PREFIX, VICTIM))
    tenant = store.get(VICTIM)
    assert tenant.shared_secret == "after-uninstall-" + "c" * 40
    assert lifecycle.client(tenant.record).get("/rest/api/3/project").status_code == 200


# -- forged callbacks: each is refused and nothing changes ---------------------------------------------

Attack = Callable[[EmulatorHandle, Request, rsa.RSAPrivateKey], tuple[Request, str | None]]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _atlassian_kid(request: Request) -> str:
    token = request["headers"]["Authorization"].removeprefix("JWT ")
    return str(jwt.get_unverified_header(token)["kid"])


def _victim_claims() -> dict[str, Any]:
    """What Atlassian would sign for the victim's ``installed`` callback."""
    now = int(time.time())
    return {
        "iss": VICTIM,
        "aud": APP_BASE_URL,
        "iat": now,
        "exp": now + 180,
        "qsh": query_string_hash("POST", f"{APP_BASE_URL}/installed", APP_BASE_URL),
    }


def _carrying(request: Request, token: str | None = None, **body: Any) -> Request:
    """``request`` with another token and/or body fields; by default it claims the victim's record."""
    headers = dict(request["headers"])
    if token is not None:
        headers["Authorization"] = f"JWT {token}"
    fields = {"clientKey": VICTIM, "sharedSecret": ATTACKER_SECRET, **body}
    return {**request, "headers": headers, "body": {**request["body"], **fields}}


def forged_signature(
    emulator: EmulatorHandle, genuine: Request, key: rsa.RSAPrivateKey
) -> tuple[Request, None]:
    token = jwt.encode(_victim_claims(), key, algorithm="RS256", headers={"kid": _atlassian_kid(genuine)})
    return _carrying(genuine, token), None


def hs256_with_the_public_key(
    emulator: EmulatorHandle, genuine: Request, key: rsa.RSAPrivateKey
) -> tuple[Request, None]:
    kid = _atlassian_kid(genuine)
    public_pem = emulator.install_key(kid).encode()
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    claims = _b64(json.dumps(_victim_claims()).encode())
    signature = hmac.new(public_pem, f"{header}.{claims}".encode(), hashlib.sha256).digest()
    return _carrying(genuine, f"{header}.{claims}.{_b64(signature)}"), None


def unknown_kid(emulator: EmulatorHandle, genuine: Request, key: rsa.RSAPrivateKey) -> tuple[Request, None]:
    token = jwt.encode(_victim_claims(), key, algorithm="RS256", headers={"kid": "attacker/key-1"})
    return _carrying(genuine, token), None


def wrong_audience(
    emulator: EmulatorHandle, genuine: Request, key: rsa.RSAPrivateKey
) -> tuple[Request, None]:
    # Genuinely signed by Atlassian, for another app: the victim's site installing some other app.
    other = install(emulator, VICTIM, app_base_url=OTHER_APP_BASE_URL, shared_secret=ATTACKER_SECRET)
    return other["install"], None


def uninstalled_token_sent_to_installed(
    emulator: EmulatorHandle, genuine: Request, key: rsa.RSAPrivateKey
) -> tuple[Request, str]:
    uninstall = emulator.uninstall(VICTIM)
    return _carrying(
        genuine, uninstall["headers"]["Authorization"].removeprefix("JWT ")
    ), f"/{STAGE}/installed"


def other_query_string(
    emulator: EmulatorHandle, genuine: Request, key: rsa.RSAPrivateKey
) -> tuple[Request, None]:
    request = install(emulator, VICTIM, shared_secret=ATTACKER_SECRET)["install"]
    return {**request, "url": request["url"] + "?user_key=admin"}, None


def expired(emulator: EmulatorHandle, genuine: Request, key: rsa.RSAPrivateKey) -> tuple[Request, None]:
    # Atlassian's clock an hour behind ours: the token expired 57 minutes ago.
    emulator.clock(advance=-3600)
    return install(emulator, VICTIM, shared_secret=ATTACKER_SECRET)["install"], None


def client_key_not_the_issuer(
    emulator: EmulatorHandle, genuine: Request, key: rsa.RSAPrivateKey
) -> tuple[Request, None]:
    # The attacker's own site, genuinely signed, naming the victim's clientKey in the body.
    own = install(emulator, ATTACKER)["install"]
    return _carrying(own), None


ATTACKS: list[tuple[Attack, str]] = [
    (forged_signature, "signature does not verify"),
    (hs256_with_the_public_key, "algorithm 'HS256' is not allowed"),
    (unknown_kid, "no install key is published under kid 'attacker/key-1'"),
    (wrong_audience, "audience"),
    (uninstalled_token_sent_to_installed, "'qsh'"),
    (other_query_string, "'qsh'"),
    (expired, "expired"),
    (client_key_not_the_issuer, "not the token's issuer"),
]


@pytest.mark.parametrize(("attack", "reason"), ATTACKS, ids=[attack.__name__ for attack, _ in ATTACKS])
def test_forged_callback_is_refused_and_nothing_is_stored_or_changed(
    lifecycle: EmulatorHandle, secrets: Any, attack: Attack, reason: str
) -> None:
    genuine = install(lifecycle, VICTIM)["install"]
    assert deliver(genuine)["statusCode"] == 204
    before = snapshot(secrets)
    attacker_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    request, path = attack(lifecycle, genuine, attacker_key)
    response = deliver(request, to=path)

    assert response["statusCode"] == 401
    error = json.loads(response["body"])
    assert error["error"] in {"InstallVerificationFailed", "UnknownInstallKey"}
    assert reason in error["message"]
    assert ATTACKER_SECRET not in response["body"]
    assert snapshot(secrets) == before
    assert stored(secrets, VICTIM)["sharedSecret"] == genuine["body"]["sharedSecret"]


@pytest.mark.parametrize(
    ("attack", "reason"), ATTACKS[:4], ids=[attack.__name__ for attack, _ in ATTACKS[:4]]
)
def test_forged_callback_for_a_new_tenant_stores_nothing(
    lifecycle: EmulatorHandle, secrets: Any, attack: Attack, reason: str
) -> None:
    genuine = install(lifecycle, VICTIM)["install"]  # signed, never delivered
    request, path = attack(lifecycle, genuine, rsa.generate_private_key(public_exponent=65537, key_size=2048))
    assert deliver(request, to=path)["statusCode"] == 401
    assert secrets.list_secrets(IncludePlannedDeletion=True)["SecretList"] == []


def test_forged_uninstall_leaves_the_tenant_installed(
    lifecycle: EmulatorHandle, secrets: Any, store: SecretsManagerTenantStore
) -> None:
    genuine = install(lifecycle, VICTIM)["install"]
    deliver(genuine)
    before = snapshot(secrets)
    now = int(time.time())
    claims = {
        "iss": VICTIM,
        "aud": APP_BASE_URL,
        "iat": now,
        "exp": now + 180,
        "qsh": query_string_hash("POST", f"{APP_BASE_URL}/uninstalled", APP_BASE_URL),
    }
    attacker_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims, attacker_key, algorithm="RS256", headers={"kid": _atlassian_kid(genuine)})
    forged = {
        **genuine,
        "url": f"{APP_BASE_URL}/uninstalled",
        "headers": {**genuine["headers"], "Authorization": f"JWT {token}"},
        "body": {**genuine["body"], "eventType": "uninstalled"},
    }
    assert deliver(forged)["statusCode"] == 401
    assert snapshot(secrets) == before
    assert store.get(VICTIM).shared_secret == genuine["body"]["sharedSecret"]
