"""The report's page in a real headless browser: every image loads, nothing
fails, and a screenshot is kept."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from streams.cli.report import run_report
from streams.config import load_rules
from streams.process.impact import Scenario
from tests.report.test_summary import ROLLOUT, write_log

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str:
    """Debian's chromium, installed when missing (as root, from Debian's packages)."""
    found = shutil.which("chromium")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], env=env, check=False, timeout=600)
        subprocess.run(
            ["apt-get", "install", "-y", "-q", "chromium"], env=env, check=True, timeout=1200
        )
        found = shutil.which("chromium")
    if not found:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing and could not be installed")
        pytest.skip("no chromium here, and it cannot be installed (not root, no apt-get)")
    return found


def test_the_report_page_shows_every_chart_and_nothing_fails(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    log = write_log(tmp_path / "log.jsonl", seed=7)
    out = tmp_path / "report"
    scenarios = [Scenario("default", load_rules(None)), Scenario("rollout", load_rules(ROLLOUT))]
    run_report(log, scenarios, out, jobs=1)
    failures: list[str] = []

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("requestfailed", lambda r: failures.append(f"request {r.url}"))
        page.on("pageerror", lambda e: failures.append(f"error {e}"))
        page.on("console", lambda m: failures.append(m.text) if m.type == "error" else None)
        page.goto((out / "index.html").as_uri())
        page.wait_for_load_state("load")
        images = page.eval_on_selector_all(
            "img", "imgs => imgs.map(i => [i.getAttribute('src'), i.complete, i.naturalWidth])"
        )
        text = page.inner_text("body")
        page.screenshot(path=str(out / "screenshot.png"), full_page=True)
        browser.close()

    assert len(images) == 4
    assert all(complete and width > 0 for _, complete, width in images), images
    assert not failures
    assert "Differences between scenarios" in text
    assert "rollout vs default" in text
    assert (out / "screenshot.png").stat().st_size > 10_000
