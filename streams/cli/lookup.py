"""`thresholds lookup PLATFORM ACCOUNT_ID`: what the workers hold about one account."""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import quote

__all__ = ["register"]


def _default_url() -> str:
    port = os.environ.get("THRESHOLDS_WEB_PORT") or "6066"
    return os.environ.get("THRESHOLDS_URL") or f"http://localhost:{port}"


def _cmd_lookup(args: argparse.Namespace) -> int:
    from streams.cli.errors import CommandError
    from streams.config import read_secret

    url = (
        f"{args.url.rstrip('/')}/accounts/"
        f"{quote(args.platform, safe='')}/{quote(args.account_id, safe='')}"
    )
    token = read_secret(os.environ, "THRESHOLDS_WEB_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if not url.startswith(("http://", "https://")):
        raise CommandError(f"--url must be http:// or https://, got {args.url!r}")
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - checked above
    try:
        with urllib.request.urlopen(request, timeout=args.timeout) as answer:  # noqa: S310
            body: Any = json.loads(answer.read())
    except urllib.error.HTTPError as error:
        try:
            message = json.loads(error.read()).get("error", error.reason)
        except (ValueError, AttributeError):
            message = error.reason
        if error.code == 404:
            print(f"thresholds: {message}", file=sys.stderr)
            return 1
        raise CommandError(f"{error.code}: {message}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise CommandError(f"cannot reach a worker at {args.url}: {reason}") from None
    print(json.dumps(body, indent=2, ensure_ascii=False))
    return 0


def register(commands: Any) -> None:
    """Add `lookup` to the `thresholds` parser."""
    lookup = commands.add_parser(
        "lookup",
        help="print what the workers hold about one account (any worker answers)",
        description="Exit 0 with the account as JSON, 1 for an account never seen, "
        "2 for a bad request or an unreachable worker. THRESHOLDS_WEB_TOKEN (or the "
        "file THRESHOLDS_WEB_TOKEN_FILE names) is sent as the bearer token when set.",
    )
    lookup.add_argument("platform", metavar="PLATFORM")
    lookup.add_argument("account_id", metavar="ACCOUNT_ID")
    lookup.add_argument(
        "--url",
        default=_default_url(),
        help="a worker's web server (THRESHOLDS_URL, else http://localhost:6066)",
    )
    lookup.add_argument("--timeout", type=float, default=10.0, help="seconds (10)")
    lookup.set_defaults(run=_cmd_lookup)
