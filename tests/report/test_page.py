"""The report's page in a real headless browser: every image loads, nothing
fails, and a screenshot is kept."""

from __future__ import annotations

from pathlib import Path

from streams.cli.report import run_report
from streams.config import load_rules
from streams.process.impact import Scenario
from tests.report.test_summary import ROLLOUT, write_log
from tests.support.debian import debian_program

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
    return debian_program("chromium", "chromium")


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
