"""jira_connect: the shared layer of the Jira issue creator for Atlassian Connect apps.

Pure core (no AWS SDK, no HTTP): ``qsh`` (query string hash), ``token`` (Connect JWTs), ``diagnosis``
(what is wrong with a token), ``errors`` (the failure taxonomy), ``tenant``, ``host_guard``, ``settings``,
``retry_policy`` (Atlassian's retry algorithm), ``adf`` and ``jira_answers`` (Jira's answers -> errors).
Adapters wrap one external system each: ``tenant_store`` (Secrets Manager), ``jira_client`` (Jira's REST
API), ``user_tokens`` (the OAuth 2.0 authorization server).
"""

__version__ = "0.1.0"
