"""The Atlassian Connect app descriptor (``GET /atlassian-connect.json``), built from configuration.

Atlassian reads it on install: it names the app (``key``, which is also the ``iss`` of every JWT the app
signs), where the app lives (``baseUrl``: the ``aud`` of signed lifecycle callbacks and the root their qsh
is relative to), the lifecycle callbacks, the scopes, the API migrations the app opts into
(``signed-install``: lifecycle callbacks are signed with RS256; ``context-qsh``; ``gdpr``) and a
``jiraEntityProperties`` module that makes the issue worker's idempotency property searchable.
"""

from __future__ import annotations

from typing import Any

from jira_connect.idempotency_property import (
    IDEMPOTENCY_PROPERTY_ALIAS,
    IDEMPOTENCY_PROPERTY_KEY,
    IDEMPOTENCY_PROPERTY_PATH,
)

__all__ = [
    "DEFAULT_APP_DESCRIPTION",
    "DEFAULT_APP_NAME",
    "DESCRIPTOR_PATH",
    "INSTALLED_PATH",
    "SCOPES",
    "UNINSTALLED_PATH",
    "app_descriptor",
]

DESCRIPTOR_PATH = "/atlassian-connect.json"
INSTALLED_PATH = "/installed"
UNINSTALLED_PATH = "/uninstalled"
DEFAULT_APP_NAME = "Jira Issue Creator"
DEFAULT_APP_DESCRIPTION = "Creates Jira issues from messages sent by other systems (SQS or HTTP)."
#: ACT_AS_USER lets the worker create an issue as a given user (OAuth 2.0 JWT bearer grant).
SCOPES = ("READ", "WRITE", "ACT_AS_USER")
API_MIGRATIONS = {"signed-install": True, "context-qsh": True, "gdpr": True}
ENTITY_PROPERTY_MODULE_KEY = "issue-creator-idempotency"


def app_descriptor(
    *,
    app_key: str,
    base_url: str,
    name: str = DEFAULT_APP_NAME,
    description: str = DEFAULT_APP_DESCRIPTION,
) -> dict[str, Any]:
    """The descriptor document. ``base_url`` is the deployed API's URL (``APP_BASE_URL``)."""
    if not app_key:
        raise ValueError("app_key is required: it is the descriptor's 'key'")
    if not base_url:
        raise ValueError("base_url is required: it is the descriptor's 'baseUrl'")
    return {
        "key": app_key,
        "name": name,
        "description": description,
        "baseUrl": base_url.rstrip("/"),
        "authentication": {"type": "jwt"},
        "lifecycle": {"installed": INSTALLED_PATH, "uninstalled": UNINSTALLED_PATH},
        "scopes": list(SCOPES),
        "apiMigrations": dict(API_MIGRATIONS),
        "modules": {"jiraEntityProperties": [_idempotency_index()]},
    }


def _idempotency_index() -> dict[str, Any]:
    return {
        "key": ENTITY_PROPERTY_MODULE_KEY,
        "name": {"value": "Issue creator idempotency key"},
        "entityType": "issue",
        "keyConfigurations": [
            {
                "propertyKey": IDEMPOTENCY_PROPERTY_KEY,
                "extractions": [
                    {
                        "objectName": IDEMPOTENCY_PROPERTY_PATH,
                        # "string" is indexed for exact match, which is what a key lookup needs.
                        "type": "string",
                        "alias": IDEMPOTENCY_PROPERTY_ALIAS,
                    }
                ],
            }
        ],
    }
