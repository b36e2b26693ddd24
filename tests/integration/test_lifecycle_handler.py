"""The lifecycle Lambda invoked as Lambda would, against moto server and a key server on loopback.

Atlassian is played by an RSA key generated here (the emulator tests play it with the Jira emulator).
The API is deployed on a named stage, so requests arrive under ``/prod`` and APP_BASE_URL ends in it.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import boto3
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.aws import MotoServer
from functions.lifecycle import app
from jira_connect.lifecycle_settings import SettingsError
from jira_connect.qsh import query_string_hash
from tests.integration.test_lifecycle_install_keys import KeyServer, running_key_server

APP_KEY = "com.example.jira-issue-creator"
STAGE = "prod"
API_HOST = "abc123.execute-api.eu-west-1.amazonaws.com"
APP_BASE_URL = f"https://{API_HOST}/{STAGE}"
PREFIX = "jira-issue-creator/test/tenants/"
CLIENT_KEY = "jira:6f1c3b0e-8d3a-4c2f-9b7e-1a2b3c4d5e6f"
SECRET_NAME = PREFIX + "jira_3A6f1c3b0e-8d3a-4c2f-9b7e-1a2b3c4d5e6f"
KID = "connect/test/key-1"
SHARED_SECRET = "first-shared-secret-value-never-logged"


@dataclass(frozen=True)
class FakeLambdaContext:
    function_name: str = "lifecycle"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:lifecycle"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"


def http_api_event(
    method: str,
    raw_path: str,
    *,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    raw_query: str = "",
    stage: str = STAGE,
    base64_body: bool = False,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload v2) event, as API Gateway builds it for a request."""
    route_path = raw_path.removeprefix(f"/{stage}") if stage != "$default" else raw_path
    encoded = base64.b64encode(body.encode()).decode() if body is not None and base64_body else body
    return {
        "version": "2.0",
        "routeKey": f"{method} {route_path}",
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": {
            "content-type": "application/json",
            "host": API_HOST,
            "user-agent": "Atlassian Connect",
            **{name.lower(): value for name, value in (headers or {}).items()},
        },
        **({"queryStringParameters": dict(parse_qsl(raw_query))} if raw_query else {}),
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": API_HOST,
            "domainPrefix": "abc123",
            "http": {
                "method": method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": "104.192.136.1",
                "userAgent": "Atlassian Connect",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": f"{method} {route_path}",
            "stage": stage,
            "time": "01/Dec/2026:00:00:00 +0000",
            "timeEpoch": 1796083200000,
        },
        **({"body": encoded} if encoded is not None else {}),
        "isBase64Encoded": base64_body,
    }


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    return app.lambda_handler(event, FakeLambdaContext())  # type: ignore[arg-type]


def error_of(response: dict[str, Any]) -> dict[str, Any]:
    assert response["headers"]["Content-Type"] == "application/json"
    return dict(json.loads(response["body"]))


@pytest.fixture(scope="module")
def atlassian_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def attacker_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def key_server(atlassian_key: rsa.RSAPrivateKey) -> Iterator[KeyServer]:
    pem = atlassian_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with running_key_server() as server:
        server.publish(KID, pem.decode())
        yield server


@pytest.fixture
def environment(aws: MotoServer, key_server: KeyServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("APP_KEY", APP_KEY)
    monkeypatch.setenv("APP_BASE_URL", APP_BASE_URL)
    monkeypatch.setenv("TENANT_SECRET_PREFIX", PREFIX)
    monkeypatch.setenv("CONNECT_INSTALL_KEYS_URL", key_server.url)
    monkeypatch.delenv("JIRA_ALLOWED_HOSTS", raising=False)
    monkeypatch.delenv("UNINSTALL_RECOVERY_WINDOW_DAYS", raising=False)
    app.lifecycle.cache_clear()
    yield
    app.lifecycle.cache_clear()


@pytest.fixture
def secrets(environment: None) -> Any:
    return boto3.client("secretsmanager")


def payload(event: str = "installed", **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "key": APP_KEY,
        "clientKey": CLIENT_KEY,
        "sharedSecret": SHARED_SECRET,
        "baseUrl": "https://acme.atlassian.net",
        "displayUrl": "https://acme.atlassian.net",
        "productType": "jira",
        "description": "Atlassian JIRA at https://acme.atlassian.net",
        "serverVersion": "100283",
        "pluginsVersion": "1001.0.0-SNAPSHOT",
        "eventType": event,
    }
    body.update(overrides)
    return body


def signed_callback(
    key: rsa.RSAPrivateKey,
    event: str = "installed",
    *,
    body: dict[str, Any] | None = None,
    kid: str = KID,
    token_for: str | None = None,
    **claims: Any,
) -> dict[str, Any]:
    """The event of Atlassian's POST to ``/<stage>/<event>``, signed as signed install does."""
    path = f"/{STAGE}/{event}"
    now = int(time.time())
    token_claims = {
        "iss": CLIENT_KEY,
        "aud": [APP_BASE_URL],
        "iat": now,
        "exp": now + 180,
        "qsh": query_string_hash("POST", token_for or path, APP_BASE_URL),
        **claims,
    }
    token = jwt.encode(token_claims, key, algorithm="RS256", headers={"kid": kid})
    return http_api_event(
        "POST",
        path,
        body=json.dumps(payload(event) if body is None else body),
        headers={"Authorization": f"JWT {token}"},
    )


def stored(secrets: Any) -> dict[str, Any]:
    return dict(json.loads(secrets.get_secret_value(SecretId=SECRET_NAME)["SecretString"]))


def test_descriptor_is_served_with_the_configured_key_and_base_url(environment: None) -> None:
    response = invoke(http_api_event("GET", f"/{STAGE}/atlassian-connect.json"))
    assert response["statusCode"] == 200
    descriptor = json.loads(response["body"])
    assert descriptor["key"] == APP_KEY
    assert descriptor["baseUrl"] == APP_BASE_URL
    assert descriptor["apiMigrations"]["signed-install"] is True


def test_signed_install_stores_the_payload_as_the_tenant_secret(
    secrets: Any, atlassian_key: rsa.RSAPrivateKey
) -> None:
    response = invoke(signed_callback(atlassian_key))
    assert response["statusCode"] == 204
    assert stored(secrets) == payload()


def test_base64_encoded_body_is_read(secrets: Any, atlassian_key: rsa.RSAPrivateKey) -> None:
    event = signed_callback(atlassian_key)
    event["body"] = base64.b64encode(event["body"].encode()).decode()
    event["isBase64Encoded"] = True
    assert invoke(event)["statusCode"] == 204
    assert stored(secrets)["sharedSecret"] == SHARED_SECRET


def test_signed_uninstall_marks_the_tenant_and_schedules_deletion(
    secrets: Any, atlassian_key: rsa.RSAPrivateKey
) -> None:
    invoke(signed_callback(atlassian_key))
    assert invoke(signed_callback(atlassian_key, "uninstalled"))["statusCode"] == 204
    assert "DeletedDate" in secrets.describe_secret(SecretId=SECRET_NAME)


def test_uninstall_of_a_tenant_never_installed_answers_204_and_stores_nothing(
    secrets: Any, atlassian_key: rsa.RSAPrivateKey
) -> None:
    assert invoke(signed_callback(atlassian_key, "uninstalled"))["statusCode"] == 204
    assert secrets.list_secrets()["SecretList"] == []


def test_forged_install_is_refused_with_401_naming_the_check_and_stores_nothing(
    secrets: Any, attacker_key: rsa.RSAPrivateKey
) -> None:
    response = invoke(signed_callback(attacker_key))
    assert response["statusCode"] == 401
    assert error_of(response) == {
        "error": "InstallVerificationFailed",
        "message": f"token signature does not verify with the install key {KID!r}",
    }
    assert secrets.list_secrets()["SecretList"] == []


def test_forged_reinstall_cannot_replace_the_shared_secret(
    secrets: Any, atlassian_key: rsa.RSAPrivateKey, attacker_key: rsa.RSAPrivateKey
) -> None:
    invoke(signed_callback(atlassian_key))
    before = secrets.describe_secret(SecretId=SECRET_NAME)["VersionIdsToStages"]
    response = invoke(signed_callback(attacker_key, body=payload(sharedSecret="attacker-chosen")))
    assert response["statusCode"] == 401
    assert stored(secrets)["sharedSecret"] == SHARED_SECRET
    assert secrets.describe_secret(SecretId=SECRET_NAME)["VersionIdsToStages"] == before


def test_forged_uninstall_leaves_the_tenant_installed(
    secrets: Any, atlassian_key: rsa.RSAPrivateKey, attacker_key: rsa.RSAPrivateKey
) -> None:
    invoke(signed_callback(atlassian_key))
    assert invoke(signed_callback(attacker_key, "uninstalled"))["statusCode"] == 401
    assert "DeletedDate" not in secrets.describe_secret(SecretId=SECRET_NAME)
    assert stored(secrets)["eventType"] == "installed"


def test_unsigned_install_is_refused(secrets: Any) -> None:
    response = invoke(http_api_event("POST", f"/{STAGE}/installed", body=json.dumps(payload())))
    assert response["statusCode"] == 401
    assert "Authorization" in error_of(response)["message"]
    assert secrets.list_secrets()["SecretList"] == []


def test_expired_install_is_refused(secrets: Any, atlassian_key: rsa.RSAPrivateKey) -> None:
    response = invoke(signed_callback(atlassian_key, exp=1_700_000_000, iat=1_699_999_820))
    assert response["statusCode"] == 401
    assert "expired" in error_of(response)["message"]
    assert secrets.list_secrets()["SecretList"] == []


def test_stage_prefix_in_app_base_url_must_match_the_deployment(
    secrets: Any, atlassian_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Atlassian signed for the descriptor's baseUrl; a deployment configured without "/prod" cannot agree.
    monkeypatch.setenv("APP_BASE_URL", f"https://{API_HOST}")
    app.lifecycle.cache_clear()
    response = invoke(signed_callback(atlassian_key, aud=[f"https://{API_HOST}"]))
    assert response["statusCode"] == 401
    assert "APP_BASE_URL" in error_of(response)["message"]


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", '"text"', ""])
def test_body_that_is_not_a_json_object_is_a_bad_request(
    secrets: Any, atlassian_key: rsa.RSAPrivateKey, body: str
) -> None:
    event = signed_callback(atlassian_key)
    event["body"] = body
    response = invoke(event)
    assert response["statusCode"] == 400
    assert error_of(response)["error"] == "MalformedBody"
    assert secrets.list_secrets()["SecretList"] == []


@pytest.mark.parametrize("body", ["not base64!", base64.b64encode(b"\xff\xfe{}").decode()])
def test_base64_body_that_does_not_decode_is_a_bad_request(
    secrets: Any, atlassian_key: rsa.RSAPrivateKey, body: str
) -> None:
    event = signed_callback(atlassian_key)
    event["body"] = body
    event["isBase64Encoded"] = True
    assert invoke(event)["statusCode"] == 400
    assert secrets.list_secrets()["SecretList"] == []


def test_install_keys_service_down_is_503_and_stores_nothing(
    secrets: Any, atlassian_key: rsa.RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONNECT_INSTALL_KEYS_URL", "http://127.0.0.1:9/keys")
    app.lifecycle.cache_clear()
    response = invoke(signed_callback(atlassian_key))
    assert response["statusCode"] == 503
    assert error_of(response)["error"] == "InstallKeysUnavailable"
    assert secrets.list_secrets()["SecretList"] == []


def test_install_key_is_fetched_once_per_execution_environment(
    secrets: Any, atlassian_key: rsa.RSAPrivateKey, key_server: KeyServer
) -> None:
    for _ in range(3):
        assert invoke(signed_callback(atlassian_key))["statusCode"] == 204
    assert key_server.requests == [f"/keys/{KID}"]


def test_unknown_route_is_404(environment: None) -> None:
    assert invoke(http_api_event("GET", f"/{STAGE}/installed"))["statusCode"] == 404


def test_logs_never_contain_the_shared_secret_or_the_token(
    secrets: Any, atlassian_key: rsa.RSAPrivateKey, caplog: pytest.LogCaptureFixture
) -> None:
    good = signed_callback(atlassian_key)
    forged = signed_callback(atlassian_key, body=payload(clientKey="jira:other"))
    invoke(good)
    invoke(forged)
    # Every attribute of every record: the message and the structured fields.
    logged = "\n".join(repr(vars(record)) for record in caplog.records)
    assert "tenant installed" in logged
    assert "lifecycle request refused" in logged
    assert SHARED_SECRET not in logged
    for event in (good, forged):
        token = event["headers"]["authorization"].removeprefix("JWT ")
        assert token.split(".")[2] not in logged


@pytest.mark.parametrize("variable", ["APP_KEY", "APP_BASE_URL", "TENANT_SECRET_PREFIX"])
def test_missing_configuration_fails_naming_the_variable(
    environment: None, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.delenv(variable)
    with pytest.raises(SettingsError, match=variable):
        invoke(http_api_event("GET", f"/{STAGE}/atlassian-connect.json"))


# -- the sample events in events/ (for `sam local invoke`) stay valid --------------------------------

EVENTS = Path(__file__).parents[2] / "events"
SAMPLE_BASE_URL = "https://abc123defg.execute-api.us-east-1.amazonaws.com"


def sample(name: str) -> dict[str, Any]:
    return dict(json.loads((EVENTS / f"lifecycle_{name}.json").read_text()))


@pytest.fixture
def sample_environment(environment: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_BASE_URL", SAMPLE_BASE_URL)
    app.lifecycle.cache_clear()


def test_sample_descriptor_event_is_served(sample_environment: None) -> None:
    response = invoke(sample("descriptor"))
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["baseUrl"] == SAMPLE_BASE_URL


@pytest.mark.parametrize("name", ["installed", "uninstalled"])
def test_sample_callback_is_signed_like_atlassian_for_its_route(name: str) -> None:
    event = sample(name)
    token = event["headers"]["authorization"].removeprefix("JWT ")
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == [SAMPLE_BASE_URL]
    assert claims["qsh"] == query_string_hash("POST", event["rawPath"], SAMPLE_BASE_URL)
    assert claims["iss"] == json.loads(event["body"])["clientKey"]
    assert json.loads(event["body"])["eventType"] == name


@pytest.mark.parametrize("name", ["installed", "uninstalled"])
def test_sample_callback_is_refused_because_its_key_is_not_published(
    sample_environment: None, secrets: Any, name: str
) -> None:
    response = invoke(sample(name))
    assert response["statusCode"] == 401
    assert "no install key" in error_of(response)["message"]
    assert secrets.list_secrets()["SecretList"] == []
