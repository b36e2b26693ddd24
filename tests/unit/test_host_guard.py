"""The base-URL host guard refuses every SSRF route a tenant record could take, before anything is sent."""

from __future__ import annotations

import pytest
import requests
import urllib3

from jira_connect.errors import DisallowedBaseUrl
from jira_connect.host_guard import DEFAULT_ALLOWED_HOSTS, HostGuard, is_loopback_host

DEFAULT = HostGuard.from_setting(None)
LOCAL = HostGuard.from_setting(DEFAULT_ALLOWED_HOSTS + ",127.0.0.1,localhost")


@pytest.mark.parametrize(
    "base_url",
    [
        "https://acme.atlassian.net",
        "https://acme.atlassian.net/",
        "https://ACME.Atlassian.NET",
        "https://acme.atlassian.net.",  # trailing root dot
        "https://acme.atlassian.net:443",
        "https://acme.atlassian.net/wiki",  # Confluence-style context path
        "https://deep.sub.acme.jira.com",
        "https://acme.jira-dev.com",
    ],
)
def test_atlassian_hosts_over_https_are_allowed(base_url: str) -> None:
    DEFAULT.check(base_url)


@pytest.mark.parametrize(
    ("attack", "base_url"),
    [
        ("cloud metadata (link-local)", "https://169.254.169.254/latest/meta-data"),
        ("cloud metadata over http", "http://169.254.169.254"),
        ("private network over http", "http://10.0.0.1"),
        ("private network over https", "https://10.0.0.1"),
        ("internal name", "https://jira.internal"),
        ("single-label internal name", "https://intranet"),
        ("ECS task metadata", "http://169.254.170.2/v2/credentials"),
        ("suffix without dot", "https://evilatlassian.net"),
        ("allowed domain as a prefix", "https://acme.atlassian.net.evil.com"),
        ("bare allowed domain", "https://atlassian.net"),
        ("userinfo trick", "https://acme.atlassian.net@evil.com"),
        ("userinfo with port trick", "https://acme.atlassian.net:443@evil.com"),
        ("backslash parser differential", "https://evil.com\\.atlassian.net/"),
        ("backslash before userinfo", "https://evil.com\\@acme.atlassian.net/"),
        ("percent-encoded slash in host", "https://evil.com%2f.atlassian.net"),
        ("fragment hides the real path", "https://acme.atlassian.net#@evil.com"),
        ("query on the base URL", "https://acme.atlassian.net?x=1"),
        ("tab inside the host", "https://ac\tme.atlassian.net"),
        ("newline inside the URL", "https://acme.atlassian.net/\nHost: evil"),
        ("decimal IP", "https://2852039166"),
        ("IPv6 loopback over https, not listed", "https://[::1]/"),
        ("plain http to an allowed host", "http://acme.atlassian.net"),
        ("other scheme", "ftp://acme.atlassian.net"),
        ("file scheme", "file:///etc/passwd"),
        ("no host", "https://"),
        ("relative URL", "/rest/api/3/issue"),
    ],
)
def test_ssrf_attempt_is_refused(attack: str, base_url: str) -> None:
    with pytest.raises(DisallowedBaseUrl):
        DEFAULT.check(base_url)


def test_http_loopback_is_refused_unless_listed() -> None:
    with pytest.raises(DisallowedBaseUrl, match="plain http"):
        DEFAULT.check("http://127.0.0.1:8080/t/acme")
    LOCAL.check("http://127.0.0.1:8080/t/acme")


def test_http_loopback_listed_by_name_does_not_allow_other_loopback_addresses() -> None:
    guard = HostGuard.from_setting("localhost")
    guard.check("http://localhost:9000")
    with pytest.raises(DisallowedBaseUrl):
        guard.check("http://127.0.0.2:9000")


def test_listing_a_non_loopback_host_does_not_allow_it_over_http() -> None:
    guard = HostGuard.from_setting("10.0.0.1")
    with pytest.raises(DisallowedBaseUrl, match="plain http"):
        guard.check("http://10.0.0.1")


def test_wildcard_in_the_middle_of_a_pattern_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="JIRA_ALLOWED_HOSTS"):
        HostGuard.from_setting("acme.*.net")


def test_blank_setting_means_the_default_allow_list() -> None:
    assert HostGuard.from_setting("  ").patterns == DEFAULT.patterns


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.8.9.1", "::1"])
def test_loopback_hosts_are_recognised(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize("host", ["10.0.0.1", "169.254.169.254", "localhost.evil.com", "example.com"])
def test_other_hosts_are_not_loopback(host: str) -> None:
    assert not is_loopback_host(host)


@pytest.mark.parametrize(
    ("base_url", "host"),
    [
        ("https://acme.atlassian.net", "acme.atlassian.net"),
        ("https://a-b.c.jira.com:8443/ctx", "a-b.c.jira.com"),
        ("https://acme.atlassian.net./x", "acme.atlassian.net."),
    ],
)
def test_allowed_url_reaches_the_same_host_through_requests(base_url: str, host: str) -> None:
    # The guard and the HTTP stack must agree on the host, or the guard checks one host and we call another.
    DEFAULT.check(base_url)
    prepared = requests.Request("GET", base_url + "/rest/api/3/myself").prepare()
    assert urllib3.util.parse_url(prepared.url).host == host
