"""The tenant: one Jira site that installed the app, as its Connect ``installed`` payload describes it.

The record is stored as one Secrets Manager secret per tenant, named
``prefix + secret_name_suffix(clientKey)``.
The encoding keeps ``[A-Za-z0-9/+=.@-]`` and writes every other character (``_`` included) as ``_``
followed by the upper-case hex of each of its UTF-8 bytes: ``jira:ab_c`` -> ``jira_3Aab_5Fc``. Because
``_`` always starts an escape, the encoding is injective, and every output is a valid secret name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jira_connect.errors import MalformedTenantRecord, TenantUninstalled

__all__ = ["Tenant", "parse_tenant_record", "secret_name_suffix", "tenant_secret_name"]

_KEPT = re.compile(r"[A-Za-z0-9/+=.@-]")
ESCAPE = "_"
#: Fields a usable record must have, all non-empty strings.
REQUIRED_FIELDS = ("key", "clientKey", "sharedSecret", "baseUrl")
#: Marks a record whose app was uninstalled (written by the lifecycle function).
UNINSTALLED_EVENT = "uninstalled"


def secret_name_suffix(client_key: str) -> str:
    """The injective, secret-name-safe encoding of a clientKey."""
    return "".join(
        ch if _KEPT.fullmatch(ch) else "".join(f"{ESCAPE}{b:02X}" for b in ch.encode("utf-8"))
        for ch in client_key
    )


def tenant_secret_name(prefix: str, client_key: str) -> str:
    """The Secrets Manager name of a tenant's record."""
    return prefix + secret_name_suffix(client_key)


@dataclass(frozen=True)
class Tenant:
    """What signing and addressing a tenant's Jira needs. ``repr`` never shows the shared secret."""

    client_key: str
    app_key: str
    shared_secret: str = field(repr=False)
    base_url: str
    oauth_client_id: str | None = None
    product_type: str = "jira"
    record: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)


def parse_tenant_record(client_key: str, raw: str | bytes | Mapping[str, Any]) -> Tenant:
    """A :class:`Tenant` from the stored ``installed`` payload.

    Raises :class:`MalformedTenantRecord` when a field is missing or of the wrong type, and
    :class:`TenantUninstalled` when the record says the app was uninstalled. Error messages name the
    clientKey and the field, never a value.
    """
    record = _as_mapping(client_key, raw)
    if record.get("eventType") == UNINSTALLED_EVENT or record.get("uninstalled") is True:
        raise TenantUninstalled(
            f"tenant {client_key!r} has uninstalled the app; reinstall it in Jira to resume",
            client_key=client_key,
        )
    for name in REQUIRED_FIELDS:
        value = record.get(name)
        if not isinstance(value, str) or not value:
            raise MalformedTenantRecord(
                f"tenant record for {client_key!r} has no usable {name!r} (a non-empty string is required)",
                client_key=client_key,
            )
    if record["clientKey"] != client_key:
        raise MalformedTenantRecord(
            f"tenant record stored for {client_key!r} belongs to another clientKey", client_key=client_key
        )
    oauth_client_id = record.get("oauthClientId")
    return Tenant(
        client_key=client_key,
        app_key=record["key"],
        shared_secret=record["sharedSecret"],
        base_url=record["baseUrl"].rstrip("/"),
        oauth_client_id=oauth_client_id if isinstance(oauth_client_id, str) and oauth_client_id else None,
        product_type=str(record.get("productType") or "jira"),
        record=record,
    )


def _as_mapping(client_key: str, raw: str | bytes | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(raw, Mapping):
        return raw
    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise MalformedTenantRecord(
            f"tenant record for {client_key!r} is not JSON", client_key=client_key
        ) from e
    if not isinstance(parsed, dict):
        raise MalformedTenantRecord(
            f"tenant record for {client_key!r} is not a JSON object", client_key=client_key
        )
    return parsed
