"""`thresholds acls`: the ACLs each part of the product needs, for operators."""

from __future__ import annotations

import argparse
import os
import re
from typing import Any

__all__ = ["register"]


def _cmd_acls(args: argparse.Namespace) -> int:
    from streams.cli.errors import CommandError
    from streams.config import Settings
    from streams.kafka.acls import (
        Acl,
        consumer_acls,
        kafka_acls_command,
        producer_acls,
        reader_acls,
        topics_acls,
        worker_acls,
    )

    if not re.fullmatch(r"User:\S+", args.principal):
        raise CommandError(f"--principal must be User:NAME, got {args.principal!r}")
    env = dict(os.environ)
    if args.app_id:
        env["THRESHOLDS_APP_ID"] = args.app_id
    if args.guarantee:
        env["PROCESSING_GUARANTEE"] = args.guarantee
    settings = Settings.from_env(env)
    t = settings.topics
    sections: list[tuple[str, list[Acl]]] = [
        (f"the worker ({settings.processing_guarantee})", worker_acls(settings)),
        ("thresholds produce", producer_acls(settings)),
        ("thresholds topics (once, to create the topics)", topics_acls(settings)),
        ("thresholds verify and thresholds tail (every output, no group)", reader_acls(settings)),
    ]
    for topic in (t.threshold_crossings, t.verification_requests, t.account_restrictions):
        sections.append(
            (
                f"a consumer of {topic} in group {args.consumer_group}",
                consumer_acls(topic, args.consumer_group),
            )
        )
    for title, acls in sections:
        print(f"# {title}, as {args.principal}")
        width = max(len(f"{a.resource_type} {a.pattern_type} {a.name}") for a in acls)
        for acl in acls:
            resource = f"{acl.resource_type} {acl.pattern_type} {acl.name}"
            print(f"#   {acl.operation:<7} {resource:<{width}}  {acl.why}")
        for acl in acls:
            print(kafka_acls_command(acl, args.principal))
        print()
    return 0


def register(commands: Any) -> None:
    """Add `acls` to the `thresholds` parser."""
    acls = commands.add_parser(
        "acls",
        help="print the ACLs the worker, thresholds produce and downstream consumers need",
        description="Least privilege on a broker that enforces ACLs, read from the same "
        "settings as the worker (TOPIC_*, THRESHOLDS_APP_ID, PROCESSING_GUARANTEE): a table "
        "and kafka-acls.sh commands per part. Nothing is sent to a broker.",
    )
    acls.add_argument("--principal", required=True, metavar="User:NAME")
    acls.add_argument("--app-id", metavar="ID", help="THRESHOLDS_APP_ID (the consumer group)")
    acls.add_argument(
        "--guarantee", choices=("at_least_once", "exactly_once"), help="PROCESSING_GUARANTEE"
    )
    acls.add_argument(
        "--consumer-group",
        default="GROUP",
        metavar="GROUP",
        help="the downstream consumers' group (GROUP by default, a placeholder)",
    )
    acls.set_defaults(run=_cmd_acls)
