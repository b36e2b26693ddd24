"""The moto fixture serves real AWS APIs over loopback HTTP and resets between tests."""

from __future__ import annotations

import boto3

from devstack.aws import MotoServer


def test_secrets_manager_round_trip_over_http(aws: MotoServer) -> None:
    client = boto3.client("secretsmanager")
    assert client.meta.endpoint_url == aws.endpoint_url
    client.create_secret(Name="probe", SecretString="{}")
    assert client.get_secret_value(SecretId="probe")["SecretString"] == "{}"


def test_state_does_not_leak_between_tests(aws: MotoServer) -> None:
    client = boto3.client("secretsmanager")
    assert client.list_secrets()["SecretList"] == []
