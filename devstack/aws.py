"""moto in server mode on loopback: the local stand-in for SQS, Secrets Manager and DynamoDB.

Used by tests, the demo and benchmarks. boto3 is pointed at it through the standard endpoint variables
(``AWS_ENDPOINT_URL``), exactly as a user points a Lambda at LocalStack or moto.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from moto.moto_server.threaded_moto_server import ThreadedMotoServer

__all__ = ["LOCAL_REGION", "MotoServer", "aws_environment", "running_moto_server"]

LOCAL_REGION = "us-east-1"


@dataclass(frozen=True)
class MotoServer:
    """A running moto server: ``endpoint_url`` takes every AWS service."""

    endpoint_url: str


def aws_environment(endpoint_url: str) -> Mapping[str, str]:
    """Environment variables that point boto3 (and the Lambda code) at ``endpoint_url``."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_DEFAULT_REGION": LOCAL_REGION,
        "AWS_REGION": LOCAL_REGION,
        # moto accepts any credentials; fixed fake ones keep boto3 from searching the machine for real ones.
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }


@contextmanager
def running_moto_server(host: str = "127.0.0.1", port: int = 0) -> Iterator[MotoServer]:
    """Start moto on ``host``:``port`` (0: a free port) in a thread; stop it on exit."""
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    server.start()
    try:
        bound_host, bound_port = server.get_host_and_port()
        yield MotoServer(endpoint_url=f"http://{bound_host}:{bound_port}")
    finally:
        server.stop()
