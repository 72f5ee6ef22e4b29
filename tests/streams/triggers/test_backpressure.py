"""The trigger agent's backpressure decides without waiting for the brokers.

Its count of waiting tasks comes from the brokers; during a network fault or a frozen broker that
request hangs for its timeout. Awaited in the agent's tick it held the partition loop (its
lock) for tens of seconds: triggers stalled and the member was evicted from its group. These
tests need no Kafka: the count is a coroutine the test controls.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from streams.triggers.limits import Backpressure

T0 = datetime(2026, 12, 5, tzinfo=UTC)


async def test_a_hanging_count_never_holds_the_tick() -> None:
    never = asyncio.Event()

    async def hangs() -> int:
        await never.wait()
        return 0

    policy = Backpressure(hangs, max_pending=10, interval_s=1.0, timeout_s=30.0)
    for second in range(5):
        # Each look returns at once although the brokers never answer.
        await asyncio.wait_for(policy.check(T0 + timedelta(seconds=second)), timeout=0.5)
    await policy.close()


async def test_it_pauses_above_the_bound_and_resumes_below_half() -> None:
    counts = iter([25, 8, 4])

    async def count() -> int:
        return next(counts)

    policy = Backpressure(count, max_pending=10, interval_s=1.0)
    decisions = []
    for second in range(3):
        await policy.check(T0 + timedelta(seconds=second))
        await asyncio.sleep(0.02)  # the measurement runs beside the tick
        decisions.append(await policy.check(T0 + timedelta(seconds=second, milliseconds=500)))
    assert decisions == [True, None, False]


async def test_a_failed_or_timed_out_count_keeps_the_last_one() -> None:
    answers: list[object] = [30, RuntimeError("broker gone"), "hang"]

    async def count() -> int:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if answer == "hang":
            await asyncio.sleep(60)
        return int(answer)  # type: ignore[call-overload]

    policy = Backpressure(count, max_pending=10, interval_s=1.0, timeout_s=0.05)
    await policy.check(T0)
    await asyncio.sleep(0.01)
    for second in (1, 2):
        await policy.check(T0 + timedelta(seconds=second))
        await asyncio.sleep(0.1)
        # Still paused on the last count the brokers gave.
        assert await policy.check(T0 + timedelta(seconds=second, milliseconds=500)) is True
    assert policy.pending == 30 and policy.failures == 2
    await policy.close()
