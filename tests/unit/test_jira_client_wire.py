"""What the client hashes is what goes on the wire: query strings and path segments survive requests'
URL preparation byte for byte, and decode back to exactly the parameters meant."""

from __future__ import annotations

from urllib.parse import parse_qsl

import requests
from hypothesis import given
from hypothesis import strategies as st

from jira_connect.jira_client import encode_query
from jira_connect.qsh import canonical_query_string, percent_encode

BASE = "https://acme.atlassian.net"
pairs = st.lists(st.tuples(st.text(min_size=1), st.text()), max_size=6)


@given(pairs)
def test_encoded_query_is_sent_unchanged_by_requests(params: list[tuple[str, str]]) -> None:
    url = f"{BASE}/rest/api/3/project/search?{encode_query(params)}" if params else f"{BASE}/x"
    assert requests.Request("GET", url).prepare().url == url


@given(pairs)
def test_encoded_query_decodes_to_exactly_the_parameters_meant(params: list[tuple[str, str]]) -> None:
    assert parse_qsl(encode_query(params), keep_blank_values=True) == params


@given(pairs)
def test_qsh_query_of_the_sent_string_covers_every_parameter(params: list[tuple[str, str]]) -> None:
    canonical = canonical_query_string(encode_query(params))
    for name, value in params:
        if name != "jwt":
            assert percent_encode(name) + "=" in canonical
            assert percent_encode(value) in canonical


@given(st.text(min_size=1))
def test_encoded_path_segment_is_sent_unchanged_by_requests(segment: str) -> None:
    url = f"{BASE}/rest/api/3/project/{percent_encode(segment)}"
    assert requests.Request("GET", url).prepare().url == url


def test_spaces_plus_and_reserved_characters_are_percent_encoded() -> None:
    assert encode_query([("query", "a b+c&d=e/f"), ("keys", "OPS")]) == "query=a%20b%2Bc%26d%3De%2Ff&keys=OPS"
