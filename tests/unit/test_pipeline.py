"""Batches in flight (streams.engine.pipeline): the order of writes per batch, without a broker.

Each batch's output acknowledgements are futures the test resolves, standing
for the broker's answers; `persist` and `ack` record what reached them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from streams.engine.pipeline import InFlight, Writes

TABLE = {b"k": b"stored"}


class Shell:
    """What the agent gives the pipeline: a durable write and an ack, both recorded."""

    def __init__(self) -> None:
        self.persisted: list[Writes] = []
        self.acked: list[Any] = []
        self.log: list[str] = []
        self.persist_fails = False

    async def persist(self, writes: Writes, events: Sequence[Any]) -> None:
        await asyncio.sleep(0)
        if self.persist_fails:
            raise OSError("changelog write failed")
        self.persisted.append(dict(writes))
        self.log.append(f"persist {sorted(events)}")

    async def ack(self, events: Sequence[Any]) -> None:
        self.acked.extend(events)
        self.log.append(f"ack {sorted(events)}")


def ack_future() -> asyncio.Future[Any]:
    return asyncio.get_running_loop().create_future()


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 5))


def test_a_batch_is_persisted_only_after_its_outputs_are_acknowledged() -> None:
    async def scenario() -> None:
        shell, flight = Shell(), InFlight(lambda key, _: TABLE.get(key))
        async with flight.running(shell.persist, shell.ack):
            sent = ack_future()
            await flight.submit([1], [sent], {b"k": (0, b"v1")})
            await settle()
            assert shell.persisted == []
            assert shell.acked == []
            sent.set_result(None)
            await settle()
            assert shell.log == ["persist [1]", "ack [1]"]

    run(scenario())


def test_the_next_batch_reads_the_state_of_batches_in_flight() -> None:
    async def scenario() -> None:
        shell, flight = Shell(), InFlight(lambda key, _: TABLE.get(key))
        async with flight.running(shell.persist, shell.ack):
            sent = ack_future()
            await flight.submit([1], [sent], {b"k": (0, b"v1")})
            assert flight.load(b"k", 0) == b"v1"
            sent.set_result(None)

    run(scenario())


def test_state_in_flight_is_read_from_the_table_once_durable() -> None:
    async def scenario() -> None:
        shell, flight = Shell(), InFlight(lambda key, _: TABLE.get(key))
        async with flight.running(shell.persist, shell.ack):
            await flight.submit([1], [], {b"k": (0, b"v1")})
            await settle()
            assert flight.pending == {}
            assert flight.load(b"k", 0) == b"stored"  # this table ignores writes

    run(scenario())


def test_a_later_write_of_a_key_stays_in_flight_until_its_own_batch_is_durable() -> None:
    async def scenario() -> None:
        shell, flight = Shell(), InFlight(lambda key, _: TABLE.get(key))
        async with flight.running(shell.persist, shell.ack):
            first, second = ack_future(), ack_future()
            await flight.submit([1], [first], {b"k": (0, b"v1")})
            await settle()  # the writer takes the first batch alone
            await flight.submit([2], [second], {b"k": (0, b"v2")})
            first.set_result(None)
            await settle()
            assert shell.persisted == [{b"k": (0, b"v1")}]
            assert flight.load(b"k", 0) == b"v2"
            second.set_result(None)

    run(scenario())


def test_batches_become_durable_and_acked_in_the_order_they_were_submitted() -> None:
    async def scenario() -> None:
        shell, flight = Shell(), InFlight(lambda key, _: TABLE.get(key))
        async with flight.running(shell.persist, shell.ack):
            acks = [ack_future() for _ in range(3)]
            for i, sent in enumerate(acks):
                await flight.submit([i], [sent], {b"k": (0, f"v{i}".encode())})
            for sent in reversed(acks):  # the broker answers the last first
                sent.set_result(None)
        assert shell.acked == [0, 1, 2]
        assert shell.persisted[-1][b"k"] == (0, b"v2")

    run(scenario())


def test_batches_waiting_together_are_persisted_in_one_write_with_the_newest_state() -> None:
    async def scenario() -> None:
        shell, flight = Shell(), InFlight(lambda key, _: TABLE.get(key))
        async with flight.running(shell.persist, shell.ack):
            await flight.submit([1], [], {b"k": (0, b"v1"), b"j": (1, b"j1")})
            await flight.submit([2], [], {b"k": (0, b"v2")})
        assert shell.persisted == [{b"k": (0, b"v2"), b"j": (1, b"j1")}]
        assert shell.log == ["persist [1, 2]", "ack [1, 2]"]

    run(scenario())


def test_leaving_normally_waits_until_every_batch_is_acked() -> None:
    async def scenario() -> None:
        shell, flight = Shell(), InFlight(lambda key, _: TABLE.get(key))
        sent = ack_future()
        asyncio.get_running_loop().call_later(0.05, sent.set_result, None)
        async with flight.running(shell.persist, shell.ack):
            await flight.submit([1], [sent], {b"k": (0, b"v1")})
        assert shell.acked == [1]

    run(scenario())


def test_leaving_by_an_error_leaves_the_batches_in_flight_unacked() -> None:
    async def scenario() -> None:
        shell, flight = Shell(), InFlight(lambda key, _: TABLE.get(key))

        async def failing_agent() -> None:
            async with flight.running(shell.persist, shell.ack):
                await flight.submit([1], [ack_future()], {b"k": (0, b"v1")})
                raise ValueError("agent failed")

        with pytest.raises(ValueError, match="agent failed"):
            await failing_agent()
        assert shell.acked == []
        assert shell.persisted == []
        assert flight.pending == {}

    run(scenario())


def test_a_failed_output_stops_the_writer_and_the_next_submit_raises_it() -> None:
    async def scenario() -> None:
        shell, flight = Shell(), InFlight(lambda key, _: TABLE.get(key))

        async def agent() -> None:
            async with flight.running(shell.persist, shell.ack):
                sent = ack_future()
                await flight.submit([1], [sent], {b"k": (0, b"v1")})
                sent.set_exception(OSError("broker said no"))
                await settle()
                await flight.submit([2], [], {b"k": (0, b"v2")})

        with pytest.raises(OSError, match="broker said no"):
            await agent()
        assert shell.acked == []
        assert shell.persisted == []

    run(scenario())


def test_a_failed_state_write_is_raised_when_leaving_and_nothing_is_acked() -> None:
    async def scenario() -> None:
        shell, flight = Shell(), InFlight(lambda key, _: TABLE.get(key))
        shell.persist_fails = True

        async def agent() -> None:
            async with flight.running(shell.persist, shell.ack):
                await flight.submit([1], [], {b"k": (0, b"v1")})

        with pytest.raises(OSError, match="changelog write failed"):
            await agent()
        assert shell.acked == []

    run(scenario())


def test_submit_waits_while_depth_batches_are_in_flight() -> None:
    async def scenario() -> None:
        shell, flight = Shell(), InFlight(lambda key, _: TABLE.get(key), depth=1)
        async with flight.running(shell.persist, shell.ack):
            blocked = ack_future()
            await flight.submit([1], [blocked], {})
            await settle()  # the writer holds batch 1, waiting for its output
            await flight.submit([2], [], {})  # fills the queue
            third = asyncio.ensure_future(flight.submit([3], [], {}))
            await settle()
            assert not third.done()
            blocked.set_result(None)
            await asyncio.wait_for(third, 1)
        assert shell.acked == [1, 2, 3]

    run(scenario())


def test_a_writer_failing_while_submit_waits_for_room_raises_in_submit() -> None:
    async def scenario() -> None:
        shell, flight = Shell(), InFlight(lambda key, _: TABLE.get(key), depth=1)

        async def agent() -> None:
            async with flight.running(shell.persist, shell.ack):
                blocked = ack_future()
                await flight.submit([1], [blocked], {})
                await settle()
                await flight.submit([2], [], {})
                waiting = asyncio.ensure_future(flight.submit([3], [], {}))
                await settle()
                blocked.set_exception(OSError("broker said no"))
                await waiting

        with pytest.raises(OSError, match="broker said no"):
            await agent()

    run(scenario())


def test_dropping_lets_every_batch_in_flight_go_unacked_and_unpersisted() -> None:
    async def scenario() -> None:
        shell, flight = Shell(), InFlight(lambda key, _: TABLE.get(key))
        async with flight.running(shell.persist, shell.ack):
            stuck = ack_future()
            await flight.submit([1], [stuck], {b"k": (0, b"v1")})

            flight.drop()
            stuck.set_result(None)
            await settle()

            assert shell.log == []
            assert flight.load(b"k", 0) == b"stored"

    run(scenario())


def test_after_a_drop_the_next_batches_are_written_as_before() -> None:
    async def scenario() -> None:
        shell, flight = Shell(), InFlight(lambda key, _: TABLE.get(key))
        async with flight.running(shell.persist, shell.ack):
            await flight.submit([1], [ack_future()], {b"k": (0, b"v1")})
            flight.drop()

            done = ack_future()
            done.set_result(None)
            await flight.submit([2], [done], {b"k": (0, b"v2")})
            await settle()

            assert shell.log == ["persist [2]", "ack [2]"]

    run(scenario())


def test_each_acked_batch_gives_its_epoch_back() -> None:
    async def scenario() -> None:
        shell, flight = Shell(), InFlight(lambda key, _: TABLE.get(key))
        released: list[int] = []
        async with flight.running(shell.persist, shell.ack, release=released.append):
            done = ack_future()
            done.set_result(None)
            await flight.submit([1], [done], {b"k": (0, b"v1")}, epoch=7)
            await settle()

            assert released == [7]

    run(scenario())
