"""Scaling out and back in while executions run: one worker, then three, then one again.

The workers that leave hand their partitions over (graceful stop, SIGTERM); the one that stays
takes them back and folds in what the others appended. The same promises as the crash test
hold: each execution ends once, no sequence gap, only identical duplicates, and the state
rebuilt from `hw.executions` alone equals the state the workers hold.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from streams.executions.store import StateStore
from tests.streams.kit import Client
from tests.streams.test_crash import FULL, Log, WorkerProcess, check, send_starts, three_steps

pytestmark = pytest.mark.kafka


async def members(bootstrap: str, group: str, count: int, timeout_s: float) -> None:
    """Wait until `group` is stable with `count` members."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            [response] = await admin.describe_consumer_groups([group])
            _, _, state, _, _, found = response.groups[0][:6]
            if state == "Stable" and len(found) == count:
                return
            assert time.monotonic() < deadline, f"{group}: {state} with {len(found)} members"
            await asyncio.sleep(0.5)
    finally:
        await admin.close()


async def test_one_to_three_to_one_workers_hand_over_state_and_lose_nothing(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    executions = 10_000 if FULL else 300
    ids = [f"ex-{i}" for i in range(executions)]
    first, *others = [WorkerProcess(kafka_bootstrap, hw_topics, tmp_path / f"w{i}")
                      for i in range(3)]
    async with Client(kafka_bootstrap, hw_topics) as client:
        log = Log(kafka_bootstrap, hw_topics["executions"], client.codec)
        following = asyncio.create_task(log.follow())
        await client.publish(three_steps())
        first.start()
        try:
            sending = asyncio.create_task(send_starts(client, ids, seconds=40.0))
            await log.progress(0, set(ids), timeout_s=120)
            for worker in others:
                worker.start()
            group = f"{first.env['HEADWATER_APP_ID']}.processor"
            await members(kafka_bootstrap, group, 3, timeout_s=120)
            await log.progress(len(log.records) + 200, set(ids), timeout_s=120)
            await asyncio.sleep(5)  # the three share the work for a while
            codes = [worker.stop() for worker in others]
            assert codes == [0, 0], [w.log_tail() for w in others]
            await sending
            await log.all_ended(set(ids), timeout_s=600 if FULL else 120)
            await asyncio.sleep(1)
        finally:
            code = first.stop()
            for worker in others:
                worker.stop()
        assert code == 0, first.log_tail()
        await log.read_to_end()
        following.cancel()
        stores = [first.store_path]
        counts = check(log, set(ids), stores, 6)
    for worker in others:
        store = StateStore(worker.store_path)
        try:
            assert any(True for p in range(6) for _ in store.states(p)), "no partition moved"
        finally:
            store.close()
    print(f"rebalance test: {counts}")
