"""Adapter: tenant records in AWS Secrets Manager, one secret per tenant (see :mod:`jira_connect.tenant`).

Reads are cached per execution environment for ``ttl_seconds`` (default 300 s, as Powertools'
``parameters``), so a warm Lambda reads each tenant's secret once per TTL. ``refresh`` re-reads one tenant
at once: after a 401 from Jira, because a re-install rotates ``sharedSecret``.

Writes come from the lifecycle function: ``save_installation`` creates or updates the secret (restoring it
if an uninstall had scheduled its deletion), ``mark_uninstalled`` records the uninstall and schedules the
secret's deletion with a recovery window (a no-op when there is nothing to mark). IAM: DescribeSecret,
GetSecretValue, CreateSecret, TagResource, PutSecretValue, RestoreSecret, DeleteSecret on the prefix.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from jira_connect.errors import MalformedTenantRecord, TenantUninstalled, UnknownTenant
from jira_connect.tenant import UNINSTALLED_EVENT, Tenant, parse_tenant_record, tenant_secret_name

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

__all__ = ["DEFAULT_CACHE_TTL_SECONDS", "DEFAULT_RECOVERY_WINDOW_DAYS", "SecretsManagerTenantStore"]

DEFAULT_CACHE_TTL_SECONDS = 300.0
#: Secrets Manager allows 7 to 30 days; a re-install inside the window restores the secret.
DEFAULT_RECOVERY_WINDOW_DAYS = 7
_NOT_FOUND = "ResourceNotFoundException"
_INVALID_REQUEST = "InvalidRequestException"
_EXISTS = "ResourceExistsException"
MANAGED_BY = "jira-issue-creator"
#: Secrets Manager's longest secret name; a longer one is refused with a ValidationException.
MAX_SECRET_NAME_LENGTH = 512


class SecretsManagerTenantStore:
    """Tenants by clientKey, read from (and written to) Secrets Manager under ``prefix``."""

    def __init__(
        self,
        client: SecretsManagerClient,
        prefix: str,
        *,
        ttl_seconds: float = DEFAULT_CACHE_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._ttl = ttl_seconds
        self._clock = clock
        self._cache: dict[str, tuple[float, Tenant]] = {}
        self._lock = threading.Lock()

    def secret_name(self, client_key: str) -> str:
        return tenant_secret_name(self._prefix, client_key)

    def get(self, client_key: str) -> Tenant:
        """The tenant, from the cache while it is fresh, else from Secrets Manager."""
        with self._lock:
            cached = self._cache.get(client_key)
        if cached is not None and self._clock() - cached[0] < self._ttl:
            return cached[1]
        return self.refresh(client_key)

    def refresh(self, client_key: str) -> Tenant:
        """Read the tenant from Secrets Manager now, replacing any cached copy."""
        with self._lock:
            self._cache.pop(client_key, None)
        tenant = parse_tenant_record(client_key, self._read(client_key))
        with self._lock:
            self._cache[client_key] = (self._clock(), tenant)
        return tenant

    def forget(self, client_key: str) -> None:
        with self._lock:
            self._cache.pop(client_key, None)

    def save_installation(self, payload: Mapping[str, Any]) -> str:
        """Create or update the secret for an ``installed`` payload; returns the secret name."""
        client_key = str(payload["clientKey"])
        name = self.secret_name(client_key)
        body = json.dumps(dict(payload), separators=(",", ":"), sort_keys=True)
        # Asked first, not inferred from a failed put: a put on a secret scheduled for deletion fails
        # on AWS but succeeds on moto, and would leave the reinstalled tenant's secret to be deleted.
        description = self._description(name)
        if description is None:
            self._create(name, client_key, body)
        else:
            if "DeletedDate" in description:
                # Deletion scheduled by an earlier uninstall: bring the secret back, then update it.
                self._client.restore_secret(SecretId=name)
            self._client.put_secret_value(SecretId=name, SecretString=body)
        self.forget(client_key)
        return name

    def mark_uninstalled(
        self, client_key: str, *, recovery_window_days: int = DEFAULT_RECOVERY_WINDOW_DAYS
    ) -> bool:
        """Record the uninstall and schedule the secret's deletion (restorable during the window).

        Returns False when there is nothing to mark: no record for that clientKey, or its deletion is
        already scheduled (Atlassian repeating an uninstall callback).
        """
        name = self.secret_name(client_key)
        try:
            raw = self._read(client_key)
        except (UnknownTenant, TenantUninstalled):
            self.forget(client_key)
            return False
        # Even a damaged record is marked and scheduled for deletion: the uninstall must take effect.
        record = {"clientKey": client_key, **_json_object(raw), "eventType": UNINSTALLED_EVENT}
        self._client.put_secret_value(
            SecretId=name, SecretString=json.dumps(record, separators=(",", ":"), sort_keys=True)
        )
        self._client.delete_secret(SecretId=name, RecoveryWindowInDays=recovery_window_days)
        self.forget(client_key)
        return True

    def _description(self, name: str) -> Mapping[str, Any] | None:
        try:
            return self._client.describe_secret(SecretId=name)
        except ClientError as e:
            if _error_code(e) == _NOT_FOUND:
                return None
            raise

    def _create(self, name: str, client_key: str, body: str) -> None:
        try:
            self._client.create_secret(
                Name=name,
                SecretString=body,
                Description=f"Atlassian Connect installation of {client_key}",
                Tags=[
                    {"Key": "managed-by", "Value": MANAGED_BY},
                    {"Key": "clientKey", "Value": _tag_value(client_key)},
                ],
            )
        except ClientError as e:
            if _error_code(e) != _EXISTS:
                raise
            # A concurrent callback for the same tenant created it first: this one's payload wins.
            self._client.put_secret_value(SecretId=name, SecretString=body)

    def _read(self, client_key: str) -> str:
        name = self.secret_name(client_key)
        if len(name) > MAX_SECRET_NAME_LENGTH:
            # No secret can have that name, so no tenant has that clientKey: asking would only earn a
            # ValidationException, which is an AWS error and not an answer about the tenant.
            raise UnknownTenant(
                f"no tenant record for that clientKey: its secret name would be {len(name)} characters "
                f"long, over Secrets Manager's {MAX_SECRET_NAME_LENGTH}",
                client_key=client_key,
            )
        try:
            response = self._client.get_secret_value(SecretId=name)
        except ClientError as e:
            code = _error_code(e)
            if code == _NOT_FOUND:
                raise UnknownTenant(
                    f"no tenant record for clientKey {client_key!r} (secret {name!r} does not exist): "
                    "the app is not installed on that Jira site",
                    client_key=client_key,
                ) from e
            if code == _INVALID_REQUEST:
                raise TenantUninstalled(
                    f"tenant {client_key!r} has uninstalled the app (its secret is scheduled for deletion)",
                    client_key=client_key,
                ) from e
            raise
        secret = response.get("SecretString")
        if secret is None:
            raise MalformedTenantRecord(
                f"tenant record for {client_key!r} is binary; a JSON SecretString is expected",
                client_key=client_key,
            )
        return secret


def _json_object(raw: str) -> dict[str, Any]:
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _tag_value(text: str) -> str:
    # Tag values allow letters, digits, spaces and _.:/=+-@ up to 256 characters.
    return "".join(ch if ch.isalnum() or ch in " _.:/=+-@" else "_" for ch in text)[:256]
