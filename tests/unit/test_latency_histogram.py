"""The processing-time histogram counts as prometheus-client's own Histogram does."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from streams.engine.metrics import LATENCY_BUCKETS, Latencies

seconds = st.lists(
    st.sampled_from(LATENCY_BUCKETS) | st.floats(min_value=0, max_value=120), max_size=60
)


def _exposition(values: list[float]) -> bytes:
    registry = CollectorRegistry()
    ours = Latencies()
    ours.observe(values)
    registry.register(ours)
    return generate_latest(registry)


def _reference(values: list[float]) -> bytes:
    registry = CollectorRegistry()
    histogram = Histogram(
        "thresholds_processing_seconds",
        "An input record's broker timestamp to its outputs acknowledged",
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    for value in values:
        histogram.observe(value)
    return (
        b"\n".join(
            line for line in generate_latest(registry).splitlines() if b"_created" not in line
        )
        + b"\n"
    )


@given(seconds)
def test_the_histogram_equals_prometheus_clients_for_any_durations(values: list[float]) -> None:
    assert _exposition(values) == _reference(values)


def test_a_duration_on_a_bucket_bound_counts_in_that_bucket() -> None:
    text = _exposition([0.02]).decode()
    assert 'thresholds_processing_seconds_bucket{le="0.01"} 0.0' in text
    assert 'thresholds_processing_seconds_bucket{le="0.02"} 1.0' in text
