"""The live commands of `thresholds`: worker, broker, demo, produce, tail, verify."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from streams.config import ConfigError, Settings, load_rules
from streams.config.topology import AGENTS, topology

__all__ = ["register"]

SAMPLES = Path(__file__).parent.parent / "samples"


class _Refusal(ConfigError):
    """A one-line refusal at start-up."""


def _settings() -> Settings:
    return Settings.from_env()


def check_topics(settings: Settings, create: bool) -> None:
    """Refuse to start on missing topics or co-partitioning that cannot hold."""
    from streams.kafka import client as kafka_io

    if create:
        kafka_io.ensure_topics(settings)
    missing, refused = kafka_io.topic_access(settings)
    if refused:
        from streams.kafka.acls import worker_acls

        needed = [
            f"{acl.operation} on topic {acl.name}"
            for acl in worker_acls(settings)
            if acl.resource_type == "TOPIC" and acl.name in refused
        ]
        raise _Refusal(
            f"Kafka refused {', '.join(needed)} (no ACL on the topic): grant the ACLs "
            "`thresholds acls` lists for this worker's principal"
        )
    if missing:
        raise _Refusal(
            f"missing topics on {settings.bootstrap_servers}: {', '.join(missing)} "
            "(create them, or start with --create-topics)"
        )
    counts = kafka_io.partition_counts(settings)
    plan = topology(settings)
    inputs = [name for agent in AGENTS for name in plan.inputs(agent)]
    mismatched = {t: counts[t] for t in inputs if counts.get(t) != counts[inputs[0]]}
    if mismatched:
        raise _Refusal(
            f"co-partitioning broken: {inputs[0]} has {counts[inputs[0]]} partitions, "
            + ", ".join(f"{t} has {n}" for t, n in mismatched.items())
        )


def check_web_port(settings: Settings) -> None:
    """Refuse to start when the web server's address cannot be bound."""
    import socket

    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((settings.web_host, settings.web_port))
        except OSError as exc:
            raise _Refusal(
                f"cannot serve on {settings.web_host}:{settings.web_port}: {exc.strerror} "
                "(THRESHOLDS_WEB_HOST, THRESHOLDS_WEB_PORT)"
            ) from None


def _cmd_worker(args: argparse.Namespace) -> int:
    settings = _settings()
    rules = load_rules(args.config or settings.config_path)
    if not args.child:
        check_web_port(settings)
        check_topics(settings, args.create_topics)
        return _supervise(args, settings.stop_timeout)
    from streams.engine.worker import run_worker

    run_worker(settings, rules, fast_start=args.fast_start, quiet=args.quiet)
    return 0


def _supervise(args: argparse.Namespace, stop_timeout: float) -> int:
    """Run the Faust worker in a child process; start a fresh one when it asks to.

    The child exits with RESTART_EXIT_CODE when Faust lost input records (see
    streams.engine.agents); any other exit ends the supervisor with the same status.
    SIGTERM and SIGINT are passed on, so a stop is the child's graceful stop;
    a child still running `stop_timeout` seconds later is killed.
    """
    from streams.engine.watchdog import RESTART_EXIT_CODE

    cmd = [sys.executable, "-m", "streams.cli", "worker", "--child"]
    cmd += ["--config", args.config] if args.config else []
    cmd += ["--fast-start"] if args.fast_start else []
    cmd += ["--quiet"] if args.quiet else []
    child: subprocess.Popen[bytes] | None = None
    stopping: float | None = None  # when a stop was asked for

    def forward(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = stopping or time.monotonic()
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    def wait(child: subprocess.Popen[bytes]) -> int:
        while True:
            try:
                return child.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                if stopping is not None and time.monotonic() - stopping > stop_timeout:
                    break
        # Faust's stop waits for every event in flight to be acked, which never
        # happens while the broker is unreachable. Nothing is lost: inputs not
        # committed are processed again by the next worker.
        print(
            f"thresholds: error: the worker did not stop within {stop_timeout:.0f}s "
            "(THRESHOLDS_STOP_TIMEOUT; is the broker reachable?): killed it; "
            "uncommitted input is processed again at the next start",
            file=sys.stderr,
            flush=True,
        )
        child.kill()
        child.wait()
        return 1

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    restarts: list[float] = []
    while True:
        child = subprocess.Popen(cmd)  # noqa: S603 - our own command
        code = wait(child)
        if stopping is not None and code in (-signal.SIGTERM, -signal.SIGINT):
            # the stop reached the child before its handlers (it was starting):
            # it had read nothing yet, so this is a clean stop
            return 0
        if code != RESTART_EXIT_CODE or stopping is not None:
            return code
        now = time.monotonic()
        restarts = [t for t in restarts if now - t < 120] + [now]
        if len(restarts) > 5:
            # e.g. retention deleted the committed offset: never skip records silently
            print(
                "thresholds: error: input records keep going missing at start-up "
                "(6 restarts in 2 minutes); if retention deleted them, reset the "
                "group's offsets on purpose",
                file=sys.stderr,
                flush=True,
            )
            return 1
        print("thresholds: restarting the worker in a fresh process", file=sys.stderr, flush=True)


def _cmd_topics(args: argparse.Namespace) -> int:
    from streams.kafka import client as kafka_io

    settings = _settings()
    created = kafka_io.ensure_topics(settings)
    print(f"created {len(created)} topics" + (f": {', '.join(created)}" if created else ""))
    return 0


def _cmd_broker(args: argparse.Namespace) -> int:
    from streams.kafka.embedded import start_embedded_broker

    broker: Any
    if args.nodes != 1 and not args.kafka:
        raise _Refusal("--nodes needs --kafka (the embedded broker is one node)")
    if args.secure and (not args.kafka or args.nodes != 1):
        raise _Refusal("--secure needs --kafka, one node")
    if args.secure:
        broker = _secure_broker()
    elif args.kafka:
        from streams.kafka import apache
        from streams.kafka.apache.cluster import start_apache_kafka_cluster

        if not apache.can_run():
            raise _Refusal("--kafka needs java and mvn on the PATH")
        try:
            if args.nodes == 1:
                broker = apache.start_apache_kafka(args.port)
            else:
                broker = start_apache_kafka_cluster(args.nodes)
        except apache.KafkaUnavailable as exc:
            raise _Refusal(str(exc).splitlines()[0]) from None
        logs = ", ".join(str(p) for p in getattr(broker, "logs", [broker.log]))
        print(f"Apache Kafka {apache.KAFKA_VERSION}; logs: {logs}", file=sys.stderr)
        if args.nodes > 1:
            print(
                "topics: TOPIC_REPLICATION_FACTOR=3 TOPIC_MIN_INSYNC_REPLICAS=2 thresholds topics",
                file=sys.stderr,
            )
    else:
        broker = start_embedded_broker(args.port)
    print(broker.bootstrap_servers, flush=True)
    try:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        broker.wait()
    finally:
        broker.stop()
    return 0


def _secure_broker() -> Any:
    """A secured Apache Kafka with a user `worker`; print how to connect."""
    import secrets

    from streams.kafka import apache
    from streams.kafka.apache.secure import start_secure_kafka

    if not apache.can_run():
        raise _Refusal("--kafka needs java and mvn on the PATH")
    try:
        broker = start_secure_kafka({"worker": secrets.token_urlsafe(18)}, clients=["worker"])
    except apache.KafkaUnavailable as exc:
        raise _Refusal(str(exc).splitlines()[0]) from None
    password = _secret_file(broker.workdir / "worker.password", broker.users["worker"])
    sasl = {**broker.sasl_env("worker"), "KAFKA_SASL_PASSWORD_FILE": str(password)}
    del sasl["KAFKA_SASL_PASSWORD"]
    admin = _secret_file(broker.workdir / "admin.properties", broker.admin_properties())
    print(f"Apache Kafka {apache.KAFKA_VERSION}, secured; log: {broker.log}", file=sys.stderr)
    print("# SASL_SSL (SCRAM-SHA-256, SCRAM-SHA-512 or PLAIN) as User:worker:", file=sys.stderr)
    print(" ".join(f"{k}={v}" for k, v in sasl.items()), file=sys.stderr)
    print("# mutual TLS (the SSL listener) as User:worker:", file=sys.stderr)
    print(" ".join(f"{k}={v}" for k, v in broker.ssl_env("worker").items()), file=sys.stderr)
    print(
        "# User:worker holds no ACL yet: grant those of `thresholds acls --principal User:worker`",
        f"with BOOTSTRAP={broker.bootstrap_servers} and the super user's {admin}",
        file=sys.stderr,
    )
    return broker


def _secret_file(path: Path, text: str) -> Path:
    """`text` in a file only its owner may read, from its creation on."""
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as file:
        file.write(text)
    return path


def _read_log(path: Path) -> list[bytes]:
    from streams.process.replay import iter_lines

    try:
        with path.open("rb") as f:
            return [line.rstrip(b"\r\n") for line in iter_lines(f) if line.strip()]
    except FileNotFoundError:
        raise _Refusal(f"log file not found: {path}") from None


def _cmd_produce(args: argparse.Namespace) -> int:
    from rich.progress import Progress

    from streams.kafka import client as kafka_io

    settings = _settings()
    topic = args.topic or settings.topics.follower_changes
    if topic in kafka_io.missing_topics(settings):
        raise _Refusal(f"topic {topic} does not exist on {settings.bootstrap_servers}")
    lines = _read_log(Path(args.log))
    results = settings.topics.verification_results
    from streams.kafka.produce import ProduceError, produce_lines

    started = time.perf_counter()
    with Progress(transient=True, disable=not sys.stderr.isatty()) as progress:
        task = progress.add_task(f"producing to {topic}", total=len(lines))
        try:
            n = produce_lines(
                settings,
                topic,
                results,
                lines,
                progress=lambda k: progress.update(task, completed=k),
            )
        except ProduceError as exc:
            raise _Refusal(str(exc)) from None
    seconds = time.perf_counter() - started
    print(f"produced {n:,} records in {seconds:.1f}s ({n / seconds:,.0f}/s)", file=sys.stderr)
    return 0


def _cmd_tail(args: argparse.Namespace) -> int:
    import orjson

    from streams.kafka import client as kafka_io

    settings = _settings()
    for seen, record in enumerate(kafka_io.tail(settings, args.topic), 1):
        line = {"topic": record.topic, "key": record.key, "value": record.value}
        sys.stdout.buffer.write(orjson.dumps(line) + b"\n")
        sys.stdout.flush()
        if args.count is not None and seen >= args.count:
            break
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from streams.kafka.verify import print_report, verify_topics

    settings = _settings()
    rules = load_rules(args.config or settings.config_path)
    report = verify_topics(settings, rules, Path(args.log), policy=args.policy)
    print_report(report)
    return 0 if report.ok else 1


def _cmd_demo(args: argparse.Namespace) -> int:
    from streams.cli.demo import run_demo

    return run_demo(log=Path(args.log) if args.log else None, config=args.config)


def register(commands: Any) -> None:
    """Add the live subcommands to the `thresholds` parser."""
    worker = commands.add_parser("worker", help="run the Faust worker (like `faust -A ... worker`)")
    worker.add_argument("--config", metavar="FILE", help="TOML configuration")
    worker.add_argument("--create-topics", action="store_true", help="create missing topics first")
    worker.add_argument(
        "--fast-start", action="store_true", help="short group timeouts (tests, demo)"
    )
    worker.add_argument("--quiet", action="store_true", help="no banner")
    worker.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    worker.set_defaults(run=_cmd_worker)

    topics = commands.add_parser("topics", help="create every missing topic, explicitly configured")
    topics.set_defaults(run=_cmd_topics)

    broker = commands.add_parser(
        "broker", help="run the embedded broker (Tansu), or Apache Kafka, until stopped"
    )
    broker.add_argument("--port", type=int, default=None, help="port (a free one by default)")
    broker.add_argument(
        "--kafka",
        action="store_true",
        help="Apache Kafka (KRaft) as a JVM process instead: needs java and mvn",
    )
    broker.add_argument(
        "--nodes",
        type=int,
        choices=(1, 3),
        default=1,
        help="with --kafka: 3 for a replicated cluster (a three-voter quorum, RF 3, min ISR 2)",
    )
    broker.add_argument(
        "--secure",
        action="store_true",
        help="with --kafka: SASL_SSL (SCRAM, PLAIN) and mutual TLS listeners, ACLs enforced; "
        "prints the client settings",
    )
    broker.set_defaults(run=_cmd_broker)

    demo = commands.add_parser("demo", help="broker + worker + a replayed sample log, live")
    demo.add_argument("--log", metavar="FILE", help="log to replay (the bundled demo log)")
    demo.add_argument("--config", metavar="FILE", help="TOML configuration")
    demo.set_defaults(run=_cmd_demo)

    produce = commands.add_parser("produce", help="produce a JSON Lines log into Kafka")
    produce.add_argument("log", metavar="LOG.jsonl")
    produce.add_argument(
        "--topic", help="topic for follower changes (VerificationResult lines go to theirs)"
    )
    produce.set_defaults(run=_cmd_produce)

    tail = commands.add_parser("tail", help="print a topic's records as JSON lines")
    tail.add_argument("topic", nargs="+", metavar="TOPIC")
    tail.add_argument("--count", type=int, default=None, help="stop after N records")
    tail.set_defaults(run=_cmd_tail)

    verify = commands.add_parser(
        "verify", help="compare the output topics with a replay of the log"
    )
    verify.add_argument("--log", required=True, metavar="LOG.jsonl")
    verify.add_argument("--config", metavar="FILE", help="TOML configuration")
    verify.add_argument(
        "--policy",
        action="store_true",
        help="also compare requests and restrictions (only meaningful on event time)",
    )
    verify.set_defaults(run=_cmd_verify)
