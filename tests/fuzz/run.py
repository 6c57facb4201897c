"""Coverage-guided fuzzing of one decoder with atheris (libFuzzer).

    python -m tests.fuzz.run TARGET [--seconds N] [--runs N --seed N]
                             [--corpus DIR] [--artifacts DIR]

TARGET is a name in `tests.fuzz.targets.TARGETS`. The run starts from the
target's valid seeds (and the corpus, which it grows), and stops at the first
input whose outcome breaks the oracle, writing it to the artifacts folder
(`crash-<sha1>`): copy it to `tests/fuzz/regressions/TARGET/` to keep it as
a regression case. CI runs every target for a fixed number of runs from a
fixed seed (the same inputs on every run, so CI does not fail by luck); run
longer by hand, where a random seed explores further.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["streams", "schemas"]):
    from tests.fuzz.targets import SEEDS, TARGETS


def main(argv: list[str]) -> None:
    """Fuzz one target until the budget ends or the oracle fails."""
    parser = argparse.ArgumentParser(prog="python -m tests.fuzz.run")
    parser.add_argument("target", choices=sorted(TARGETS))
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--runs", type=int, default=-1, help="stop after N inputs (-1: no limit)")
    parser.add_argument("--seed", type=int, default=0, help="libFuzzer's seed (0: random)")
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--artifacts", type=Path, default=Path("."))
    args = parser.parse_args(argv)
    corpus = args.corpus or Path(tempfile.mkdtemp(prefix=f"fuzz-{args.target}-"))
    corpus.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(SEEDS[args.target]):
        (corpus / f"seed-{i}").write_bytes(seed)
    args.artifacts.mkdir(parents=True, exist_ok=True)
    libfuzzer = [
        sys.argv[0],
        f"-max_total_time={args.seconds}",
        f"-runs={args.runs}",
        f"-seed={args.seed}",
        f"-artifact_prefix={args.artifacts}/",
        "-max_len=4096",
        "-print_final_stats=1",
        str(corpus),
    ]
    atheris.Setup(libfuzzer, TARGETS[args.target])
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv[1:])
