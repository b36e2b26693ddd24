"""The failure taxonomy: every error the service can meet, and what to do about it.

The class alone decides the fate of an issue message::

    IssueCreatorError
    ├── PermanentError              never retried: dead-letter now, with the reason
    │   ├── InvalidMessage          not JSON, or breaks the issue message contract
    │   ├── TenantError             (carries the clientKey, never the secret)
    │   │   ├── UnknownTenant       no secret for that clientKey
    │   │   ├── TenantUninstalled   the app was uninstalled from that site
    │   │   └── MalformedTenantRecord
    │   ├── DisallowedBaseUrl       tenant base URL fails the host guard (SSRF)
    │   ├── ActAsUserUnavailable    no oauthClientId, or the grant refused (ACT_AS_USER scope missing)
    │   ├── JiraAuthenticationFailed  401 even after re-reading the tenant secret
    │   ├── InstallVerificationFailed  an incoming lifecycle callback failed signed-install checks (401)
    │   │   └── UnknownInstallKey  the token's ``kid`` names no published install key
    │   └── JiraRejected            Jira answered 4xx: it will answer the same again
    │       ├── JiraBadRequest      400 (Jira's errorMessages and field errors kept intact)
    │       │   └── AnonymousRequest  400 whose every field "cannot be set": Jira ignored our auth
    │       ├── JiraForbidden       403
    │       ├── JiraNotFound        404
    │       └── JiraUnprocessable   422 (a configuration problem in Jira)
    ├── RetryableError              Jira did not act: try again once ``retry_after`` has passed
    │   ├── RateLimited             429 (``rate_limit_reason`` scopes the pause)
    │   ├── JiraUnavailable         503 with Retry-After; on reads also 502, 504, any 5xx with Retry-After
    │   ├── ConnectionFailed        refused or unreachable before anything was sent
    │   └── InstallKeysUnavailable  the install-keys CDN failed: nothing verified, nothing stored (503)
    └── AmbiguousError              the request may have reached Jira: look before re-creating
        ├── ResponseTimeout         sent, then no answer in time
        ├── ConnectionLost          sent, then the connection broke
        └── JiraServerError         a write's 5xx other than 503 with Retry-After (500, 502, 504 ...):
                                    a gateway error does not prove the origin did not commit the write

Adapters translate vendor errors into these with ``raise ... from e``. Messages never contain a secret,
a JWT or an access token.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import ClassVar, Literal

__all__ = [
    "ActAsUserUnavailable",
    "AmbiguousError",
    "AnonymousRequest",
    "ConnectionFailed",
    "ConnectionLost",
    "DisallowedBaseUrl",
    "Fate",
    "InstallKeysUnavailable",
    "InstallVerificationFailed",
    "InvalidMessage",
    "IssueCreatorError",
    "JiraAuthenticationFailed",
    "JiraBadRequest",
    "JiraForbidden",
    "JiraNotFound",
    "JiraRejected",
    "JiraServerError",
    "JiraUnavailable",
    "JiraUnprocessable",
    "MalformedTenantRecord",
    "PermanentError",
    "RateLimited",
    "ResponseTimeout",
    "RetryableError",
    "TenantError",
    "TenantUninstalled",
    "UnknownInstallKey",
    "UnknownTenant",
]

Fate = Literal["permanent", "retryable", "ambiguous"]


class IssueCreatorError(Exception):
    """Base of every error the layer raises on purpose.

    ``status``: Jira's HTTP status, when Jira answered. ``error_messages`` and ``errors``: Jira's
    ErrorCollection, unchanged. ``retry_after``: seconds Jira asked us to wait (None: not said).
    ``rate_limit_reason``: Jira's ``RateLimit-Reason`` header.
    """

    fate: ClassVar[Fate]

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_messages: Sequence[str] = (),
        errors: Mapping[str, str] | None = None,
        retry_after: float | None = None,
        rate_limit_reason: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_messages: tuple[str, ...] = tuple(error_messages)
        self.errors: dict[str, str] = dict(errors or {})
        self.retry_after = retry_after
        self.rate_limit_reason = rate_limit_reason

    @property
    def error_type(self) -> str:
        """The name shown to users (DLQ ``ErrorType`` attribute, API error ``type``)."""
        return type(self).__name__

    def describe(self) -> str:
        """One line for a human: the message, then Jira's own messages and field errors."""
        parts = [self.message]
        parts.extend(self.error_messages)
        parts.extend(f"{field}: {text}" for field, text in self.errors.items())
        return "; ".join(p for p in parts if p)


class PermanentError(IssueCreatorError):
    """Trying again gives the same answer: dead-letter at once, never retry."""

    fate = "permanent"


class InvalidMessage(PermanentError):
    """The issue message is not JSON or breaks the contract."""


class TenantError(PermanentError):
    """A problem with the tenant record. Names the clientKey, never the secret."""

    def __init__(self, message: str, *, client_key: str) -> None:
        super().__init__(message)
        self.client_key = client_key


class UnknownTenant(TenantError):
    """No tenant record for that clientKey: the app was never installed there."""


class TenantUninstalled(TenantError):
    """The app was uninstalled from that Jira site."""


class MalformedTenantRecord(TenantError):
    """The stored tenant record lacks a field or has a wrong type."""


class DisallowedBaseUrl(PermanentError):
    """The tenant's base URL fails the host guard: no signed request is sent there."""


class ActAsUserUnavailable(PermanentError):
    """Acting as a user is impossible for this tenant: its record has no ``oauthClientId``, or the
    authorization server refused the JWT-bearer grant (the app lacks the ACT_AS_USER scope)."""


class JiraAuthenticationFailed(PermanentError):
    """Jira answered 401 to a signed request, and again after the tenant secret was re-read."""


class InstallVerificationFailed(PermanentError):
    """A lifecycle callback failed signed-install verification: answer 401, store nothing.

    ``check`` names the failed check (``"alg"``, ``"aud"``, ``"qsh"``, ...); the message says what was
    expected and never contains the token or a secret.
    """

    def __init__(self, message: str, *, check: str) -> None:
        super().__init__(message)
        self.check = check


class UnknownInstallKey(InstallVerificationFailed):
    """The token's ``kid`` names no key that the install-keys CDN publishes."""

    def __init__(self, message: str) -> None:
        super().__init__(message, check="kid")


class JiraRejected(PermanentError):
    """Jira answered a 4xx that it will repeat for the same request."""


class JiraBadRequest(JiraRejected):
    """400: missing or invalid fields; ``errors`` holds Jira's field errors."""


class AnonymousRequest(JiraBadRequest):
    """A 400 whose every field "cannot be set": Jira treated the request as anonymous."""


class JiraForbidden(JiraRejected):
    """403: the app lacks a Connect scope or the app user lacks a permission."""


class JiraNotFound(JiraRejected):
    """404: the project, issue or resource does not exist or is not visible to the app."""


class JiraUnprocessable(JiraRejected):
    """422: a configuration problem in Jira prevents the operation."""


class RetryableError(IssueCreatorError):
    """Jira did not act on the request: safe to send again once ``retry_after`` has passed."""

    fate = "retryable"


class RateLimited(RetryableError):
    """429. ``rate_limit_reason`` says what to pause: the tenant, the endpoint or one issue."""


class JiraUnavailable(RetryableError):
    """503 with Retry-After (Jira turned the request away), or a 502/504/5xx-with-Retry-After on a read."""


class ConnectionFailed(RetryableError):
    """The connection could not be made, so nothing was sent."""


class InstallKeysUnavailable(RetryableError):
    """The install-keys CDN failed or timed out, so a lifecycle callback could not be verified (yet)."""


class AmbiguousError(IssueCreatorError):
    """The request may have reached Jira: search before creating again, never re-POST blindly."""

    fate = "ambiguous"


class ResponseTimeout(AmbiguousError):
    """The request was sent and no answer came in time."""


class ConnectionLost(AmbiguousError):
    """The request was sent and the connection broke before the answer."""


class JiraServerError(AmbiguousError):
    """A 5xx that Jira gave no Retry-After for, on a request that may have been processed."""
