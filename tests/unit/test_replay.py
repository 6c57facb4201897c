"""The replay command, exactly per the spec's replay contract."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from streams.cli import main

GOLDEN = Path(__file__).parent.parent / "golden"


def replay(tmp_path: Path, log: bytes, *args: str) -> list[dict[str, object]]:
    source = tmp_path / "in.jsonl"
    source.write_bytes(log)
    out = tmp_path / "out.jsonl"
    assert main(["replay", str(source), "--output", str(out), *args]) == 0
    return [orjson.loads(line) for line in out.read_bytes().splitlines()]


@pytest.mark.parametrize("name", ["sample", "dirty"])
def test_replay_matches_the_golden_output(tmp_path: Path, name: str) -> None:
    config = GOLDEN / f"{name}.toml"
    args = ["--config", str(config)] if config.exists() else []
    out = tmp_path / "out.jsonl"

    status = main(["replay", str(GOLDEN / f"{name}.in.jsonl"), "--output", str(out), *args])

    assert status == 0
    assert out.read_bytes() == (GOLDEN / f"{name}.out.jsonl").read_bytes()


def test_two_runs_give_byte_identical_output(tmp_path: Path) -> None:
    log = GOLDEN / "sample.in.jsonl"
    first, second = tmp_path / "1.jsonl", tmp_path / "2.jsonl"

    main(["replay", str(log), "--output", str(first), "--config", str(GOLDEN / "sample.toml")])
    main(["replay", str(log), "--output", str(second), "--config", str(GOLDEN / "sample.toml")])

    assert first.read_bytes() == second.read_bytes()


def test_every_dirty_line_is_a_dead_letter_with_a_reason(tmp_path: Path) -> None:
    records = replay(tmp_path, (GOLDEN / "dirty.in.jsonl").read_bytes())

    letters = [r["value"] for r in records if str(r["topic"]).endswith("-dlq")]
    assert len(letters) == 20
    assert all(isinstance(v, dict) and v["reason"] and v["detail"] for v in letters)


def test_blank_lines_crlf_and_a_leading_bom_are_accepted(tmp_path: Path) -> None:
    line = (
        b'{"event_id":"e","platform":"weibo","account_id":"a","followers":600000,'
        b'"occurred_at":"2023-11-01T00:00:00Z"}'
    )

    records = replay(tmp_path, b"\xef\xbb\xbf" + line + b"\r\n\r\n  \n")

    assert [r["topic"] for r in records] == ["threshold-crossings", "verification-requests"]


def test_a_line_that_is_not_utf8_is_a_dead_letter(tmp_path: Path) -> None:
    records = replay(tmp_path, b"\xff\xfe\xfd\n")

    value = records[0]["value"]
    assert isinstance(value, dict)
    assert (value["reason"], value["value_encoding"], records[0]["key"]) == (
        "invalid_encoding",
        "base64",
        None,
    )


def test_a_line_with_an_unknown_type_is_an_unknown_type_dead_letter(tmp_path: Path) -> None:
    records = replay(tmp_path, b'{"type":"Nope","platform":"weibo","account_id":"a"}\n')

    value = records[0]["value"]
    assert isinstance(value, dict)
    assert (records[0]["topic"], value["reason"], records[0]["key"]) == (
        "follower-changes-dlq",
        "unknown_type",
        "weibo:a",
    )


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args], capture_output=True, text=True, check=False
    )


def test_a_missing_input_prints_one_line_and_exits_2() -> None:
    result = run_cli("replay", "missing.jsonl")

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "missing.jsonl" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_invalid_configuration_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("hysteresis = 3\n")

    result = run_cli("replay", str(GOLDEN / "sample.in.jsonl"), "--config", str(config))

    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "hysteresis" in result.stderr


def test_replay_writes_to_stdout_by_default_and_says_nothing_else_when_piped() -> None:
    result = run_cli(
        "replay", str(GOLDEN / "sample.in.jsonl"), "--config", str(GOLDEN / "sample.toml")
    )

    assert result.returncode == 0
    assert result.stdout.encode() == (GOLDEN / "sample.out.jsonl").read_bytes()
    assert result.stderr == ""


def test_a_closed_pipe_ends_a_command_quietly(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text(
        "".join(
            f'{{"event_id":"e{i}","platform":"weibo","account_id":"a{i % 50}",'
            f'"followers":{i * 997 % 1_200_000},"occurred_at":"2026-01-01T00:00:00Z"}}\n'
            for i in range(30_000)
        )
    )
    result = subprocess.run(  # noqa: S602 - a fixed pipeline of our own command
        f"{sys.executable} -m streams.cli replay {log} | head -1",
        shell=True,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.stderr == ""
