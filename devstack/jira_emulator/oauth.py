"""The OAuth 2.0 JWT-bearer grant a Connect app uses to act as a user (connect-jwt.md §4).

``POST /oauth2/token`` with ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`` and an HS256
``assertion`` signed with the tenant's shared secret:

1. ``iss`` = ``urn:atlassian:connect:clientid:<oauthClientId>`` finds the tenant;
2. the signature verifies with that tenant's shared secret;
3. ``sub`` = ``urn:atlassian:connect:useraccountid:<accountId>``;
4. ``tnt`` = the tenant's base URL; ``aud`` = this emulator's root URL or Atlassian's authorization server;
5. ``exp``/``iat`` valid and ``exp - iat`` at most 120 s;
6. the app has the ACT_AS_USER scope.
Success issues an opaque access token valid for ``expires_in`` seconds of the emulator clock.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from devstack.jira_emulator.auth import AccessToken, AuthFailure, check_times, decode_hs256, verify_signature
from devstack.jira_emulator.config import OAuthConfig
from devstack.jira_emulator.model import Tenant, User
from devstack.jira_emulator.replies import JiraError, Reply, json_reply
from devstack.jira_emulator.tenants import TenantError, TenantRegistry, expand_scopes

__all__ = ["ATLASSIAN_AUTHORIZATION_SERVER", "GRANT_TYPE", "OAuthError", "issue_access_token"]

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ATLASSIAN_AUTHORIZATION_SERVER = "https://oauth-2-authorization-server.services.atlassian.com"
ISSUER_PREFIX = "urn:atlassian:connect:clientid:"
SUBJECT_PREFIX = "urn:atlassian:connect:useraccountid:"
UNAUTHORIZED_CLIENT = "The authenticated client is not authorized to use this authorization grant type"


class OAuthError(JiraError):
    """An RFC 6749 error answer: ``{"error": ..., "error_description": ...}``."""

    def __init__(self, status: int, error: str, description: str) -> None:
        body = json_reply(status, {"error": error, "error_description": description}).body
        super().__init__(status, body=body, reason=description)
        self.error = error


def issue_access_token(
    form: Mapping[str, str],
    *,
    tenants: TenantRegistry,
    tokens: dict[str, AccessToken],
    audiences: tuple[str, ...],
    config: OAuthConfig,
    now: float,
) -> tuple[Tenant, Reply]:
    """Check the grant in ``form``; store and return a new access token (raises :class:`OAuthError`)."""
    if form.get("grant_type") != GRANT_TYPE:
        raise OAuthError(400, "unsupported_grant_type", f"grant_type must be {GRANT_TYPE}")
    assertion = form.get("assertion") or ""
    try:
        _, claims, signing_input, signature = decode_hs256(assertion)
    except AuthFailure as failure:
        raise OAuthError(400, "invalid_grant", str(failure)) from None
    tenant = _tenant(claims, tenants)
    try:
        verify_signature(signing_input, signature, tenant.shared_secret)
    except AuthFailure as failure:
        raise OAuthError(401, "invalid_grant", str(failure)) from None
    user = _check_claims(claims, tenant, audiences, config, now)
    if "ACT_AS_USER" not in tenant.scopes:
        raise OAuthError(400, "unauthorized_client", UNAUTHORIZED_CLIENT)
    scopes = _granted_scopes(form.get("scope"), tenant)
    token = secrets.token_urlsafe(32)
    tenant.users.setdefault(user.account_id, user)
    tokens[token] = AccessToken(
        tenant, tenant.users[user.account_id], scopes, now + config.token_lifetime_seconds
    )
    body: dict[str, Any] = {
        "access_token": token,
        "expires_in": config.token_lifetime_seconds,
        "token_type": "Bearer",
        "scope": " ".join(sorted(scopes)),
    }
    return tenant, json_reply(200, body)


def _tenant(claims: Mapping[str, Any], tenants: TenantRegistry) -> Tenant:
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer.startswith(ISSUER_PREFIX):
        raise OAuthError(400, "invalid_grant", f"iss must be {ISSUER_PREFIX}<oauthClientId>")
    tenant = tenants.by_oauth_client_id.get(issuer[len(ISSUER_PREFIX) :])
    if tenant is None or not tenant.installed:
        raise OAuthError(401, "invalid_grant", "no installed app has this oauthClientId")
    return tenant


def _check_claims(
    claims: Mapping[str, Any], tenant: Tenant, audiences: tuple[str, ...], config: OAuthConfig, now: float
) -> User:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.startswith(SUBJECT_PREFIX) or subject == SUBJECT_PREFIX:
        raise OAuthError(400, "invalid_grant", f"sub must be {SUBJECT_PREFIX}<accountId>")
    if str(claims.get("tnt", "")).rstrip("/") != tenant.base_url:
        raise OAuthError(400, "invalid_grant", "tnt must be the base URL of the site the app is installed on")
    audience = claims.get("aud")
    wanted = audience if isinstance(audience, list) else [audience]
    if not any(isinstance(a, str) and a.rstrip("/") in audiences for a in wanted):
        raise OAuthError(400, "invalid_grant", f"aud must be one of {', '.join(audiences)}")
    try:
        check_times(claims, 0, now)
    except AuthFailure as failure:
        raise OAuthError(400, "invalid_grant", str(failure)) from None
    if claims["exp"] - claims["iat"] > config.max_assertion_lifetime_seconds:
        raise OAuthError(
            400,
            "invalid_grant",
            f"assertion lifetime exceeds {config.max_assertion_lifetime_seconds} seconds",
        )
    account_id = subject[len(SUBJECT_PREFIX) :]
    return tenant.users.get(account_id) or User(account_id, account_id)


def _granted_scopes(requested: str | None, tenant: Tenant) -> frozenset[str]:
    if not requested:
        return tenant.scopes
    try:
        wanted = expand_scopes(requested.split())
    except TenantError as error:
        raise OAuthError(400, "invalid_scope", str(error)) from None
    if not wanted <= tenant.scopes:
        raise OAuthError(
            400, "invalid_scope", "the app was not granted: " + " ".join(sorted(wanted - tenant.scopes))
        )
    return wanted
