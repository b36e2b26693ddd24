"""Plain text -> a minimal Atlassian Document Format (ADF) document, for Jira REST v3 rich-text fields.

v3 accepts only ADF in ``description``, ``environment`` and textarea custom fields; v2 takes plain strings
(../shared/spec/jira-cloud.md §1.2). The conversion:

1. Line endings normalised to ``\\n``.
2. Blank lines separate paragraphs; blank-only text gives a document with no content (valid ADF).
3. Inside a paragraph, each line is a ``text`` node and line breaks are ``hardBreak`` nodes (ADF text nodes
   must not be empty and should not carry newlines).

Inputs are never mutated: :func:`issue_for_api_version` copies only what it changes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = [
    "ADF_VERSION",
    "RICH_TEXT_SYSTEM_FIELDS",
    "is_adf_document",
    "issue_for_api_version",
    "text_to_adf",
]

ADF_VERSION = 1
#: System fields that take ADF in v3. Textarea custom fields do too, but only createmeta can tell which.
RICH_TEXT_SYSTEM_FIELDS = ("description", "environment")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n+")


def text_to_adf(text: str) -> dict[str, Any]:
    """The ADF document for plain ``text``."""
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = [p for p in _PARAGRAPH_BREAK.split(normalised) if p.strip()]
    return {"type": "doc", "version": ADF_VERSION, "content": [_paragraph(p) for p in paragraphs]}


def _paragraph(text: str) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    for line in text.strip("\n").split("\n"):
        if content:
            content.append({"type": "hardBreak"})
        if line:
            content.append({"type": "text", "text": line})
    return {"type": "paragraph", "content": content}


def is_adf_document(value: object) -> bool:
    """True when ``value`` looks like an ADF document root (``type: doc``)."""
    return isinstance(value, Mapping) and value.get("type") == "doc"


def issue_for_api_version(issue: Mapping[str, Any], api_version: int) -> dict[str, Any]:
    """A create-issue body for ``api_version``: on v3, plain-string rich-text system fields become ADF.

    Everything else passes through untouched (Jira's own validation speaks for it). ``issue`` is not
    changed; the result shares unchanged sub-objects with it.
    """
    body = dict(issue)
    fields = issue.get("fields")
    if api_version < 3 or not isinstance(fields, Mapping):
        return body
    if not any(isinstance(fields.get(name), str) for name in RICH_TEXT_SYSTEM_FIELDS):
        return body
    new_fields = dict(fields)
    for name in RICH_TEXT_SYSTEM_FIELDS:
        value = new_fields.get(name)
        if isinstance(value, str):
            new_fields[name] = text_to_adf(value)
    body["fields"] = new_fields
    return body
