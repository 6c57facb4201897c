"""The exactly-once gate (streams.engine.transactions.Gate), without a broker:
a commit or a revocation gets in only between whole batches."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from streams.engine.transactions import Gate, Stale


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 5))


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


def test_a_commit_waits_for_the_batches_inside_to_leave() -> None:
    async def scenario() -> None:
        gate, log = Gate(enabled=True), []
        assert await gate.enter(gate.epoch)

        async def commit() -> None:
            log.append("commit")

        committing = asyncio.ensure_future(gate.closed(commit))
        await settle()
        assert log == []

        gate.leave(gate.epoch)
        await committing

        assert log == ["commit"]

    run(scenario())


def test_no_batch_starts_while_a_commit_runs() -> None:
    async def scenario() -> None:
        gate, log = Gate(enabled=True), []
        release = asyncio.Event()

        async def commit() -> None:
            log.append("commit starts")
            await release.wait()
            log.append("commit ends")

        committing = asyncio.ensure_future(gate.closed(commit))
        await settle()
        entering = asyncio.ensure_future(gate.enter(gate.epoch))
        await settle()
        assert not entering.done()

        release.set()
        await committing

        assert await entering
        assert log == ["commit starts", "commit ends"]

    run(scenario())


def test_a_batch_taken_before_a_revocation_is_stale() -> None:
    async def scenario() -> None:
        gate = Gate(enabled=True)
        taken = gate.epoch

        gate.start_rebalance()
        gate.end_rebalance()

        assert not await gate.enter(taken)
        with pytest.raises(Stale):
            gate.check(taken)

    run(scenario())


def test_a_batch_waiting_at_a_closed_gate_is_let_go_when_a_revocation_starts() -> None:
    async def scenario() -> None:
        gate = Gate(enabled=True)
        gate.start_rebalance()
        gate.end_rebalance()
        gate.start_rebalance()
        waiting = asyncio.ensure_future(gate.enter(gate.epoch))
        await settle()
        assert not waiting.done()

        gate.start_rebalance()  # the next revocation, before any assignment

        assert await waiting is False

    run(scenario())


def test_no_batch_starts_between_a_revocation_and_the_next_assignment() -> None:
    async def scenario() -> None:
        gate = Gate(enabled=True)
        gate.start_rebalance()
        entering = asyncio.ensure_future(gate.enter(gate.epoch))
        await settle()
        assert not entering.done()

        gate.end_rebalance()

        # taken before the seek to the committed offsets: its records come again
        assert await entering is False
        assert await gate.enter(gate.epoch)

    run(scenario())


def test_a_revocation_drops_the_work_in_flight_and_frees_the_gate() -> None:
    async def scenario() -> None:
        gate, dropped = Gate(enabled=True), []
        gate.on_drop(lambda: dropped.append("in flight"))
        epoch = gate.epoch
        assert await gate.enter(epoch)

        gate.start_rebalance()
        gate.leave(epoch)  # the stale batch leaving later changes nothing

        assert dropped == ["in flight"]
        gate.end_rebalance()
        assert await gate.enter(gate.epoch)
        committing = asyncio.ensure_future(gate.closed(lambda: asyncio.sleep(0)))
        await settle()
        assert not committing.done()  # the batch of the new epoch still counts
        gate.leave(gate.epoch)
        await committing

    run(scenario())


def test_at_least_once_the_gate_never_waits() -> None:
    async def scenario() -> None:
        gate = Gate(enabled=False)
        gate.start_rebalance()

        assert await gate.enter(gate.epoch - 1)
        gate.check(gate.epoch - 1)

    run(scenario())


def test_a_batch_waiting_for_what_a_revocation_dropped_is_let_go() -> None:
    async def scenario() -> None:
        gate = Gate(enabled=True)
        epoch = gate.epoch
        assert await gate.enter(epoch)
        never = asyncio.get_running_loop().create_future()  # an ack that never comes
        waiting = asyncio.ensure_future(gate.guard(epoch, never))
        await settle()

        gate.start_rebalance()

        with pytest.raises(Stale):
            await waiting
        assert never.cancelled()

    run(scenario())


def test_a_guarded_batch_that_finishes_gives_its_result() -> None:
    async def scenario() -> None:
        gate = Gate(enabled=True)

        async def work() -> int:
            return 7

        assert await gate.guard(gate.epoch, work()) == 7

    run(scenario())


def test_a_batch_acknowledged_in_the_step_of_a_revocation_writes_no_state() -> None:
    async def scenario() -> None:
        gate, store = Gate(enabled=True), {}
        epoch = gate.epoch
        acks = asyncio.get_running_loop().create_future()

        async def batch() -> None:
            await acks
            store["account"] = "state of an aborted transaction"

        guarded = asyncio.ensure_future(gate.guard(epoch, batch()))
        await settle()

        acks.set_result(None)  # the batch could run on at the next step...
        gate.start_rebalance()  # ...but the revocation discards the state in this one
        store.clear()

        with pytest.raises(Stale):
            await guarded
        assert store == {}

    run(scenario())


def test_no_batch_gets_in_between_a_revocations_commit_and_the_rebalance() -> None:
    async def scenario() -> None:
        gate = Gate(enabled=True)
        committed = asyncio.Event()

        async def commit() -> None:
            committed.set()
            await settle()

        revoking = asyncio.ensure_future(gate.revoke(commit, within=5))
        await committed.wait()
        entering = asyncio.ensure_future(gate.enter(gate.epoch))
        await revoking
        gate.end_rebalance()

        assert await entering is False

    run(scenario())


def test_a_commit_that_does_not_finish_in_time_is_given_up() -> None:
    async def scenario() -> None:
        gate = Gate(enabled=True)
        never = asyncio.get_running_loop().create_future()  # a coordinator that never answers

        with pytest.raises(TimeoutError):
            await gate.closed(lambda: never, within=0.1)

        assert never.cancelled()
        assert await gate.enter(gate.epoch)  # the gate is open again

    run(scenario())
