"""Tenants (Jira sites) of the emulator: built from the ``POST /__emu/tenants`` body, found by slug,
clientKey or oauthClientId.

A tenant's base URL is the emulator root plus ``/t/<slug>``; that path prefix is its context path, which
the qsh leaves out (as Confluence's ``/wiki``).
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Mapping
from typing import Any

from devstack.jira_emulator.model import (
    APP_BOT_NAMESPACE,
    DEFAULT_ISSUE_TYPES,
    FIRST_ID,
    ISSUE_PERMISSIONS,
    CustomField,
    IssueType,
    Project,
    Tenant,
    User,
)

__all__ = [
    "DEFAULT_PROJECTS",
    "DEFAULT_SCOPES",
    "DEFAULT_USER",
    "TenantError",
    "TenantRegistry",
    "expand_scopes",
]

DEFAULT_SCOPES = ("READ", "WRITE")
DEFAULT_PROJECTS: tuple[Mapping[str, Any], ...] = ({"key": "OPS", "name": "Operations"},)
#: A human user every tenant has (accountId from Atlassian's own examples).
DEFAULT_USER = User("5b10a2844c20165700ede21g", "Mia Krystof")
KNOWN_SCOPES = (
    "NONE",
    "READ",
    "WRITE",
    "DELETE",
    "PROJECT_ADMIN",
    "ADMIN",
    "ACT_AS_USER",
    "ACCESS_EMAIL_ADDRESSES",
)
# Each Connect scope implies the ones below it (scopes-for-connect-apps).
_SCOPE_LADDER = ("READ", "WRITE", "DELETE", "PROJECT_ADMIN", "ADMIN")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,9}$")
_CUSTOM_TYPES = ("string", "textarea", "number", "option", "array", "date", "datetime", "user")
_LIFECYCLE_DEFAULTS = {"installed": "/installed", "uninstalled": "/uninstalled"}


class TenantError(ValueError):
    """The tenant definition is invalid; the message names the field."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def expand_scopes(scopes: Any, where: str = "scopes") -> frozenset[str]:
    """Upper-cased Connect scopes plus the ones each implies (WRITE implies READ, ...)."""
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise TenantError(f"{where} must be an array of strings")
    names = {s.upper() for s in scopes}
    unknown = names - set(KNOWN_SCOPES)
    if unknown:
        raise TenantError(f"{where}: unknown scope(s) {', '.join(sorted(unknown))}")
    for rank, scope in enumerate(_SCOPE_LADDER):
        if scope in names:
            names.update(_SCOPE_LADDER[:rank])
    return frozenset(names)


class TenantRegistry:
    """All tenants, and the counters that give them slugs."""

    def __init__(self) -> None:
        self.by_slug: dict[str, Tenant] = {}
        self.by_client_key: dict[str, Tenant] = {}
        self.by_oauth_client_id: dict[str, Tenant] = {}
        self._counter = 0

    def clear(self) -> None:
        self.__init__()  # type: ignore[misc]

    def install(self, spec: Mapping[str, Any], root_url: str) -> tuple[Tenant, bool]:
        """Create the tenant described by ``spec`` (a POST /__emu/tenants body), or re-install it.

        Returns the tenant and whether it is new. A re-install (same clientKey) keeps the site's projects
        and issues and takes the new secret, app key, scopes, descriptor and app base URL.
        """
        if not isinstance(spec, Mapping):
            raise TenantError("the tenant definition must be a JSON object")
        client_key = _required_string(spec, "clientKey")
        existing = self.by_client_key.get(client_key)
        if existing is not None:
            self._reinstall(existing, spec)
            return existing, False
        tenant = self._build(spec, client_key, root_url)
        self.by_slug[tenant.slug] = tenant
        self.by_client_key[client_key] = tenant
        self.by_oauth_client_id[tenant.oauth_client_id] = tenant
        return tenant, True

    def _next_slug(self, wanted: Any) -> str:
        if wanted is not None:
            if not isinstance(wanted, str) or not _SLUG.match(wanted):
                raise TenantError("slug must match [a-z0-9][a-z0-9-]* (at most 63 characters)")
            if wanted in self.by_slug:
                raise TenantError(f"slug '{wanted}' is taken by another tenant", status=409)
            return wanted
        while True:
            self._counter += 1
            slug = f"site{self._counter}"
            if slug not in self.by_slug:
                return slug

    def _build(self, spec: Mapping[str, Any], client_key: str, root_url: str) -> Tenant:
        descriptor = _descriptor(spec)
        app_key = _app_key(spec, descriptor)
        slug = self._next_slug(spec.get("slug"))
        oauth_client_id = spec.get("oauthClientId") or secrets.token_hex(16)
        if not isinstance(oauth_client_id, str) or oauth_client_id in self.by_oauth_client_id:
            raise TenantError("oauthClientId must be a string not used by another tenant")
        base_url = f"{root_url}/t/{slug}"
        bot = User(
            f"557058:{uuid.uuid5(APP_BOT_NAMESPACE, client_key)}", _app_name(app_key, descriptor), "app"
        )
        users = {DEFAULT_USER.account_id: DEFAULT_USER, bot.account_id: bot, **_users(spec.get("users"))}
        custom_fields = _custom_fields(spec.get("customFields"))
        tenant = Tenant(
            slug=slug,
            client_key=client_key,
            shared_secret=_required_string(spec, "sharedSecret"),
            app_key=app_key,
            base_url=base_url,
            context_path=f"/t/{slug}",
            oauth_client_id=oauth_client_id,
            scopes=_scopes(spec, descriptor),
            bot=bot,
            projects=[],
            users=users,
            custom_fields=custom_fields,
            indexed_properties=_indexed_properties(descriptor),
            display_url=_optional_string(spec, "displayUrl") or base_url,
            app_base_url=_app_base_url(spec, descriptor),
            descriptor=descriptor,
            lifecycle_paths=_lifecycle_paths(descriptor),
        )
        tenant.projects = _projects(spec.get("projects"), tenant)
        return tenant

    def _reinstall(self, tenant: Tenant, spec: Mapping[str, Any]) -> None:
        descriptor = _descriptor(spec) if "descriptor" in spec else tenant.descriptor
        tenant.shared_secret = _required_string(spec, "sharedSecret")
        tenant.app_key = _app_key(spec, descriptor)
        tenant.scopes = _scopes(spec, descriptor)
        tenant.descriptor = descriptor
        tenant.indexed_properties = _indexed_properties(descriptor)
        tenant.lifecycle_paths = _lifecycle_paths(descriptor)
        tenant.app_base_url = _app_base_url(spec, descriptor) or tenant.app_base_url
        tenant.installed = True


def _required_string(spec: Mapping[str, Any], name: str) -> str:
    value = spec.get(name)
    if not isinstance(value, str) or not value:
        raise TenantError(f"{name} is required and must be a non-empty string")
    return value


def _optional_string(spec: Mapping[str, Any], name: str) -> str | None:
    value = spec.get(name)
    if value is not None and not isinstance(value, str):
        raise TenantError(f"{name} must be a string")
    return value


def _descriptor(spec: Mapping[str, Any]) -> Mapping[str, Any] | None:
    descriptor = spec.get("descriptor")
    if descriptor is not None and not isinstance(descriptor, Mapping):
        raise TenantError("descriptor must be the app's Connect descriptor (a JSON object)")
    return descriptor


def _app_key(spec: Mapping[str, Any], descriptor: Mapping[str, Any] | None) -> str:
    key = spec.get("key") or (descriptor or {}).get("key")
    if not isinstance(key, str) or not key:
        raise TenantError("key (the app key from the descriptor, the JWT 'iss') is required")
    return key


def _app_name(app_key: str, descriptor: Mapping[str, Any] | None) -> str:
    name = (descriptor or {}).get("name")
    return name if isinstance(name, str) and name else app_key


def _scopes(spec: Mapping[str, Any], descriptor: Mapping[str, Any] | None) -> frozenset[str]:
    if "scopes" in spec:
        return expand_scopes(spec["scopes"])
    if descriptor is not None and "scopes" in descriptor:
        return expand_scopes(descriptor["scopes"], "descriptor.scopes")
    return expand_scopes(list(DEFAULT_SCOPES))


def _app_base_url(spec: Mapping[str, Any], descriptor: Mapping[str, Any] | None) -> str | None:
    url = _optional_string(spec, "appBaseUrl")
    if url is None:
        return None
    if not re.match(r"^https?://[^/]+", url):
        raise TenantError("appBaseUrl must be an absolute http(s) URL")
    return url.rstrip("/")


def _lifecycle_paths(descriptor: Mapping[str, Any] | None) -> dict[str, str]:
    lifecycle = (descriptor or {}).get("lifecycle") or {}
    paths = dict(_LIFECYCLE_DEFAULTS)
    for event in paths:
        value = lifecycle.get(event) if isinstance(lifecycle, Mapping) else None
        if isinstance(value, str) and value:
            paths[event] = value if value.startswith("/") else "/" + value
    return paths


def _indexed_properties(descriptor: Mapping[str, Any] | None) -> dict[str, frozenset[str]]:
    """``modules.jiraEntityProperties[*].keyConfigurations[*]``: property key -> indexed object paths."""
    modules = (descriptor or {}).get("modules")
    declared = modules.get("jiraEntityProperties") if isinstance(modules, Mapping) else None
    indexed: dict[str, set[str]] = {}
    for module in declared if isinstance(declared, list) else ():
        if not isinstance(module, Mapping) or module.get("entityType", "issue") != "issue":
            continue
        for config in module.get("keyConfigurations") or ():
            key = config.get("propertyKey") if isinstance(config, Mapping) else None
            if not isinstance(key, str):
                continue
            paths = indexed.setdefault(key, set())
            for extraction in config.get("extractions") or ():
                if isinstance(extraction, Mapping) and isinstance(extraction.get("objectName"), str):
                    paths.add(extraction["objectName"])
    return {key: frozenset(paths) for key, paths in indexed.items()}


def _users(raw: Any) -> dict[str, User]:
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise TenantError("users must be an array of {accountId, displayName}")
    users = {}
    for item in raw:
        if not isinstance(item, Mapping) or not isinstance(item.get("accountId"), str):
            raise TenantError("each user needs an accountId string")
        account_id = item["accountId"]
        users[account_id] = User(account_id, str(item.get("displayName") or account_id))
    return users


def _custom_fields(raw: Any) -> dict[str, CustomField]:
    if raw is None:
        return {}
    if not isinstance(raw, list):
        raise TenantError("customFields must be an array")
    fields = {}
    for item in raw:
        if not isinstance(item, Mapping) or not isinstance(item.get("id"), str):
            raise TenantError("each custom field needs an id, e.g. customfield_10050")
        kind = item.get("type", "string")
        if kind not in _CUSTOM_TYPES:
            raise TenantError(f"customFields[{item['id']}].type must be one of {', '.join(_CUSTOM_TYPES)}")
        allowed = tuple(str(v) for v in item.get("allowedValues") or ())
        fields[item["id"]] = CustomField(
            item["id"], str(item.get("name") or item["id"]), kind, bool(item.get("required")), allowed
        )
    return fields


def _projects(raw: Any, tenant: Tenant) -> list[Project]:
    specs = list(DEFAULT_PROJECTS) if raw is None else raw
    if not isinstance(specs, list) or not specs:
        raise TenantError("projects must be a non-empty array of {key, name}")
    type_ids: dict[str, IssueType] = {t.name: t for t in DEFAULT_ISSUE_TYPES}
    projects: list[Project] = []
    for index, spec in enumerate(specs):
        project = _project(spec, index, tenant, type_ids)
        if any(p.key == project.key or p.id == project.id for p in projects):
            raise TenantError(f"projects[{index}]: duplicate key or id {project.key}")
        projects.append(project)
    return projects


def _project(spec: Any, index: int, tenant: Tenant, type_ids: dict[str, IssueType]) -> Project:
    where = f"projects[{index}]"
    if (
        not isinstance(spec, Mapping)
        or not isinstance(spec.get("key"), str)
        or not _PROJECT_KEY.match(spec["key"])
    ):
        raise TenantError(f"{where}.key must be an upper-case project key such as OPS")
    permissions = frozenset(spec.get("permissions") or ISSUE_PERMISSIONS)
    if not permissions <= ISSUE_PERMISSIONS:
        raise TenantError(f"{where}.permissions may only hold {', '.join(sorted(ISSUE_PERMISSIONS))}")
    screen = spec.get("fields")
    if screen is not None and (not isinstance(screen, list) or not all(isinstance(f, str) for f in screen)):
        raise TenantError(f"{where}.fields must be an array of field ids")
    return Project(
        id=str(spec.get("id") or FIRST_ID + index),
        key=spec["key"],
        name=str(spec.get("name") or spec["key"]),
        issue_types=_issue_types(spec.get("issueTypes"), where, type_ids),
        lead=DEFAULT_USER,
        permissions=permissions,
        screen=None if screen is None else frozenset(screen),
        project_type_key=str(spec.get("projectTypeKey") or "software"),
        description=str(spec.get("description") or ""),
    )


def _issue_types(raw: Any, where: str, type_ids: dict[str, IssueType]) -> tuple[IssueType, ...]:
    if raw is None:
        return DEFAULT_ISSUE_TYPES
    if not isinstance(raw, list) or not raw:
        raise TenantError(f"{where}.issueTypes must be a non-empty array of names or {{name, subtask}}")
    types = []
    for item in raw:
        name = item if isinstance(item, str) else item.get("name") if isinstance(item, Mapping) else None
        if not isinstance(name, str) or not name:
            raise TenantError(f"{where}.issueTypes: each entry needs a name")
        if name not in type_ids:
            subtask = bool(item.get("subtask")) if isinstance(item, Mapping) else False
            next_id = str(max(int(t.id) for t in type_ids.values()) + 1)
            type_ids[name] = IssueType(next_id, name, subtask, hierarchy_level=-1 if subtask else 0)
        types.append(type_ids[name])
    return tuple(types)
