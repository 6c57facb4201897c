"""Every decoder is total: arbitrary bytes end as a decoded record or a dead letter.

The oracles live in `targets.py`; here Hypothesis drives them over arbitrary
bytes and over valid records with one byte flipped, inserted or deleted, the
fuzzer's kept crashes are replayed, and the coverage-guided fuzzer itself
runs for a fixed budget.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.core.timestamps import MAX_US, MIN_US, format_utc
from tests.fuzz.targets import SEEDS, TARGETS, replay_line, threshold_crossed

REGRESSIONS = Path(__file__).parent / "regressions"
ROOT = Path(__file__).parent.parent.parent
# a fixed number of runs from a fixed seed: the same inputs on every CI run
FUZZ_RUNS = int(os.environ.get("THRESHOLDS_FUZZ_RUNS", "100000"))
FUZZ_SEED = int(os.environ.get("THRESHOLDS_FUZZ_SEED", "1"))
FUZZ_SECONDS = 300  # a bound only: 100,000 runs take 10-30 s


@pytest.mark.parametrize("target", sorted(TARGETS))
@settings(max_examples=400, deadline=None)
@given(data=st.binary(max_size=400))
def test_arbitrary_bytes_are_decoded_or_dead_lettered(target: str, data: bytes) -> None:
    TARGETS[target](data)


@st.composite
def _one_byte_changed(draw: st.DrawFn, target: str) -> bytes:
    seed = draw(st.sampled_from(SEEDS[target]))
    if not seed:
        return draw(st.binary(max_size=3))
    at = draw(st.integers(0, len(seed) - 1))
    byte = bytes([draw(st.integers(0, 255))])
    how = draw(st.sampled_from(["flip", "insert", "delete"]))
    if how == "flip":
        return seed[:at] + byte + seed[at + 1 :]
    if how == "insert":
        return seed[:at] + byte + seed[at:]
    return seed[:at] + seed[at + 1 :]


@pytest.mark.parametrize("target", sorted(TARGETS))
@settings(max_examples=600, deadline=None)
@given(data=st.data())
def test_a_valid_record_with_one_byte_changed_is_decoded_or_dead_lettered(
    target: str, data: st.DataObject
) -> None:
    TARGETS[target](data.draw(_one_byte_changed(target)))


@settings(max_examples=300, deadline=None)
@given(at=st.integers(MIN_US, MAX_US), followers=st.sampled_from([500_000, 1_000_000]))
def test_a_crossing_at_any_representable_instant_is_processed_live_and_in_replay(
    at: int, followers: int
) -> None:
    stamp = format_utc(at).encode()
    change = SEEDS["replay_line"][0].replace(b"500000", str(followers).encode())
    crossing = SEEDS["threshold_crossed"][0]

    replay_line(change.replace(b"2023-11-01T08:00:00.5+08:00", stamp))
    threshold_crossed(crossing.replace(b"2023-11-01T00:00:00Z", stamp))


@pytest.mark.parametrize(
    "case",
    sorted(REGRESSIONS.glob("*/*")),
    ids=lambda p: f"{p.parent.name}/{p.name}",
)
def test_every_input_the_fuzzer_once_crashed_on_is_handled(case: Path) -> None:
    TARGETS[case.parent.name](case.read_bytes())


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_the_coverage_guided_fuzzer_finds_nothing_in_its_budget(
    target: str, tmp_path: Path
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.fuzz.run",
            target,
            f"--seconds={FUZZ_SECONDS}",
            f"--runs={FUZZ_RUNS}",
            f"--seed={FUZZ_SEED}",
            f"--artifacts={tmp_path}",
            f"--corpus={tmp_path / 'corpus'}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=FUZZ_SECONDS + 120,
        check=False,
    )

    crashes = sorted(tmp_path.glob("crash-*"))
    assert not crashes, (
        # atheris prints the Python traceback on stdout, libFuzzer on stderr
        f"{target}: the fuzzer failed on {crashes[0].read_bytes()!r} (keep it in "
        f"tests/fuzz/regressions/{target}/):\n{result.stdout[-3000:]}\n{result.stderr[-1500:]}"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "number_of_executed_units" in result.stderr
