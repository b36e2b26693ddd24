"""The JQL subset of spec E7: ``project``, ``labels``, ``key`` and ``issue.property[<key>].<path>``
compared with ``=`` (or ``in (...)``), joined by ``AND``, optionally followed by ``ORDER BY``.

A property clause matches only when the app's descriptor indexes that property path
(``jiraEntityProperties``); otherwise it matches nothing, without an error, as in Jira. Array values
match when any element matches.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from devstack.jira_emulator.model import IndexedView, Issue, Tenant

__all__ = ["JqlError", "Query", "parse_jql"]

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<prop>issue\.property\[(?P<pkey>[^\]]+)\]\.(?P<path>[A-Za-z0-9_$.-]+))
    | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<op>!=|=|\(|\)|,)
    | (?P<word>[^\s=(),"'!]+)
    )""",
    re.VERBOSE | re.IGNORECASE,
)
_FIELDS = {"project": "project", "labels": "labels", "key": "key", "issuekey": "key", "id": "key"}
_ORDER_FIELDS = ("key", "created", "id", "issuekey")


class JqlError(ValueError):
    """The query cannot run; the message is Jira's wording where known."""


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    prop_key: str = ""
    prop_path: str = ""


@dataclass(frozen=True, slots=True)
class _Clause:
    test: Callable[[Issue, IndexedView], bool]


@dataclass(frozen=True, slots=True)
class Query:
    clauses: tuple[_Clause, ...]
    order: tuple[tuple[str, bool], ...]

    def matches(self, issue: Issue, view: IndexedView) -> bool:
        return all(clause.test(issue, view) for clause in self.clauses)

    def sort(self, issues: list[Issue]) -> list[Issue]:
        ordered = sorted(issues, key=lambda i: int(i.id), reverse=True)  # default: newest first
        for name, descending in reversed(self.order):
            ordered.sort(key=_ORDER_KEYS[name], reverse=descending)
        return ordered


def parse_jql(text: str, tenant: Tenant) -> Query:
    """Compile ``text`` for ``tenant``; raise :class:`JqlError` for anything outside the subset."""
    tokens = _tokenize(text)
    clauses: list[_Clause] = []
    position = 0
    while position < len(tokens) and not _is_word(tokens[position], "order"):
        if clauses:
            if not _is_word(tokens[position], "and"):
                raise JqlError(f"Error in the JQL Query: expected AND but got '{tokens[position].text}'.")
            position += 1
        clause, position = _clause(tokens, position, tenant)
        clauses.append(clause)
    order = _order_by(tokens, position)
    return Query(tuple(clauses), order)


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise JqlError(
                f"Error in the JQL Query: the character '{text[position]}' is a reserved JQL character."
            )
        position = match.end()
        if match.group("prop"):
            tokens.append(_Token("prop", match.group("prop"), match.group("pkey"), match.group("path")))
        elif match.group("str"):
            tokens.append(_Token("value", _unquote(match.group("str"))))
        elif match.group("op"):
            tokens.append(_Token("op", match.group("op")))
        else:
            tokens.append(_Token("word", match.group("word")))
    return tokens


def _unquote(quoted: str) -> str:
    return re.sub(r"\\(.)", r"\1", quoted[1:-1])


def _is_word(token: _Token, word: str) -> bool:
    return token.kind == "word" and token.text.lower() == word


def _clause(tokens: Sequence[_Token], position: int, tenant: Tenant) -> tuple[_Clause, int]:
    field = tokens[position]
    values, position = _operator_and_values(tokens, position + 1)
    if field.kind == "prop":
        return _property_clause(field, values, tenant), position
    name = _FIELDS.get(field.text.lower()) if field.kind == "word" else None
    if name is None:
        raise JqlError(f"Field '{field.text}' does not exist or you do not have permission to view it.")
    if name == "project":
        return _project_clause(values, tenant), position
    if name == "labels":
        wanted = set(values)
        return _Clause(lambda issue, view: bool(wanted.intersection(view.labels))), position
    return _key_clause(values, tenant), position


def _operator_and_values(tokens: Sequence[_Token], position: int) -> tuple[list[str], int]:
    if position >= len(tokens):
        raise JqlError("Error in the JQL Query: expecting an operator.")
    operator = tokens[position]
    if operator.kind == "op" and operator.text == "=":
        return [_value(tokens, position + 1)], position + 2
    if _is_word(operator, "in"):
        return _value_list(tokens, position + 1)
    raise JqlError(
        f"Error in the JQL Query: the operator '{operator.text}' is not supported by this emulator."
    )


def _value(tokens: Sequence[_Token], position: int) -> str:
    if position >= len(tokens) or tokens[position].kind not in ("value", "word"):
        raise JqlError("Error in the JQL Query: expecting a value.")
    return tokens[position].text


def _value_list(tokens: Sequence[_Token], position: int) -> tuple[list[str], int]:
    if position >= len(tokens) or tokens[position].text != "(":
        raise JqlError("Error in the JQL Query: expecting '(' after IN.")
    values: list[str] = []
    position += 1
    while True:
        values.append(_value(tokens, position))
        position += 1
        if position < len(tokens) and tokens[position].text == ",":
            position += 1
            continue
        if position < len(tokens) and tokens[position].text == ")":
            return values, position + 1
        raise JqlError("Error in the JQL Query: expecting ',' or ')'.")


def _project_clause(values: Sequence[str], tenant: Tenant) -> _Clause:
    ids: set[str] = set()
    for value in values:
        project = next(
            (p for p in tenant.projects if value.lower() in (p.key.lower(), p.name.lower()) or value == p.id),
            None,
        )
        if project is None:
            raise JqlError(f"The value '{value}' does not exist for the field 'project'.")
        ids.add(project.id)
    return _Clause(lambda issue, view: issue.project.id in ids)


def _key_clause(values: Sequence[str], tenant: Tenant) -> _Clause:
    ids: set[str] = set()
    for value in values:
        issue = tenant.issue(value)
        if issue is None:
            raise JqlError(f"An issue with key '{value}' does not exist for field 'key'.")
        ids.add(issue.id)
    return _Clause(lambda issue, view: issue.id in ids)


def _property_clause(field: _Token, values: Sequence[str], tenant: Tenant) -> _Clause:
    if field.prop_path not in tenant.indexed_properties.get(field.prop_key, frozenset()):
        return _Clause(lambda issue, view: False)  # not indexed: Jira finds nothing and says nothing
    wanted = set(values)
    key, path = field.prop_key, field.prop_path.split(".")
    return _Clause(lambda issue, view: _property_matches(view.properties, key, path, wanted))


def _property_matches(properties: Mapping[str, Any], key: str, path: Sequence[str], wanted: set[str]) -> bool:
    value: Any = properties.get(key)
    for part in path:
        if not isinstance(value, Mapping):
            return False
        value = value.get(part)
    candidates = value if isinstance(value, list) else [value]
    return any(_as_text(v) in wanted for v in candidates if v is not None)


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _order_by(tokens: Sequence[_Token], position: int) -> tuple[tuple[str, bool], ...]:
    if position >= len(tokens):
        return ()
    if position + 1 >= len(tokens) or not _is_word(tokens[position + 1], "by"):
        raise JqlError("Error in the JQL Query: expecting 'by' after 'order'.")
    order: list[tuple[str, bool]] = []
    position += 2
    while position < len(tokens):
        name = tokens[position].text.lower()
        if name not in _ORDER_FIELDS:
            raise JqlError(f"Not able to sort using field '{tokens[position].text}'.")
        position += 1
        descending = False
        if position < len(tokens) and tokens[position].text.lower() in ("asc", "desc"):
            descending = tokens[position].text.lower() == "desc"
            position += 1
        order.append((name, descending))
        if position < len(tokens) and tokens[position].text == ",":
            position += 1
    return tuple(order)


_ORDER_KEYS: dict[str, Callable[[Issue], Any]] = {
    "key": lambda i: (i.project.key, int(i.key.rpartition("-")[2])),
    "issuekey": lambda i: (i.project.key, int(i.key.rpartition("-")[2])),
    "created": lambda i: int(i.id),
    "id": lambda i: int(i.id),
}
