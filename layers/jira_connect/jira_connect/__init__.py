"""jira_connect: the shared layer of the Jira issue creator for Atlassian Connect apps.

Pure core (no AWS SDK): ``qsh`` (query string hash), ``token`` (Connect JWTs), ``diagnosis``
(what is wrong with a token), ``errors`` (the failure taxonomy). Adapters wrap one external system each.
"""

__version__ = "0.1.0"
