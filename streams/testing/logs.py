"""Realistic follower-change logs for tests and benchmarks, from a seed."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from streams.core.timestamps import format_utc, parse_rfc3339

__all__ = [
    "follower_change",
    "generate_events",
    "hostile_records",
    "verification_result",
    "write_log",
]

_START_US = int(datetime(2023, 11, 1, tzinfo=UTC).timestamp()) * 1_000_000
_PLATFORMS = ("weibo", "douyin", "baidu", "bilibili", "wechat")


def follower_change(
    account: str,
    followers: int,
    occurred_at: str = "2023-11-01T00:00:00Z",
    *,
    platform: str = "weibo",
    event_id: str | None = None,
    sequence: int | None = None,
    delta: int | None = None,
) -> dict[str, Any]:
    """A `FollowerCountChanged` value, with only the interesting parts to write."""
    value: dict[str, Any] = {
        "type": "FollowerCountChanged",
        "schema_version": 1,
        "event_id": event_id or f"{platform}-{account}-{followers}-{occurred_at}",
        "platform": platform,
        "account_id": account,
        "followers": followers,
        "delta": delta,
        "occurred_at": occurred_at,
    }
    if sequence is not None:
        value["sequence"] = sequence
    return value


def verification_result(
    account: str,
    status: str = "verified",
    decided_at: str = "2023-11-01T00:00:00Z",
    *,
    platform: str = "weibo",
    event_id: str | None = None,
) -> dict[str, Any]:
    """A `VerificationResult` value."""
    return {
        "type": "VerificationResult",
        "schema_version": 1,
        "event_id": event_id or f"result-{platform}-{account}-{decided_at}",
        "platform": platform,
        "account_id": account,
        "status": status,
        "decided_at": decided_at,
    }


def generate_events(
    n_events: int, n_accounts: int = 10_000, *, seed: int = 7, start_us: int = _START_US
) -> Iterator[dict[str, Any]]:
    """Follower changes: log-normal counts, a fifth of the accounts walking near
    500K and 1M, about 1% out of order and 0.5% sent twice by the source."""
    rng = random.Random(seed)
    counts: list[int] = []
    sequences = [0] * n_accounts
    for i in range(n_accounts):
        if i % 5 == 0:
            counts.append(rng.choice((500_000, 1_000_000)) + rng.randint(-30_000, 30_000))
        else:
            counts.append(min(int(rng.lognormvariate(9.5, 2.2)), 10**12))
    clock = start_us
    previous: dict[str, Any] | None = None
    for n in range(n_events):
        if previous is not None and rng.random() < 0.005:
            yield previous  # the source sent it twice
            continue
        i = rng.randrange(n_accounts)
        step = max(1, counts[i] // 200)
        counts[i] = max(0, counts[i] + rng.randint(-step, step))
        sequences[i] += 1
        clock += rng.randint(0, 2_000_000)
        at = clock
        sequence: int | None = sequences[i]
        if rng.random() < 0.01:
            at -= rng.randint(1, 60_000_000)  # arrives late, out of order
            sequence = max(0, sequences[i] - rng.randint(1, 3))
        if i % 3 == 0:
            sequence = None
        previous = {
            "event_id": f"ev-{n}",
            "platform": _PLATFORMS[i % len(_PLATFORMS)],
            "account_id": f"acct{i:07d}",
            "followers": counts[i],
            "delta": None,
            "occurred_at": format_utc(at),
            "sequence": sequence,
        }
        yield previous


def write_log(path: Path, events: Iterator[dict[str, Any]] | list[dict[str, Any]]) -> int:
    """Write values as JSON Lines; return how many."""
    n = 0
    with path.open("wb") as f:
        for value in events:
            f.write(orjson.dumps(value) + b"\n")
            n += 1
    return n


def hostile_records(n: int, *, seed: int = 13) -> Iterator[bytes]:
    """Malformed and adversarial log lines, mixed with good ones (about a third)."""
    rng = random.Random(seed)
    good = generate_events(n, max(10, n // 20), seed=seed)
    oddities = ["\u0000", "\u202e", "\ufeff", "\U0001d54f", "\u3000", " ", "\n", "é", "\\", '"']
    for i, value in enumerate(good):
        kind = rng.randrange(12)
        if kind < 4:
            yield orjson.dumps(value)
            continue
        bad = dict(value)
        if kind == 4:
            yield rng.randbytes(rng.randrange(1, 200))
            continue
        if kind == 5:
            depth = rng.choice((10, 1100, 5000))
            yield b'{"followers": ' + b"[" * depth + b"]" * depth + b"}"
            continue
        if kind == 6:
            bad["followers"] = rng.choice([10**30, -1, 1.5, 1e6, "600000", True, None, [1]])
        elif kind == 7:
            bad["account_id"] = "".join(rng.choice(oddities) for _ in range(rng.randrange(0, 4)))
        elif kind == 8:
            bad["platform"] = rng.choice(["WEIBO", "", "x" * 40, "weibo\n", 7, "douyin "])
        elif kind == 9:
            bad["occurred_at"] = rng.choice(
                [
                    "2023-11-01",
                    "yesterday",
                    1698796800,
                    "2023-11-01T00:00:00",
                    "2023-13-01T00:00:00Z",
                ]
            )
        elif kind == 10:
            bad.pop(rng.choice(["event_id", "platform", "account_id", "followers", "occurred_at"]))
        else:
            bad["schema_version"] = rng.choice([2, 0, "1", True])
        yield json.dumps(bad).encode()  # the standard library writes any integer
        if i % 97 == 0:
            yield b'{"event_id": "s", "platform": "weibo", "account_id": "x\\ud800"}'


def threshold_walk(
    n: int,
    accounts: int,
    *,
    seed: int = 1,
    days: int = 120,
    late_days: int = 5,
    bad_lines: float = 0.0,
) -> list[bytes]:
    """Accounts on weibo and douyin walking around 500K and 1M over `days` days
    (so 30-day deadlines and a rollout's phase starts fall inside), one event in
    four arriving `late_days` late, 3 % verification results, and a share
    `bad_lines` of lines that are dead letters."""
    rng = random.Random(seed)
    counts = [rng.choice([470_000, 520_000, 960_000, 1_020_000]) for _ in range(accounts)]
    start = parse_rfc3339("2023-10-15T00:00:00Z")
    lines = []
    for i in range(n):
        a = rng.randrange(accounts)
        platform = "weibo" if a % 3 else "douyin"
        late = rng.choice([0, 0, 0, late_days * 86_400_000_000])
        at = format_utc(start + i * days * 86_400_000_000 // n - late)
        roll = rng.random()
        if roll < 0.03:
            result = verification_result(f"a{a}", rng.choice(["verified", "rejected"]), at)
            lines.append(orjson.dumps({**result, "platform": platform}))
        elif roll < 0.03 + bad_lines:
            lines.append(b'{"followers": "not a number"}')
        else:
            counts[a] = max(0, counts[a] + rng.randint(-40_000, 40_000))
            lines.append(orjson.dumps(follower_change(f"a{a}", counts[a], at, platform=platform)))
    return lines
