"""Signed ``installed``/``uninstalled`` lifecycle requests, as Atlassian sends them (connect-jwt.md §5).

The emulator does not call the app: it returns the request (method, path, url, headers, body) for the
caller to deliver to its lifecycle function. The token is RS256 with a ``kid`` header; the public key is
served at ``/__emu/install-keys/<kid>`` (Atlassian's is at https://connect-install-keys.atlassian.com/<kid>).
Claims: ``iss`` = clientKey, ``aud`` = the app's base URL, ``qsh`` of the POST relative to that base URL,
``sub``, ``iat``, ``exp``.
"""

from __future__ import annotations

import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from devstack.jira_emulator.config import InstallConfig
from devstack.jira_emulator.model import Tenant
from jira_connect.qsh import query_string_hash

__all__ = ["InstallSigner"]

RSA_KEY_BITS = 2048
RSA_PUBLIC_EXPONENT = 65537


class InstallSigner:
    """One RSA key pair made at start-up, named by a random ``kid``."""

    def __init__(self) -> None:
        self._private_key = rsa.generate_private_key(
            public_exponent=RSA_PUBLIC_EXPONENT, key_size=RSA_KEY_BITS
        )
        self.kid = str(uuid.uuid4())
        self.public_pem = (
            self._private_key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode("ascii")
        )

    def public_key(self, kid: str) -> str | None:
        return self.public_pem if kid == self.kid else None

    def lifecycle_request(
        self, tenant: Tenant, event: str, config: InstallConfig, now: float
    ) -> dict[str, Any]:
        """The signed POST of ``event`` ("installed" or "uninstalled") to the tenant's app base URL."""
        if tenant.app_base_url is None:
            raise ValueError("the tenant has no appBaseUrl")
        path = tenant.lifecycle_paths[event]
        url = tenant.app_base_url + path
        issued_at = int(now)
        claims = {
            "iss": tenant.client_key,
            "aud": [tenant.app_base_url] if config.aud_as_list else tenant.app_base_url,
            "sub": _admin(tenant),
            "qsh": query_string_hash("POST", url, tenant.app_base_url),
            "iat": issued_at,
            "exp": issued_at + config.token_lifetime_seconds,
        }
        token = jwt.encode(claims, self._private_key, algorithm="RS256", headers={"kid": self.kid})
        return {
            "method": "POST",
            "path": path,
            "url": url,
            "headers": {"Authorization": f"JWT {token}", "Content-Type": "application/json"},
            "body": lifecycle_payload(tenant, event, config),
        }


def lifecycle_payload(tenant: Tenant, event: str, config: InstallConfig) -> dict[str, Any]:
    """The lifecycle body: the installed payload apps store as their tenant record."""
    return {
        "key": tenant.app_key,
        "clientKey": tenant.client_key,
        "sharedSecret": tenant.shared_secret,
        "baseUrl": tenant.base_url,
        "displayUrl": tenant.display_url,
        "productType": "jira",
        "description": f"Atlassian JIRA at {tenant.display_url}",
        "eventType": event,
        "serverVersion": config.server_version,
        "pluginsVersion": config.plugins_version,
        "oauthClientId": tenant.oauth_client_id,
    }


def _admin(tenant: Tenant) -> str:
    # The installing administrator: the tenant's first human user.
    return next(u.account_id for u in tenant.users.values() if u.account_type == "atlassian")
