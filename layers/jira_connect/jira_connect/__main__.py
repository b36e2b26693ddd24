"""``python -m jira_connect explain``: the canonical request and qsh of a request, and what is wrong with
a token for it. The tool to reach for when Jira answers 401 or the misleading "Field 'summary' cannot be set".
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from jira_connect.diagnosis import Diagnosis, diagnose

SECRET_ENV = "CONNECT_SHARED_SECRET"  # noqa: S105 - the name of a variable, not a secret


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    secret = args.secret if args.secret is not None else os.environ.get(SECRET_ENV)
    diagnosis = diagnose(
        args.method,
        args.url,
        args.token,
        base_url=args.base_url,
        shared_secret=secret,
        app_key=args.app_key,
    )
    sys.stdout.write(render(diagnosis, token_given=args.token is not None))
    return 1 if diagnosis.findings else 0


def render(diagnosis: Diagnosis, *, token_given: bool) -> str:
    lines = [
        f"canonical request: {diagnosis.canonical_request}",
        f"query string hash: {diagnosis.query_string_hash}",
    ]
    if token_given:
        shown = ", ".join(f"{k}={v}" for k, v in sorted(diagnosis.claims.items()))
        lines.append(f"token claims: {shown or '(none decoded)'}")
        lines.extend(f"note: {note}" for note in diagnosis.notes)
        if diagnosis.findings:
            lines.append(f"{len(diagnosis.findings)} problem(s):")
            lines.extend(f"- {f.check}: {f.detail}" for f in diagnosis.findings)
        else:
            lines.append("no problems found: Jira should accept this token for this request")
    return "\n".join(lines) + "\n"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m jira_connect", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    explain = commands.add_parser("explain", help="canonical request, qsh, and what is wrong with a token")
    explain.add_argument("--method", required=True, help="HTTP method, e.g. POST")
    explain.add_argument("--url", required=True, help="absolute URL or path with query, as sent")
    explain.add_argument("--base-url", help="the tenant's baseUrl (its path is not hashed)")
    explain.add_argument("--token", help="a bare JWT or a whole Authorization value ('JWT …' / 'Bearer …')")
    explain.add_argument("--secret", help=f"the tenant's sharedSecret (or set {SECRET_ENV})")
    explain.add_argument("--app-key", help="the app key from the descriptor (the expected iss)")
    return parser


if __name__ == "__main__":
    raise SystemExit(main())
