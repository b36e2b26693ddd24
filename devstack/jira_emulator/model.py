"""What a tenant (one Jira Cloud site) holds: projects, issue types, users, fields and issues (spec E0).

IDs follow Jira: project and issue ids are numeric strings from "10000", issue ids monotonic per tenant,
issue keys ``<PROJECT>-<n>`` with a per-project counter from 1 that is never reused.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "APP_BOT_NAMESPACE",
    "DEFAULT_ISSUE_TYPES",
    "DEFAULT_PRIORITIES",
    "FIRST_ID",
    "ISSUE_PERMISSIONS",
    "CustomField",
    "IndexedView",
    "Issue",
    "IssueType",
    "Principal",
    "Priority",
    "Project",
    "Tenant",
    "User",
]

FIRST_ID = 10000
ISSUE_PERMISSIONS = frozenset({"BROWSE", "CREATE_ISSUES", "EDIT_ISSUES"})
APP_BOT_NAMESPACE = uuid.UUID("6f1c2b7e-3c1a-4f55-9d65-0e5b8a1f2c11")


@dataclass(frozen=True, slots=True)
class IssueType:
    id: str
    name: str
    subtask: bool = False
    description: str = ""
    hierarchy_level: int = 0


#: Default issue types of every project: Task, Bug, Story, Epic, Subtask.
DEFAULT_ISSUE_TYPES = (
    IssueType("10001", "Task", description="A small, distinct piece of work."),
    IssueType("10002", "Bug", description="A problem or error."),
    IssueType("10003", "Story", description="A user story."),
    IssueType("10000", "Epic", description="A collection of related work.", hierarchy_level=1),
    IssueType(
        "10005", "Subtask", subtask=True, description="A small piece of a larger task.", hierarchy_level=-1
    ),
)


@dataclass(frozen=True, slots=True)
class Priority:
    id: str
    name: str


DEFAULT_PRIORITIES = (
    Priority("1", "Highest"),
    Priority("2", "High"),
    Priority("3", "Medium"),
    Priority("4", "Low"),
    Priority("5", "Lowest"),
)


@dataclass(frozen=True, slots=True)
class User:
    account_id: str
    display_name: str
    account_type: Literal["atlassian", "app"] = "atlassian"


@dataclass(frozen=True, slots=True)
class CustomField:
    """A custom field on every create screen of the tenant.

    ``type``: ``string`` (single line), ``textarea`` (ADF in v3), ``number``, ``option`` (``{value}`` or
    ``{id}`` from ``allowed_values``), ``array`` (of strings), ``date`` (YYYY-MM-DD), ``datetime``, ``user``.
    """

    id: str
    name: str
    type: Literal["string", "textarea", "number", "option", "array", "date", "datetime", "user"]
    required: bool = False
    allowed_values: tuple[str, ...] = ()


@dataclass(slots=True)
class Project:
    id: str
    key: str
    name: str
    issue_types: tuple[IssueType, ...]
    lead: User
    #: What the app bot user (and an acting user) may do here: BROWSE, CREATE_ISSUES, EDIT_ISSUES.
    permissions: frozenset[str] = ISSUE_PERMISSIONS
    #: Field ids on the create screen of every issue type; None: the standard screen.
    screen: frozenset[str] | None = None
    project_type_key: str = "software"
    description: str = ""
    next_number: int = 1
    issue_count: int = 0

    def issue_type(self, ref: Mapping[str, Any]) -> IssueType | None:
        """The type named by ``{"id": ...}`` or ``{"name": ...}``, if it is in this project's scheme."""
        if "id" in ref:
            return next((t for t in self.issue_types if t.id == str(ref["id"])), None)
        if "name" in ref:
            return next((t for t in self.issue_types if t.name == ref["name"]), None)
        return None


@dataclass(frozen=True, slots=True)
class IndexedView:
    """What search sees of an issue from ``visible_from`` on (index lag)."""

    visible_from: float
    labels: tuple[str, ...]
    properties: Mapping[str, Any]


@dataclass(slots=True)
class Issue:
    id: str
    key: str
    project: Project
    issue_type: IssueType
    fields: dict[str, Any]
    properties: dict[str, Any]
    created: float
    index: list[IndexedView] = field(default_factory=list)

    def reindex(self, visible_from: float) -> None:
        """Record the current state for search; older states stay visible until this one is."""
        view = IndexedView(visible_from, tuple(self.fields.get("labels") or ()), dict(self.properties))
        # Versions already superseded by a visible one can never be seen again.
        while len(self.index) > 1 and self.index[1].visible_from <= visible_from:
            self.index.pop(0)
        self.index.append(view)

    def current_view(self, now: float) -> IndexedView:
        """The state as committed, ignoring index lag (what ``reconcileIssues`` sees)."""
        return IndexedView(now, tuple(self.fields.get("labels") or ()), self.properties)

    def view_at(self, now: float) -> IndexedView | None:
        """The newest indexed state visible at ``now``, or None while the issue is not yet indexed."""
        for view in reversed(self.index):
            if view.visible_from <= now:
                return view
        return None


@dataclass(slots=True)
class Tenant:
    slug: str
    client_key: str
    shared_secret: str
    app_key: str
    base_url: str
    context_path: str
    oauth_client_id: str
    scopes: frozenset[str]
    bot: User
    projects: list[Project]
    users: dict[str, User]
    custom_fields: dict[str, CustomField]
    #: Indexed entity properties from the descriptor: property key -> extraction object paths.
    indexed_properties: dict[str, frozenset[str]]
    display_url: str
    app_base_url: str | None = None
    descriptor: Mapping[str, Any] | None = None
    lifecycle_paths: dict[str, str] = field(default_factory=dict)
    installed: bool = True
    issues: dict[str, Issue] = field(default_factory=dict)
    issues_by_key: dict[str, Issue] = field(default_factory=dict)
    next_issue_id: int = FIRST_ID
    issues_created: int = 0
    #: Create screens by (project id, issue type id), filled by ``fields.screen_fields``.
    screen_cache: dict[tuple[str, str], Any] = field(default_factory=dict)

    def project(self, id_or_key: str) -> Project | None:
        """Numeric values are tried as an id first; keys are case-sensitive (spec E5)."""
        if id_or_key.isdigit():
            found = next((p for p in self.projects if p.id == id_or_key), None)
            if found is not None:
                return found
        return next((p for p in self.projects if p.key == id_or_key), None)

    def issue(self, id_or_key: str) -> Issue | None:
        if id_or_key.isdigit():
            return self.issues.get(id_or_key)
        return self.issues_by_key.get(id_or_key) or self.issues_by_key.get(id_or_key.upper())

    def add_issue(
        self,
        project: Project,
        issue_type: IssueType,
        fields: dict[str, Any],
        properties: dict[str, Any],
        *,
        now: float,
        visible_from: float,
    ) -> Issue:
        """Commit a validated issue with its properties in one step (they are atomic in Jira)."""
        issue_id = str(self.next_issue_id)
        self.next_issue_id += 1
        key = f"{project.key}-{project.next_number}"
        project.next_number += 1
        project.issue_count += 1
        issue = Issue(issue_id, key, project, issue_type, fields, properties, now)
        issue.reindex(visible_from)
        self.issues[issue_id] = issue
        self.issues_by_key[key] = issue
        self.issues_created += 1
        return issue

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request runs as: anonymous, the app's bot user (Connect JWT) or a user (OAuth access token)."""

    kind: Literal["anonymous", "app", "user"]
    tenant: Tenant | None = None
    user: User | None = None
    scopes: frozenset[str] = frozenset()

    @property
    def authenticated(self) -> bool:
        return self.kind != "anonymous"

    def can(self, project: Project, permission: str) -> bool:
        return self.authenticated and permission in project.permissions
