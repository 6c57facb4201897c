"""Hypothesis strategies shared by the property tests."""

from __future__ import annotations

from hypothesis import strategies as st

from streams.core.crossings import FollowerCountChanged
from streams.core.rules import PlatformRules

__all__ = ["account_logs", "follower_counts", "platform_rules"]

BASE_US = 1_700_000_000_000_000

# Counts that cluster around the default thresholds and their release points,
# where the interesting behaviour is.
follower_counts = st.one_of(
    st.integers(0, 2_000_000),
    st.sampled_from([489_999, 490_000, 499_999, 500_000, 979_999, 980_000, 999_999, 1_000_000]),
    st.integers(480_000, 520_000),
    st.integers(970_000, 1_030_000),
)


@st.composite
def platform_rules(draw: st.DrawFn) -> PlatformRules:
    """Ascending thresholds and a hysteresis of at most 4 decimal places."""
    thresholds = draw(
        st.lists(st.integers(1, 2_000_000), min_size=1, max_size=4, unique=True).map(sorted)
    )
    hysteresis = draw(st.integers(0, 9_999))
    return PlatformRules(tuple(thresholds), hysteresis)


@st.composite
def account_logs(
    draw: st.DrawFn, *, with_sequence: bool | None = None, max_size: int = 40
) -> list[FollowerCountChanged]:
    """Events of one account, mostly in order, some out of order or repeated."""
    n = draw(st.integers(1, max_size))
    events = []
    use_sequence = draw(st.booleans()) if with_sequence is None else with_sequence
    for i in range(n):
        jitter = draw(st.integers(-3, 3))
        events.append(
            FollowerCountChanged(
                event_id=f"e{i}",
                platform="weibo",
                account_id="a1",
                followers=draw(follower_counts),
                occurred_at=BASE_US + (i + jitter) * 1_000_000,
                sequence=(i + jitter) if use_sequence else None,
            )
        )
    return events
