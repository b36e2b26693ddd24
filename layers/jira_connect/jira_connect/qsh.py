"""Query string hash (qsh): binds an Atlassian Connect JWT to one HTTP request.

The algorithm, as Jira runs it (Atlassian's Java ``atlassian-jwt``; ../shared/spec/connect-jwt.md §1):

1. Canonical method: the method name in upper case.
2. Canonical URI: the raw (still percent-encoded) path, minus the context path of the tenant's base URL
   (Confluence's ``/wiki``), with exactly one trailing ``/`` removed, ``/`` when empty, every ``&``
   written ``%26``, and a leading ``/``. Nothing else in the path is normalised.
3. Canonical query string: the query form-decoded (``+`` is a space), the parameter named exactly
   ``jwt`` dropped, each name's values sorted by their raw (decoded) form in UTF-16 code-unit order,
   names sorted by their percent-encoded form, each pair written ``enc(name)=enc(v1),enc(v2)...`` and
   the pairs joined with ``&``. An empty query gives an empty string.
4. Canonical request: ``method & URI & query``.
5. qsh: lower-case hex SHA-256 of the canonical request's UTF-8 bytes.

Percent-encoding is RFC 3986 with upper-case hex: only ``A-Z a-z 0-9 - . _ ~`` stay literal.
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import quote, unquote, urlsplit

__all__ = ["CONTEXT_QSH", "canonical_request", "query_string_hash"]

#: The fixed qsh of *context* JWTs. Jira issues these to app front ends; an app calling Jira's REST API
#: must always send a computed qsh, so this value never authenticates a REST request.
CONTEXT_QSH = "context-qsh"

COMPONENT_SEPARATOR = "&"
PAIR_SEPARATOR = "&"
VALUE_SEPARATOR = ","
PATH_AMPERSAND = "%26"
EXCLUDED_PARAMETER = "jwt"

_ABSOLUTE_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
# Text made only of unreserved characters encodes to itself: the common case, so it skips quote().
_UNRESERVED_ONLY = re.compile(r"[A-Za-z0-9\-._~]*")
# RFC 3986 unreserved characters other than letters and digits; quote() never encodes those.
_UNRESERVED_MARKS = "-._~"


def canonical_request(method: str, url: str, base_url: str | None = None) -> str:
    """The canonical request of ``method`` on ``url``: ``METHOD&/path&sorted=query``.

    ``url`` is absolute or a path with its query, exactly as it is sent on the wire. ``base_url`` is the
    tenant's base URL; its path (the context path) is not part of the canonical URI.
    """
    path, query = _split_path_and_query(url)
    return COMPONENT_SEPARATOR.join(
        (
            canonical_method(method),
            canonical_uri(path, _context_path(base_url)),
            canonical_query_string(query),
        )
    )


def query_string_hash(method: str, url: str, base_url: str | None = None) -> str:
    """The qsh claim for ``method`` on ``url``: hex SHA-256 of :func:`canonical_request`."""
    return hash_canonical_request(canonical_request(method, url, base_url))


def hash_canonical_request(canonical: str) -> str:
    """Step 5: lower-case hex SHA-256 of the UTF-8 bytes."""
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def canonical_method(method: str) -> str:
    """Step 1."""
    return method.upper()


def canonical_uri(path: str, context_path: str = "") -> str:
    """Step 2. ``path`` is the raw request path; ``context_path`` has no trailing slash."""
    if context_path and (path == context_path or path.startswith(context_path + "/")):
        path = path[len(context_path) :]
    if path.endswith("/"):
        path = path[:-1]  # exactly one, as Jira does (StringUtils.removeEnd)
    if not path:
        return "/"
    # Unencoded, "/p&a=b?x=y" and "/p?a=b&x=y" would hash alike.
    path = path.replace("&", PATH_AMPERSAND)
    return path if path.startswith("/") else "/" + path


def canonical_query_string(query: str) -> str:
    """Step 3. ``query`` is the raw query string without the leading ``?``."""
    if not query:
        return ""
    values_by_name: dict[str, list[str]] = {}
    for name, value in _form_decoded_pairs(query):
        if name != EXCLUDED_PARAMETER:
            values_by_name.setdefault(name, []).append(value)
    pairs = []
    for name, values in values_by_name.items():
        # Jira sorts the raw values (Java String order), not the encoded ones: the "JWT-20" quirk.
        ordered = sorted(values, key=_utf16_order) if len(values) > 1 else values
        pairs.append((percent_encode(name), VALUE_SEPARATOR.join(percent_encode(v) for v in ordered)))
    pairs.sort()
    return PAIR_SEPARATOR.join(f"{name}={values}" for name, values in pairs)


def percent_encode(text: str) -> str:
    """RFC 3986 percent-encoding of the UTF-8 bytes, upper-case hex (space ``%20``, ``*`` ``%2A``)."""
    if _UNRESERVED_ONLY.fullmatch(text):
        return text
    return quote(text, safe=_UNRESERVED_MARKS)


def _form_decoded_pairs(query: str) -> list[tuple[str, str]]:
    """``application/x-www-form-urlencoded`` decoding, as a servlet container reads a query string:
    split on ``&`` only, skip empty pieces, a piece without ``=`` is a name with an empty value,
    ``+`` is a space, ``%XX`` are UTF-8 bytes."""
    pairs = []
    for piece in query.split("&"):
        if piece:
            name, _, value = piece.partition("=")
            pairs.append((_form_decode(name), _form_decode(value)))
    return pairs


def _form_decode(text: str) -> str:
    if "+" in text:
        text = text.replace("+", " ")
    return unquote(text) if "%" in text else text


def _utf16_order(text: str) -> bytes:
    # Big-endian UTF-16 bytes compare exactly as Java compares Strings (by UTF-16 code unit).
    return text.encode("utf-16-be", "surrogatepass")


def _split_path_and_query(url: str) -> tuple[str, str]:
    if _ABSOLUTE_URL.match(url):
        parts = urlsplit(url)
        return parts.path, parts.query
    # A bare path is split by hand: urlsplit would read "//x" as a host name.
    path, _, query = url.partition("#")[0].partition("?")
    return path, query


def _context_path(base_url: str | None) -> str:
    if not base_url:
        return ""
    path = urlsplit(base_url).path if _ABSOLUTE_URL.match(base_url) else base_url
    return path.rstrip("/")
