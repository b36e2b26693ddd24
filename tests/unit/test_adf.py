"""Plain text becomes a minimal valid ADF document on v3; v2 and ADF pass through; inputs stay intact."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from jira_connect.adf import is_adf_document, issue_for_api_version, text_to_adf


def test_single_line_becomes_one_paragraph_with_one_text_node() -> None:
    assert text_to_adf("Disk full on db-1") == {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": "Disk full on db-1"}]}],
    }


def test_blank_lines_separate_paragraphs_and_single_newlines_become_hard_breaks() -> None:
    doc = text_to_adf("line one\r\nline two\n\n\nsecond paragraph")
    assert doc["content"] == [
        {
            "type": "paragraph",
            "content": [
                {"type": "text", "text": "line one"},
                {"type": "hardBreak"},
                {"type": "text", "text": "line two"},
            ],
        },
        {"type": "paragraph", "content": [{"type": "text", "text": "second paragraph"}]},
    ]


def test_empty_text_gives_an_empty_document() -> None:
    assert text_to_adf("") == {"type": "doc", "version": 1, "content": []}
    assert text_to_adf(" \n\n \n") == {"type": "doc", "version": 1, "content": []}


def _text_nodes(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [n for p in doc["content"] for n in p["content"] if n["type"] == "text"]


@given(st.text())
def test_adf_text_nodes_are_never_empty_and_never_hold_newlines(text: str) -> None:
    for node in _text_nodes(text_to_adf(text)):
        assert node["text"]
        assert "\n" not in node["text"]
        assert "\r" not in node["text"]


@given(st.text(alphabet=st.characters(blacklist_characters="\r\n")))
def test_single_line_text_is_kept_verbatim(text: str) -> None:
    nodes = _text_nodes(text_to_adf(text))
    assert "".join(n["text"] for n in nodes) == (text if text.strip() else "")


def _issue() -> dict[str, Any]:
    return {
        "fields": {
            "project": {"key": "OPS"},
            "issuetype": {"name": "Task"},
            "summary": "Disk full",
            "description": "plain text",
            "environment": "prod",
            "customfield_10001": "left alone",
        },
        "properties": [{"key": "k", "value": {"v": 1}}],
    }


def test_v3_converts_string_description_and_environment_without_touching_the_input() -> None:
    issue = _issue()
    before = copy.deepcopy(issue)
    body = issue_for_api_version(issue, 3)
    assert issue == before
    assert is_adf_document(body["fields"]["description"])
    assert is_adf_document(body["fields"]["environment"])
    assert body["fields"]["customfield_10001"] == "left alone"
    assert body["properties"] == issue["properties"]


def test_v2_keeps_plain_strings() -> None:
    issue = _issue()
    assert issue_for_api_version(issue, 2) == issue


def test_v3_leaves_an_adf_description_as_it_is() -> None:
    doc = text_to_adf("already rich")
    issue = {"fields": {"summary": "s", "description": doc}}
    assert issue_for_api_version(issue, 3)["fields"]["description"] is doc


def test_body_without_fields_passes_through() -> None:
    assert issue_for_api_version({"update": {}}, 3) == {"update": {}}


def test_is_adf_document_recognises_only_doc_roots() -> None:
    assert is_adf_document({"type": "doc", "version": 1, "content": []})
    assert not is_adf_document("text")
    assert not is_adf_document({"type": "paragraph"})
