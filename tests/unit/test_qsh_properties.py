"""Properties of the query string hash that must hold for every request (Hypothesis)."""

from __future__ import annotations

import re
from urllib.parse import quote, quote_plus

from hypothesis import given
from hypothesis import strategies as st

from jira_connect.qsh import canonical_query_string, canonical_request, query_string_hash

names = st.text(min_size=1, max_size=8).filter(lambda s: s != "jwt")
values = st.text(max_size=10)
pairs = st.lists(st.tuples(names, values), max_size=6)
# What a canonical request may contain: unreserved characters, escapes, and the separators.
CANONICAL = re.compile(
    r"^[A-Z]+&/[A-Za-z0-9\-._~%/!$'()*+,;=:@]*&([A-Za-z0-9\-._~%]+=[A-Za-z0-9\-._~%,]*&?)*$"
)


def _query(items: list[tuple[str, str]], encode: object = quote) -> str:
    assert callable(encode)
    return "&".join(f"{encode(n, safe='')}={encode(v, safe='')}" for n, v in items)


@given(pairs, st.randoms())
def test_parameter_order_never_changes_the_hash(items: list[tuple[str, str]], rnd: object) -> None:
    shuffled = list(items)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert query_string_hash("GET", "/p?" + _query(items)) == query_string_hash(
        "GET", "/p?" + _query(shuffled)
    )


@given(pairs, st.text(max_size=20), st.integers(min_value=0, max_value=6))
def test_the_jwt_parameter_never_counts(items: list[tuple[str, str]], token: str, position: int) -> None:
    with_jwt = list(items)
    with_jwt.insert(min(position, len(with_jwt)), ("jwt", token))
    assert canonical_query_string(_query(with_jwt)) == canonical_query_string(_query(items))


@given(pairs)
def test_equivalent_encodings_hash_the_same(items: list[tuple[str, str]]) -> None:
    percent = _query(items, quote)
    plus = _query(items, quote_plus)  # spaces as '+'
    lower_hex = re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), percent)
    expected = query_string_hash("GET", "/p?" + percent)
    assert query_string_hash("GET", "/p?" + plus) == expected
    assert query_string_hash("GET", "/p?" + lower_hex) == expected


@given(st.sampled_from(["GET", "post", "Put"]), st.text(max_size=10).map(lambda s: quote(s, safe="/")), pairs)
def test_canonical_requests_contain_only_allowed_characters(
    method: str, path: str, items: list[tuple[str, str]]
) -> None:
    canonical = canonical_request(method, "/" + path + "?" + _query(items))
    assert CANONICAL.match(canonical), canonical
