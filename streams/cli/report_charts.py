"""The impact report's charts (matplotlib, PNG), one figure per question,
scenarios side by side."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from streams.core.rules import Rules
from streams.core.timestamps import MAX_US, MIN_US, format_utc
from streams.process.impact import Tally, active_days

__all__ = ["CHARTS", "draw_charts"]

CHARTS = {
    "above.png": "Accounts above each threshold, end of each day",
    "crossings.png": "Threshold crossings per day, up and down",
    "policy.png": "Verification requests, restrictions and lifts per day",
    "oscillation.png": "Crossings per account: who oscillates",
}
"""Chart file -> what it shows (also the page's captions)."""

_DAY_US = 86_400 * 1_000_000
# day numbers of 0001-01-01 and 9999-12-31 (ticks outside them get no label)
_FIRST_DAY, _LAST_DAY = MIN_US // _DAY_US, MAX_US // _DAY_US
# beyond this many days a chart draws the days that have data, not every day
_DENSE_DAYS = 20_000


def _date(day: int) -> float:
    # matplotlib's date numbers are days since 1970-01-01, as our day numbers are
    return float(day)


def _span(tally: Tally) -> list[int]:
    """The days a chart draws: every day of the log, or on a span of
    centuries (a log may hold any date from year 1 to 9999) the days with data."""
    active = active_days(tally)
    if active and active[-1] - active[0] <= _DENSE_DAYS:
        return list(range(active[0], active[-1] + 1))
    return active


def _style(
    ax: Axes, title: str, ylabel: str, span: Sequence[int] | None = None, dates: bool = True
) -> None:
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if dates:
        if span:
            # explicit limits: the default margins step past year 9999 or before year 1
            ax.set_xlim(max(span[0] - 1, _FIRST_DAY), min(span[-1] + 1, _LAST_DAY))
        ax.xaxis.set_major_formatter(FuncFormatter(_day_label))
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)


def _day_label(day: float, _: int | None = None) -> str:
    whole = int(day)
    return format_utc(whole * _DAY_US)[:10] if _FIRST_DAY <= whole <= _LAST_DAY else ""


def _figure(rows: int) -> tuple[Figure, list[Axes]]:
    fig, axes = plt.subplots(rows, 1, figsize=(10, 3.2 * rows), squeeze=False)
    return fig, [a for (a,) in axes]


def _save(fig: Figure, path: Path) -> None:
    fig.suptitle(CHARTS[path.name])
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _above(path: Path, scenarios: Sequence[tuple[str, Tally]]) -> None:
    series = sorted({(p, t) for _, tally in scenarios for _, p, t in tally.above_change_per_day})
    fig, axes = _figure(max(1, len(series)))
    spans = {name: _span(tally) for name, tally in scenarios}
    every = sorted({d for span in spans.values() for d in span})
    for ax, (platform, threshold) in zip(axes, series, strict=False):
        for name, tally in scenarios:
            level, values = 0, []
            for day in spans[name]:
                level += tally.above_change_per_day[(day, platform, threshold)]
                values.append(level)
            ax.step([_date(d) for d in spans[name]], values, where="post", label=name)
        _style(ax, f"{platform}: accounts above {threshold:,} followers", "accounts", every)
        ax.legend(fontsize=8)
    axes[-1].set_xlabel("date (UTC)")
    _save(fig, path)


def _crossings(path: Path, scenarios: Sequence[tuple[str, Tally]]) -> None:
    fig, axes = _figure(len(scenarios))
    for ax, (name, tally) in zip(axes, scenarios, strict=True):
        span = _span(tally)
        dates = [_date(d) for d in span]
        ax.bar(
            dates, [tally.crossings_per_day[(d, "up")] for d in span], label="up", color="#c0392b"
        )
        ax.bar(
            dates,
            [-tally.crossings_per_day[(d, "down")] for d in span],
            label="down (drawn below zero)",
            color="#2980b9",
        )
        _style(ax, f"scenario {name}", "crossings per day", span)
        ax.legend(fontsize=8)
    axes[-1].set_xlabel("date (UTC)")
    _save(fig, path)


def _policy(path: Path, scenarios: Sequence[tuple[str, Tally, Rules]]) -> None:
    kinds = {
        "VerificationRequested": ("requests", "#e67e22"),
        "TrafficRestricted": ("restrictions", "#c0392b"),
        "RestrictionLifted": ("lifts", "#27ae60"),
    }
    fig, axes = _figure(len(scenarios))
    for ax, (name, tally, rules) in zip(axes, scenarios, strict=True):
        span = _span(tally)
        for kind, (label, colour) in kinds.items():
            values = [tally.policy_per_day[(d, kind)] for d in span]
            ax.plot([_date(d) for d in span], values, label=label, color=colour)
        for at, phase in rules.phase_starts():
            when = at / _DAY_US
            ax.axvline(when, color="grey", linestyle="--", linewidth=1)
            ax.annotate(
                f"phase {phase.threshold:,}",
                (when, 1),
                xycoords=("data", "axes fraction"),
                fontsize=7,
                rotation=90,
                va="top",
            )
        _style(ax, f"scenario {name} (dashed: phase starts)", "records per day", span)
        ax.legend(fontsize=8)
    axes[-1].set_xlabel("date (UTC)")
    _save(fig, path)


def _oscillation(path: Path, scenarios: Sequence[tuple[str, Tally]]) -> None:
    fig, axes = _figure(1)
    ax = axes[0]
    top = max((max(t.crossings_per_account.values(), default=0) for _, t in scenarios), default=0)
    bins = range(1, top + 2)
    for name, tally in scenarios:
        counts = list(tally.crossings_per_account.values())
        ax.hist(counts, bins=bins, alpha=0.5, label=name, align="left")
    ax.set_yscale("log")
    _style(ax, "accounts by number of crossings (log scale)", "accounts", dates=False)
    ax.set_xlabel("crossings of one account over the log")
    ax.legend(fontsize=8)
    _save(fig, path)


def draw_charts(out: Path, scenarios: Sequence[tuple[str, Tally, Rules]]) -> list[str]:
    """Write every chart into `out`; return their file names."""
    pairs = [(name, tally) for name, tally, _ in scenarios]
    _above(out / "above.png", pairs)
    _crossings(out / "crossings.png", pairs)
    _policy(out / "policy.png", scenarios)
    _oscillation(out / "oscillation.png", pairs)
    return list(CHARTS)
