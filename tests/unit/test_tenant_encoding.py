"""The clientKey -> secret name encoding: readable, valid as a secret name, and injective."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jira_connect.tenant import secret_name_suffix, tenant_secret_name

SECRET_NAME_CHARACTERS = re.compile(r"[A-Za-z0-9/_+=.@-]*")


def _decode(encoded: str) -> str:
    """The inverse of the encoding, written independently: its existence proves injectivity."""
    out = bytearray()
    i = 0
    while i < len(encoded):
        if encoded[i] == "_":
            out.append(int(encoded[i + 1 : i + 3], 16))
            i += 3
        else:
            out.extend(encoded[i].encode("ascii"))
            i += 1
    return out.decode("utf-8")


@pytest.mark.parametrize(
    ("client_key", "encoded"),
    [
        ("jira:ab_c", "jira_3Aab_5Fc"),
        ("4a2b-11e9", "4a2b-11e9"),
        ("a b", "a_20b"),
        ("é", "_C3_A9"),
        ("_", "_5F"),
        ("", ""),
    ],
)
def test_known_client_keys_encode_as_designed(client_key: str, encoded: str) -> None:
    assert secret_name_suffix(client_key) == encoded


@given(st.text())
def test_encoding_round_trips_so_it_is_injective(client_key: str) -> None:
    assert _decode(secret_name_suffix(client_key)) == client_key


@given(st.text(), st.text())
def test_distinct_client_keys_never_share_a_secret_name(a: str, b: str) -> None:
    if a != b:
        assert tenant_secret_name("jira-tenants/", a) != tenant_secret_name("jira-tenants/", b)


@given(st.text())
def test_encoded_names_use_only_secret_name_characters(client_key: str) -> None:
    assert SECRET_NAME_CHARACTERS.fullmatch(secret_name_suffix(client_key))
