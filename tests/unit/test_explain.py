"""`python -m jira_connect explain` names each problem of a token, one line per finding."""

from __future__ import annotations

import jwt
import pytest

from jira_connect.__main__ import main
from jira_connect.diagnosis import diagnose, split_authorization
from jira_connect.qsh import query_string_hash
from jira_connect.token import encode_token

SECRET = "a-shared-secret-of-at-least-32-bytes!!"
APP_KEY = "com.example.issue-creator"
URL = "/rest/api/3/issue"
NOW = 1_750_000_000.0


def _token(**claims: object) -> str:
    base: dict[str, object] = {"iss": APP_KEY, "iat": int(NOW), "exp": int(NOW) + 180}
    base["qsh"] = query_string_hash("POST", URL)
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not None}, SECRET, algorithm="HS256")


def _checks(authorization: str, **kwargs: object) -> list[str]:
    diagnosis = diagnose(
        "POST",
        URL,
        authorization,
        shared_secret=SECRET,
        app_key=APP_KEY,
        now=NOW,
        **kwargs,  # type: ignore[arg-type]
    )
    return [f.check for f in diagnosis.findings]


def test_a_correct_token_has_no_findings() -> None:
    token = encode_token("POST", URL, app_key=APP_KEY, shared_secret=SECRET, now=NOW)
    assert _checks(f"JWT {token}") == []
    assert _checks(token) == []


def test_bearer_scheme_is_flagged_with_its_anonymous_consequence() -> None:
    diagnosis = diagnose("POST", URL, f"Bearer {_token()}", shared_secret=SECRET, app_key=APP_KEY, now=NOW)
    assert [f.check for f in diagnosis.findings] == ["scheme"]
    assert "anonymous" in diagnosis.findings[0].detail
    assert "Field 'summary' cannot be set" in diagnosis.findings[0].detail


def test_requests_jwt_style_header_is_flagged() -> None:
    assert _checks(f"JWT token={_token()}") == ["scheme"]


def test_qsh_mismatch_shows_the_expected_canonical_request() -> None:
    token = _token(qsh=query_string_hash("GET", URL))
    diagnosis = diagnose("POST", URL, f"JWT {token}", shared_secret=SECRET, app_key=APP_KEY, now=NOW)
    assert [f.check for f in diagnosis.findings] == ["qsh"]
    assert "POST&/rest/api/3/issue&" in diagnosis.findings[0].detail


def test_context_qsh_is_refused_for_rest_calls() -> None:
    assert _checks(f"JWT {_token(qsh='context-qsh')}") == ["qsh"]


def test_missing_qsh_is_flagged() -> None:
    assert _checks(f"JWT {_token(qsh=None)}") == ["qsh"]


def test_client_key_as_issuer_is_flagged() -> None:
    assert _checks(f"JWT {_token(iss='jira:1234-abcd')}") == ["iss"]


def test_expired_token_reports_the_clock_difference() -> None:
    diagnosis = diagnose(
        "POST", URL, _token(exp=int(NOW) - 42), shared_secret=SECRET, app_key=APP_KEY, now=NOW
    )
    assert [f.check for f in diagnosis.findings] == ["exp"]
    assert "42 s ago" in diagnosis.findings[0].detail


def test_token_from_the_future_is_not_yet_valid() -> None:
    diagnosis = diagnose(
        "POST", URL, _token(iat=int(NOW) + 600, exp=int(NOW) + 780), app_key=APP_KEY, now=NOW
    )
    assert [f.check for f in diagnosis.findings] == ["iat"]
    assert "600 s in the future" in diagnosis.findings[0].detail


def test_bad_signature_is_flagged() -> None:
    token = jwt.encode(
        {"iss": APP_KEY, "iat": int(NOW), "exp": int(NOW) + 180, "qsh": query_string_hash("POST", URL)},
        "some-other-secret-some-other-secret",
        algorithm="HS256",
    )
    assert _checks(token) == ["signature"]


def test_alg_none_is_flagged() -> None:
    token = jwt.encode({"iss": APP_KEY, "iat": int(NOW), "exp": int(NOW) + 180}, None, algorithm="none")
    assert "alg" in _checks(token)


def test_garbage_is_reported_as_structure() -> None:
    assert _checks("JWT not-a-token") == ["structure"]


def test_missing_time_claims_are_flagged() -> None:
    assert sorted(_checks(_token(exp=None, iat=None))) == ["exp", "iat"]


def test_signature_is_not_checked_without_a_secret() -> None:
    diagnosis = diagnose("POST", URL, _token(), app_key=APP_KEY, now=NOW)
    assert diagnosis.findings == ()
    assert any("signature not checked" in n for n in diagnosis.notes)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("JWT a.b.c", ("JWT", "a.b.c")), ("a.b.c", (None, "a.b.c")), ("  Bearer   a.b.c ", ("Bearer", "a.b.c"))],
)
def test_split_authorization(value: str, expected: tuple[str | None, str]) -> None:
    assert split_authorization(value) == expected


def test_cli_prints_canonical_request_and_hash(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "explain",
            "--method",
            "get",
            "--url",
            "/wiki/rest/api/space?b=2&a=1",
            "--base-url",
            "https://x.atlassian.net/wiki",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "canonical request: GET&/rest/api/space&a=1&b=2" in out
    assert query_string_hash("GET", "/rest/api/space?a=1&b=2") in out


def test_cli_exits_1_and_lists_findings_without_printing_the_secret(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        [
            "explain",
            "--method",
            "POST",
            "--url",
            URL,
            "--token",
            f"Bearer {_token()}",
            "--secret",
            SECRET,
            "--app-key",
            "another.app",
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "- scheme:" in out
    assert "- iss:" in out
    assert SECRET not in out
