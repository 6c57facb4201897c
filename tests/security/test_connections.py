"""Every part connects to a secured Apache Kafka in each mode: SASL_SSL with
SCRAM-SHA-256, SCRAM-SHA-512 and PLAIN, and mutual TLS; a bad credential is
refused in one line, never a hang or a traceback."""

from __future__ import annotations

import os
import time
import urllib.request
from pathlib import Path

import orjson
import pytest

from streams.cli.sandbox import Harness
from streams.kafka.apache.secure import ADMIN, SecureKafka, make_pki
from streams.testing.harness import thresholds
from tests.support.expectations import assert_outputs_equal_replay, log_from_now
from tests.support.processes import run_module

MODES = ["SCRAM-SHA-256", "SCRAM-SHA-512", "PLAIN", "mutual TLS"]


def security(broker: SecureKafka, mode: str, user: str = ADMIN) -> dict[str, str]:
    """The security settings of `user` in `mode`, without the bootstrap address."""
    env = broker.ssl_env(user) if mode == "mutual TLS" else broker.sasl_env(user, mode)
    del env["KAFKA_BOOTSTRAP_SERVERS"]
    return env


def security_with_password_file(broker: SecureKafka, folder: Path) -> dict[str, str]:
    """The super user's SCRAM-SHA-512 settings, the password in a file (as a
    mounted secret), the bootstrap address included."""
    secret = folder / "password"
    secret.write_text(broker.users[ADMIN] + "\n")
    settings = broker.sasl_env(ADMIN)
    del settings["KAFKA_SASL_PASSWORD"]
    return {**settings, "KAFKA_SASL_PASSWORD_FILE": str(secret)}


def bootstrap(broker: SecureKafka, mode: str) -> str:
    return broker.ssl_bootstrap_servers if mode == "mutual TLS" else broker.bootstrap_servers


@pytest.mark.parametrize("mode", MODES)
def test_the_worker_and_the_tools_connect_in_each_mode(
    secure_kafka: SecureKafka, tmp_path: Path, mode: str
) -> None:
    harness = Harness(
        bootstrap(secure_kafka, mode), partitions=2, security=security(secure_kafka, mode)
    )
    log, lines = log_from_now(tmp_path, 2_000, seed=28)
    first = orjson.loads(lines[0])
    try:
        created = thresholds(harness, "topics", timeout=120)
        assert created.returncode == 0, created.stderr
        worker = harness.start_worker()
        produced = thresholds(harness, "produce", str(log), timeout=120)
        assert produced.returncode == 0, produced.stderr
        harness.wait_processed(timeout=120)

        assert_outputs_equal_replay(harness, log, exactly_once=False)
        tail = thresholds(
            harness, "tail", harness.topics.threshold_crossings, "--count", "1", timeout=120
        )
        assert tail.returncode == 0, tail.stderr
        verify = thresholds(harness, "verify", "--log", str(log), timeout=120)
        assert verify.returncode == 0, verify.stdout + verify.stderr
        lookup = thresholds(
            harness, "lookup", first["platform"], first["account_id"], "--url", worker.url
        )
        assert lookup.returncode == 0, lookup.stderr
    finally:
        harness.stop()


def _bad_credential(broker: SecureKafka, case: str, folder: Path) -> tuple[str, dict[str, str]]:
    """(bootstrap servers, security settings) of a client that `case` makes wrong."""
    sasl = security(broker, "SCRAM-SHA-512", "alice")
    if case == "wrong password":
        return broker.bootstrap_servers, {**sasl, "KAFKA_SASL_PASSWORD": "wrong-password"}
    if case == "unknown user":
        return broker.bootstrap_servers, {**sasl, "KAFKA_SASL_USERNAME": "mallory"}
    if case == "untrusted CA":
        stranger = make_pki(folder / "stranger", [])  # another CA
        return broker.bootstrap_servers, {**sasl, "KAFKA_SSL_CAFILE": str(stranger.ca)}
    if case == "certificate for another host":  # the node's certificate names localhost only
        return broker.bootstrap_servers.replace("localhost", "127.0.0.1"), sasl
    assert case == "missing client certificate"
    tls = security(broker, "mutual TLS", "alice")
    del tls["KAFKA_SSL_CERTFILE"], tls["KAFKA_SSL_KEYFILE"]
    return broker.ssl_bootstrap_servers, tls


REFUSALS = {
    "wrong password": "authentication failed",
    "unknown user": "authentication failed",
    "untrusted CA": "does not trust the certificate",
    "certificate for another host": "certificate is not valid for '127.0.0.1'",
    "missing client certificate": "wants a client certificate",
}


@pytest.mark.parametrize("command", ["topics", "worker"])
@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_bad_credential_is_refused_at_start_up_in_one_line(
    secure_kafka: SecureKafka, tmp_path: Path, case: str, command: str
) -> None:
    servers, settings = _bad_credential(secure_kafka, case, tmp_path)
    harness = Harness(servers, security=settings)

    started = time.monotonic()
    result = thresholds(harness, command, timeout=120)

    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert REFUSALS[case] in result.stderr.lower()
    assert "wrong-password" not in result.stderr
    assert time.monotonic() - started < 30


def test_a_principal_without_acls_is_refused_naming_the_permission(
    secure_kafka: SecureKafka,
) -> None:
    for mode in ("SCRAM-SHA-512", "mutual TLS"):
        harness = Harness(
            bootstrap(secure_kafka, mode), security=security(secure_kafka, mode, "alice")
        )

        result = thresholds(harness, "topics", timeout=120)

        assert result.returncode == 2
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "TopicAuthorizationFailed" in result.stderr
        assert "thresholds acls" in result.stderr


def test_a_secret_is_in_no_output_argument_or_metric(
    secure_kafka: SecureKafka, tmp_path: Path
) -> None:
    password, token = secure_kafka.users[ADMIN], "web-token-kept-in-a-file"
    (tmp_path / "token").write_text(token + "\n")
    settings = security_with_password_file(secure_kafka, tmp_path)
    settings["THRESHOLDS_WEB_TOKEN_FILE"] = str(tmp_path / "token")
    del settings["KAFKA_BOOTSTRAP_SERVERS"]
    harness = Harness(secure_kafka.bootstrap_servers, partitions=2, security=settings)
    log, lines = log_from_now(tmp_path, 500, seed=29)
    first = orjson.loads(lines[0])
    try:
        outputs = [thresholds(harness, "topics", timeout=120)]
        worker = harness.start_worker()
        outputs.append(thresholds(harness, "produce", str(log), timeout=120))
        harness.wait_processed(timeout=120)
        outputs.append(thresholds(harness, "verify", "--log", str(log), timeout=120))
        assert outputs[-1].returncode == 0, outputs[-1].stdout + outputs[-1].stderr
        outputs.append(
            thresholds(
                harness, "lookup", first["platform"], first["account_id"], "--url", worker.url
            )
        )
        assert outputs[-1].returncode == 0, outputs[-1].stderr  # the token was sent
        with urllib.request.urlopen(f"{worker.url}/metrics", timeout=10) as answer:  # noqa: S310
            metrics = answer.read().decode()
        arguments = [
            Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
            for pid in (worker.process.pid, worker.worker_pid)
        ]

        captured = [o.stdout + o.stderr for o in outputs] + [metrics, *arguments]
        captured.append(worker.log.read_text(errors="replace"))
        assert all(password not in text and token not in text for text in captured)
    finally:
        harness.stop()


USERS_SUITE = """
from pathlib import Path


def test_a_crossing_on_the_users_cluster(thresholds_worker, produce_log, consume_topic,
                                         thresholds_harness):
    produce_log(Path({sample!r}))
    crossings = consume_topic(thresholds_harness.topics.threshold_crossings)
    assert {{c.value["event_id"] for c in crossings}}
"""


def test_the_pytest_plugin_fixtures_run_on_a_given_secured_cluster(
    secure_kafka: SecureKafka, tmp_path: Path
) -> None:
    sample = Path(__file__).parents[2] / "streams" / "samples" / "follower-changes.jsonl"
    (tmp_path / "test_users_suite.py").write_text(USERS_SUITE.format(sample=str(sample)))
    env = {**os.environ, **security_with_password_file(secure_kafka, tmp_path)}
    env.pop("THRESHOLDS_TEST_BROKER", None)

    result = run_module(
        "pytest", "-q", "-p", "no:cacheprovider", "test_users_suite.py", env=env, cwd=tmp_path
    )

    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout


def test_the_demo_runs_on_a_given_secured_cluster(
    secure_kafka: SecureKafka, tmp_path: Path
) -> None:
    env = {**os.environ, **security_with_password_file(secure_kafka, tmp_path), "COLUMNS": "200"}

    result = run_module("streams.cli", "demo", env=env)

    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "live output equals `thresholds replay` of the same log" in result.stdout
    assert secure_kafka.users[ADMIN] not in result.stdout + result.stderr
