"""The Jira routes: one table of (name, method, template, handler, scope), under both API versions.

Templates are relative to a tenant's base URL; ``{v}`` is 2 or 3. Names are what faults and the README
use. Order matters: fixed segments (``issue/bulk``, ``project/search``) come before ``{...}`` ones.
"""

from __future__ import annotations

from devstack.jira_emulator.pipeline import RouteSpec
from devstack.jira_emulator.routes.createmeta import createmeta, createmeta_fields, createmeta_issue_types
from devstack.jira_emulator.routes.issues import bulk_create, create_issue, get_issue
from devstack.jira_emulator.routes.misc import myself, server_info
from devstack.jira_emulator.routes.projects import get_project, list_projects, search_projects
from devstack.jira_emulator.routes.properties import get_property, list_properties, put_property
from devstack.jira_emulator.routes.search import legacy_search, search_jql

__all__ = ["OAUTH_TOKEN", "TENANT_ROUTES"]

_API = "/rest/api/{v}"
_ISSUE = _API + "/issue/{issueIdOrKey}"
_CREATEMETA = ("createmeta",)
_SEARCH = ("search",)

TENANT_ROUTES: tuple[RouteSpec, ...] = (
    RouteSpec("create_issue", "POST", _API + "/issue", create_issue, "WRITE"),
    RouteSpec("bulk_create", "POST", _API + "/issue/bulk", bulk_create, "WRITE"),
    RouteSpec("createmeta", "GET", _API + "/issue/createmeta", createmeta, "READ"),
    RouteSpec(
        "createmeta_issuetypes",
        "GET",
        _API + "/issue/createmeta/{projectIdOrKey}/issuetypes",
        createmeta_issue_types,
        "READ",
        groups=_CREATEMETA,
    ),
    RouteSpec(
        "createmeta_fields",
        "GET",
        _API + "/issue/createmeta/{projectIdOrKey}/issuetypes/{issueTypeId}",
        createmeta_fields,
        "READ",
        groups=_CREATEMETA,
    ),
    RouteSpec("get_issue", "GET", _ISSUE, get_issue, "READ"),
    RouteSpec(
        "property_list", "GET", _ISSUE + "/properties", list_properties, "READ", groups=("properties",)
    ),
    RouteSpec(
        "property_get",
        "GET",
        _ISSUE + "/properties/{propertyKey}",
        get_property,
        "READ",
        groups=("properties",),
    ),
    RouteSpec(
        "property_put",
        "PUT",
        _ISSUE + "/properties/{propertyKey}",
        put_property,
        "WRITE",
        issue_param="issueIdOrKey",
        groups=("properties",),
    ),
    RouteSpec("project_list", "GET", _API + "/project", list_projects, "READ", groups=("projects",)),
    RouteSpec(
        "project_search", "GET", _API + "/project/search", search_projects, "READ", groups=("projects",)
    ),
    RouteSpec(
        "get_project", "GET", _API + "/project/{projectIdOrKey}", get_project, "READ", groups=("projects",)
    ),
    RouteSpec("search", "GET", _API + "/search/jql", search_jql, "READ", groups=_SEARCH),
    RouteSpec("search", "POST", _API + "/search/jql", search_jql, "READ", groups=_SEARCH),
    RouteSpec("legacy_search", "GET", _API + "/search", legacy_search, "READ"),
    RouteSpec("legacy_search", "POST", _API + "/search", legacy_search, "READ"),
    RouteSpec("server_info", "GET", _API + "/serverInfo", server_info),
    RouteSpec("myself", "GET", _API + "/myself", myself, "READ"),
)

#: At the emulator root, not under a tenant; handled by ``routes.oauth``.
OAUTH_TOKEN = RouteSpec("oauth_token", "POST", "/oauth2/token")
