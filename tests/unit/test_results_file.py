"""RESULTS.md is rewritten one section at a time."""

from __future__ import annotations

from pathlib import Path

from benchmarks.results_file import replace_section


def test_a_section_is_replaced_and_the_others_kept(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n## A\n\nold a\n\n## B\n\nhand-written b\n")

    replace_section(results, "A", "new a")

    assert results.read_text() == "# Benchmark results\n\n## A\n\nnew a\n\n## B\n\nhand-written b\n"


def test_a_new_section_is_appended(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n## A\n\na\n")

    replace_section(results, "C", "c")

    assert results.read_text() == "# Benchmark results\n\n## A\n\na\n\n## C\n\nc\n"


def test_the_last_section_is_replaced_to_the_end(tmp_path: Path) -> None:
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n## A\n\na\n\n## B\n\nold b\nmore\n")

    replace_section(results, "B", "new b")

    assert results.read_text() == "# Benchmark results\n\n## A\n\na\n\n## B\n\nnew b\n"
