"""A log cut into chunks, each line decoded once, every input handed to the
shard that owns its account (`thresholds report --jobs`).

A shard applies only its own accounts' inputs, but every valid line moves
the event-time clock, which fires deadlines and phase starts and dates a new
request. So each input carries the clock of its line (the largest valid
time so far in its chunk), and each chunk its last clock: a shard moves its
clock to those before it applies the input and at the chunk's end. A timer
of a shard fires then in the same order among that shard's inputs as it
would at another shard's line in between, where nothing of this shard
happens; this is what lets the shards' tallies add up to one replay's.
"""

from __future__ import annotations

import zlib
from pathlib import Path
from typing import NamedTuple

import msgspec

from streams.config import Topics
from streams.core.crossings import FollowerCountChanged
from streams.core.identity import record_key
from streams.core.policy import VerificationResult
from streams.process.replay import decode_event, read_line

__all__ = [
    "CHUNK_BYTES",
    "Chunk",
    "ShardPart",
    "decode_chunk",
    "decode_part",
    "encode_part",
    "owner",
    "split",
]

CHUNK_BYTES = 4 << 20
"""About 25,000 lines: large enough that handing a chunk over costs little,
small enough that the shards start soon and hold little."""

_BOM = b"\xef\xbb\xbf"
_BEFORE_TIME = -(1 << 80)


def owner(key: str, shards: int) -> int:
    """The shard that owns an account key (stable across processes and runs)."""
    return zlib.crc32(key.encode()) % shards


class ShardPart(NamedTuple):
    """One chunk's inputs for one shard, in log order."""

    events: list[FollowerCountChanged]
    # the clock at each event's line, in this chunk (its own time at least)
    clocks: list[int]
    # (number of this shard's events before it in the chunk, result, clock at its line)
    results: list[tuple[int, VerificationResult, int]]
    # the clock at the chunk's last line; None when no line of it was valid
    clock: int | None


class Chunk(NamedTuple):
    """A chunk of the log decoded: what every shard needs, and what only counts."""

    parts: list[ShardPart]
    lines: int
    blank_lines: int
    dead_letters: int


def split(path: Path, size: int = CHUNK_BYTES) -> list[tuple[int, int]]:
    """Byte ranges of `path`, each about `size` and ending after a newline (or at the end)."""
    total = path.stat().st_size
    ranges = []
    with path.open("rb") as stream:
        start = 0
        while start < total:
            stream.seek(min(start + size, total))
            stream.readline()
            end = stream.tell()
            ranges.append((start, end))
            start = end
    return ranges


def decode_chunk(path: Path, start: int, end: int, shards: int, topics: Topics) -> Chunk:
    """Decode bytes `start` to `end` of `path` once, cut into each shard's part."""
    with path.open("rb") as stream:
        stream.seek(start)
        data = stream.read(end - start)
    if start == 0 and data.startswith(_BOM):
        data = data[3:]
    lines = data.split(b"\n")
    if lines[-1] == b"":  # after the last newline (as reading the file line by line)
        lines.pop()
    parts = [ShardPart([], [], [], None) for _ in range(shards)]
    add_event = [part.events.append for part in parts]
    add_clock = [part.clocks.append for part in parts]
    clock = _BEFORE_TIME
    blank = dead = 0
    for raw in lines:
        line = decode_event(raw) or read_line(raw, topics)
        if type(line) is FollowerCountChanged:
            _, platform, account_id, _, at, _ = line
            if at > clock:
                clock = at
            shard = owner(record_key(platform, account_id), shards)
            add_event[shard](line)
            add_clock[shard](clock)
        elif type(line) is VerificationResult:
            at = line.decided_at
            if at > clock:
                clock = at
            part = parts[owner(record_key(line.platform, line.account_id), shards)]
            part.results.append((len(part.events), line, clock))
        elif line is None:
            blank += 1
        else:
            dead += 1
    last = None if clock == _BEFORE_TIME else clock
    return Chunk([part._replace(clock=last) for part in parts], len(lines), blank, dead)


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(ShardPart).decode


def encode_part(part: ShardPart) -> bytes:
    """A part as bytes, to hand to another process."""
    return _encode(part)


def decode_part(data: bytes) -> ShardPart:
    """A part back from `encode_part`."""
    return _decode(data)
