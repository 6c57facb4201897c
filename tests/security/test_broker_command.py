"""`thresholds broker --kafka --secure`, as an operator uses it: the settings
it prints connect, its principal holds nothing until granted, and the super
user's file it names grants what `thresholds acls` lists."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from streams.kafka import apache
from streams.kafka.acls import topics_acls
from streams.testing.harness import Harness, thresholds
from tests.security.test_acls import grant_with


def _settings_line(lines: list[str], header: str) -> dict[str, str]:
    line = lines[lines.index(next(x for x in lines if x.startswith(header))) + 1]
    return dict(pair.split("=", 1) for pair in line.split())


def _admin_config(properties: Path, bootstrap: str) -> dict[str, str]:
    values = dict(line.split("=", 1) for line in properties.read_text().splitlines() if "=" in line)
    jaas = values["sasl.jaas.config"]
    return {
        "bootstrap_servers": bootstrap,
        "security_protocol": values["security.protocol"],
        "sasl_mechanism": values["sasl.mechanism"],
        "sasl_plain_username": jaas.split('username="')[1].split('"')[0],
        "sasl_plain_password": jaas.split('password="')[1].split('"')[0],
        "ssl_cafile": values["ssl.truststore.location"],
    }


def test_the_secure_broker_command_prints_settings_that_connect_and_an_admin_that_grants() -> None:
    if os.environ.get("THRESHOLDS_TEST_BROKER") == "tansu" or not apache.can_run():
        pytest.skip("the security suite runs on Apache Kafka")
    process = subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "broker", "--kafka", "--secure"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        assert process.stderr is not None
        bootstrap = process.stdout.readline().strip()  # printed once the node answers
        assert bootstrap, process.stderr.read()[-2000:]
        lines: list[str] = []
        deadline = time.monotonic() + 30
        while not any("admin.properties" in line for line in lines):
            assert time.monotonic() < deadline, lines
            lines.append(process.stderr.readline().rstrip("\n"))
        sasl = _settings_line(lines, "# SASL_SSL")
        admin = Path(next(x for x in lines if "admin.properties" in x).split()[-1])
        del sasl["KAFKA_BOOTSTRAP_SERVERS"]
        harness = Harness(bootstrap, security=sasl)

        refused = thresholds(harness, "topics", timeout=120)
        grant_with(_admin_config(admin, bootstrap), "User:worker", topics_acls(harness.settings))
        created = thresholds(harness, "topics", timeout=120)

        assert refused.returncode == 2, refused.stderr
        assert "thresholds acls" in refused.stderr
        assert created.returncode == 0, created.stderr
        assert oct(admin.stat().st_mode & 0o777) == "0o600"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.communicate(timeout=60)  # and closes the pipes
