"""The query string hash against every published vector (../shared/spec/qsh-vectors.json), stage by stage."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jira_connect.qsh import canonical_request, hash_canonical_request, query_string_hash
from tests.conftest import SPEC

VECTORS: list[dict[str, Any]] = json.loads((SPEC / "qsh-vectors.json").read_text())


def _case_id(vector: dict[str, Any]) -> str:
    return f"{vector['id']}-{vector['name'][:60]}"


@pytest.mark.parametrize("vector", VECTORS, ids=_case_id)
def test_canonical_request_matches_vector(vector: dict[str, Any]) -> None:
    canonical = canonical_request(vector["method"], vector.get("url_or_path", ""), vector.get("base_url"))
    assert canonical == vector["expected_canonical"]


@pytest.mark.parametrize("vector", [v for v in VECTORS if "expected_qsh" in v], ids=_case_id)
def test_query_string_hash_matches_vector(vector: dict[str, Any]) -> None:
    url = vector.get("url_or_path", "")
    assert hash_canonical_request(vector["expected_canonical"]) == vector["expected_qsh"]
    assert query_string_hash(vector["method"], url, vector.get("base_url")) == vector["expected_qsh"]


def test_vectors_file_is_not_empty() -> None:
    assert len(VECTORS) >= 28
