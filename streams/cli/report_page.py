"""The impact report's page: one self-contained `index.html` (the charts are
files beside it; no script, no network)."""

from __future__ import annotations

from html import escape
from typing import Any

from streams.cli.report_charts import CHARTS

__all__ = ["differences", "render_page"]

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
img { max-width: 100%; border: 1px solid #eee; }
.diff { font-weight: 600; }
"""


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(_fmt(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def differences(summary: dict[str, Any]) -> list[str]:
    """Each scenario against the first, in words and numbers."""
    scenarios = summary["scenarios"]
    if len(scenarios) < 2:
        return []
    base = scenarios[0]
    lines = []
    for other in scenarios[1:]:
        prefix = f"{other['name']} vs {base['name']}:"
        keys = {
            (platform, threshold)
            for s in (base, other)
            for platform, by_threshold in s["platforms"].items()
            for threshold in by_threshold
        }
        for platform, threshold in sorted(keys, key=lambda k: (k[0], int(k[1]))):
            a = base["platforms"].get(platform, {}).get(threshold, {})
            b = other["platforms"].get(platform, {}).get(threshold, {})
            for field, what in (
                ("up", "crossings up over"),
                ("down", "crossings down under"),
                ("ever_above", "accounts ever above"),
                ("above_at_end", "accounts above at the end"),
            ):
                delta = b.get(field, 0) - a.get(field, 0)
                if delta:
                    lines.append(f"{prefix} {delta:+,} {what} {int(threshold):,} on {platform}")
        for kind, count in other["policy"].items():
            delta = count - base["policy"].get(kind, 0)
            if delta:
                lines.append(f"{prefix} {delta:+,} {kind}")
    return lines or ["the scenarios give the same numbers"]


def render_page(summary: dict[str, Any], top_accounts: dict[str, list[tuple[str, int]]]) -> str:
    """The page for `summary`, with the most-crossing accounts of each scenario (ids only)."""
    log = summary["log"]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>Follower-threshold impact report</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Follower-threshold impact report</h1>",
        "<h2>The log</h2>",
        _table(["figure", "value"], [[k.replace("_", " "), v] for k, v in log.items()]),
    ]
    diffs = differences(summary)
    if diffs:
        parts.append("<h2>Differences between scenarios</h2><ul>")
        parts += [f"<li class='diff'>{escape(d)}</li>" for d in diffs]
        parts.append("</ul>")
    for scenario in summary["scenarios"]:
        name = scenario["name"]
        parts.append(f"<h2>Scenario {escape(name)}</h2>")
        rows = [
            [platform, int(threshold), c["up"], c["down"], c["ever_above"], c["above_at_end"]]
            for platform, by_threshold in scenario["platforms"].items()
            for threshold, c in by_threshold.items()
        ]
        parts.append(
            _table(["platform", "threshold", "up", "down", "ever above", "above at end"], rows)
        )
        parts.append(_table(["policy", "count"], [[k, v] for k, v in scenario["policy"].items()]))
        top = top_accounts.get(name, [])
        if top:
            parts.append("<h3>Accounts that crossed most often (ids only)</h3>")
            parts.append(_table(["account", "crossings"], [[k, n] for k, n in top]))
    parts.append("<h2>Charts</h2>")
    for file, caption in CHARTS.items():
        parts.append(
            f"<figure><img src='{file}' alt='{escape(caption)}'>"
            f"<figcaption>{escape(caption)}</figcaption></figure>"
        )
    parts.append("</body></html>")
    return "\n".join(parts)
