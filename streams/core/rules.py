"""Configured rules: thresholds, hysteresis and verification phases per platform."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = [
    "DEFAULT_GRACE_PERIOD_DAYS",
    "DEFAULT_THRESHOLDS",
    "HYSTERESIS_SCALE",
    "Phase",
    "PlatformRules",
    "Rules",
]

DEFAULT_THRESHOLDS: tuple[int, ...] = (500_000, 1_000_000)
DEFAULT_GRACE_PERIOD_DAYS = 30
# Hysteresis is a decimal with at most 4 places, held as an integer count of
# 1/10000 so that the release test stays exact integer arithmetic.
HYSTERESIS_SCALE = 10_000


@dataclass(frozen=True, slots=True)
class Phase:
    """A verification phase: `threshold` is enforced from `effective_from`.

    `effective_from` is UTC microseconds since the epoch, or None for "since the
    beginning of time" (the default phases).
    """

    threshold: int
    effective_from: int | None
    grace_period_days: int


@dataclass(frozen=True, slots=True)
class PlatformRules:
    """The crossing and policy rules of one platform."""

    thresholds: tuple[int, ...] = DEFAULT_THRESHOLDS
    hysteresis: int = 200  # in 1/HYSTERESIS_SCALE, so 0.02
    phases: tuple[Phase, ...] = ()
    # threshold -> followers * SCALE must stay at or above this to stay "above"
    release: Mapping[int, int] = field(default_factory=dict, compare=False)
    threshold_set: frozenset[int] = field(default=frozenset(), compare=False)

    def __post_init__(self) -> None:
        keep = HYSTERESIS_SCALE - self.hysteresis
        object.__setattr__(self, "release", {t: t * keep for t in self.thresholds})
        object.__setattr__(self, "threshold_set", frozenset(self.thresholds))
        if not self.phases:
            default = tuple(Phase(t, None, DEFAULT_GRACE_PERIOD_DAYS) for t in self.thresholds)
            object.__setattr__(self, "phases", default)


@dataclass(frozen=True, slots=True)
class Rules:
    """Rules for every platform: a default plus per-platform overrides."""

    default: PlatformRules = field(default_factory=PlatformRules)
    platforms: Mapping[str, PlatformRules] = field(default_factory=dict)

    def for_platform(self, platform: str) -> PlatformRules:
        """The rules that apply to `platform`."""
        return self.platforms.get(platform, self.default)

    def phase_starts(self) -> list[tuple[int, Phase]]:
        """Every dated phase start (time, phase), across platforms, in time order."""
        seen: set[tuple[int, Phase]] = set()
        for rules in (self.default, *self.platforms.values()):
            for phase in rules.phases:
                if phase.effective_from is not None:
                    seen.add((phase.effective_from, phase))
        return sorted(seen, key=lambda item: (item[0], item[1].threshold))
