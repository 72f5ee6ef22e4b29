"""Failover: a killed worker's partitions go on, with the survivor or with the worker restarted.

Correctness, not speed (bench.failover measures the times): the bounds here are generous, so
that a loaded machine does not fail them; what must hold is that work resumes without anyone
stopping the group, and that nothing is lost or applied twice (the crash test's checks).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from streams.executions.store import StateStore
from tests.streams.kit import Client
from tests.streams.test_crash import Log, WorkerProcess, check, send_starts, three_steps
from tests.streams.test_rebalance import members

pytestmark = pytest.mark.kafka

GENEROUS_S = 90.0  # the bench measures ~5 s for a takeover; this only says "it happens"


def checkpoints(worker: WorkerProcess) -> dict[int, int]:
    store = StateStore(worker.store_path)
    try:
        return {p: store.checkpoint(p) for p in range(6) if store.checkpoint(p)}
    finally:
        store.close()


async def test_the_survivor_takes_over_a_killed_workers_partitions(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    ids = [f"ex-{i}" for i in range(300)]
    survivor, victim = [WorkerProcess(kafka_bootstrap, hw_topics, tmp_path / f"w{i}")
                        for i in range(2)]
    async with Client(kafka_bootstrap, hw_topics) as client:
        log = Log(kafka_bootstrap, hw_topics["executions"], client.codec)
        following = asyncio.create_task(log.follow())
        await client.publish(three_steps())
        survivor.start()
        victim.start()
        try:
            sending = asyncio.create_task(send_starts(client, ids, seconds=20.0))
            await log.progress(100, set(ids), timeout_s=120)
            victim.kill()  # and never started again: only the survivor can finish the work
            await sending
            await log.all_ended(set(ids), timeout_s=GENEROUS_S)
            await asyncio.sleep(1)  # the last batch stored and committed
        finally:
            code = survivor.stop()
        assert code == 0, survivor.log_tail()
        await log.read_to_end()
        following.cancel()
        check(log, set(ids), [survivor.store_path, victim.store_path], 6)
    assert len(checkpoints(survivor)) == 6, "the survivor holds every partition's state"


async def test_a_restarted_worker_gets_back_to_work(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    ids = [f"ex-{i}" for i in range(400)]
    workers = [WorkerProcess(kafka_bootstrap, hw_topics, tmp_path / f"w{i}") for i in range(2)]
    restarted = workers[1]
    group = f"{restarted.env['HEADWATER_APP_ID']}.processor"
    async with Client(kafka_bootstrap, hw_topics) as client:
        log = Log(kafka_bootstrap, hw_topics["executions"], client.codec)
        following = asyncio.create_task(log.follow())
        await client.publish(three_steps())
        for worker in workers:
            worker.start()
        try:
            sending = asyncio.create_task(send_starts(client, ids[:200], seconds=10.0))
            await log.progress(100, set(ids), timeout_s=120)
            restarted.kill()
            before = checkpoints(restarted)
            restarted.start()
            await sending
            await members(kafka_bootstrap, group, 2, timeout_s=GENEROUS_S)
            # Both members own partitions again: new work lands on the restarted one too.
            await send_starts(client, ids[200:], seconds=5.0)
            await log.all_ended(set(ids), timeout_s=GENEROUS_S)
            await asyncio.sleep(1)
        finally:
            codes = [worker.stop() for worker in workers]
        assert codes == [0, 0], [w.log_tail() for w in workers]
        after = checkpoints(restarted)
        assert any(after.get(p, 0) > before.get(p, 0) for p in range(6)), (before, after)
        await log.read_to_end()
        following.cancel()
        check(log, set(ids), [w.store_path for w in workers], 6)
