#!/usr/bin/env python3
"""The project's two commands, with nothing but Python 3.11 installed.

    python3 run.py demo     start the embedded broker and workers, replay the sample, show events
    python3 run.py test     lint, type-check and run every test (what CI runs)
    python3 run.py test --fast   the same without the tests that need a broker
    python3 run.py bench    the full benchmark suite, Quix Streams side by side (not in CI)

Each makes `.venv` on first use (and again when pyproject.toml changes);
`test` and `bench` also make `.venv-quix`, Quix Streams for the benchmark's
side-by-side row.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / ".installed"


def _python() -> str:
    return str(BIN / "python")


def ensure_venv() -> None:
    """Create or refresh `.venv` when pyproject.toml changed since the last install."""
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == digest:
        return
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    print("installing dependencies into .venv (first run only) ...", flush=True)
    pip = [_python(), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "-e", f"{ROOT}[dev]"], check=True)
    STAMP.write_text(digest)


QUIX_VENV = ROOT / ".venv-quix"
QUIX_PINS = ["quixstreams==3.28.1", "msgspec==0.22.0"]
"""Quix Streams for the benchmark's side-by-side row, in an environment of its
own: it pins confluent-kafka and pydantic below this project's pins."""


def ensure_quix_venv() -> str:
    """Create `.venv-quix` once; return its Python."""
    python = QUIX_VENV / "bin" / "python"
    stamp = QUIX_VENV / ".installed"
    if not stamp.exists() or stamp.read_text() != " ".join(QUIX_PINS):
        print("installing Quix Streams into .venv-quix (first run only) ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(QUIX_VENV)
        pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        subprocess.run([*pip, *QUIX_PINS], check=True)
        stamp.write_text(" ".join(QUIX_PINS))
    return str(python)


def _run(*cmd: str) -> None:
    print("$", " ".join(cmd), flush=True)
    result = subprocess.run(cmd, cwd=ROOT, check=False)
    if result.returncode != 0:
        sys.exit(result.returncode)


def _pytest(broker: str, *args: str) -> None:
    print(f"--- tests on {broker} ---", flush=True)
    os.environ["THRESHOLDS_TEST_BROKER"] = broker
    # exit status 5 (no tests collected) is a failure, as every non-zero is
    _run(_python(), "-m", "pytest", *args)


def test(extra: list[str]) -> None:
    """Lint, type-check and run the whole test suite (the tiny benchmark run
    includes the Quix Streams row).

    Where `java` and `mvn` are present the whole suite runs on Apache Kafka
    (resolved from Maven Central on first use; a failure to start it fails the
    run), then the broker tests again on the embedded broker (Tansu). Without
    them everything runs on Tansu, and the run says so; under CI that is an
    error, since CI must pass on Apache Kafka. Extra arguments go to one
    pytest run on the first broker available.
    """
    fast = extra[:1] == ["--fast"]
    if not fast:
        os.environ["THRESHOLDS_QUIX_PYTHON"] = ensure_quix_venv()
    _run(str(BIN / "ruff"), "check", ".")
    _run(str(BIN / "ruff"), "format", "--check", ".")
    _run(str(BIN / "mypy"))
    if fast:
        # the contributor's loop: every test that needs no broker, in a minute or two
        _run(_python(), "-m", "pytest", "-m", "not integration and not faults and not bench")
        return
    if extra:
        _run(_python(), "-m", "pytest", *extra)
        return
    if shutil.which("java") and shutil.which("mvn"):
        _pytest("apache-kafka")
        _pytest("tansu", "-m", "integration or faults or bench")
        return
    if os.environ.get("CI") == "true":
        print("error: CI needs java and mvn for the Apache Kafka pass", file=sys.stderr)
        sys.exit(1)
    print(
        "note: no java/mvn here: the broker tests run on the embedded broker (Tansu) only",
        flush=True,
    )
    _pytest("tansu")


def main(argv: list[str]) -> None:
    """Dispatch `demo`, `test` or `bench`."""
    if not argv or argv[0] not in {"demo", "test", "bench"}:
        print(__doc__)
        sys.exit(2)
    ensure_venv()
    command, extra = argv[0], argv[1:]
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    if command == "test":
        test(extra)
    elif command == "demo":
        _run(str(BIN / "thresholds"), "demo", *extra)
    else:
        _run(_python(), "-m", "benchmarks", "--quix", ensure_quix_venv(), *extra)


if __name__ == "__main__":
    main(sys.argv[1:])
