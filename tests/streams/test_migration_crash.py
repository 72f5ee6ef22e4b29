"""A bulk migration survives SIGKILLs: workers are killed while the migrate commands of many
waiting executions are being applied, and still every execution moves exactly once.

Afterwards each history is gap-free (a repeat only as an identical copy), holds one
`execution_migrated` (1.0.0 -> 2.0.0), ends once with `execution_completed` after running the
new version's step, and the stores of the partitions' last owners equal a replay of the log.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path

import pytest

from schemas.commands import MigrateExecution, SignalReceived, StartExecution
from schemas.definitions import WorkflowDefinition
from tests.streams.kit import NOW, Client
from tests.streams.test_crash import Log, WorkerProcess, check, deduplicated

pytestmark = pytest.mark.kafka

V1 = WorkflowDefinition.model_validate({
    "id": "moving", "name": "Moving", "version": "1.0.0", "steps": [
        {"id": "hold", "type": "wait", "signal": "go"},
        {"id": "old", "type": "action", "action": "transform", "with": {"v": 1}}]})
V2 = WorkflowDefinition.model_validate({
    "id": "moving", "name": "Moving", "version": "2.0.0", "steps": [
        {"id": "held", "type": "wait", "signal": "go"},
        {"id": "new", "type": "action", "action": "transform", "with": {"v": 2}}]})


async def _paced(client: Client, commands: list[tuple[str, object]], seconds: float) -> None:
    began = time.monotonic()
    for i, (eid, command) in enumerate(commands):
        await asyncio.sleep(max(0.0, began + seconds * i / len(commands) - time.monotonic()))
        await client.send("commands", eid, command)  # type: ignore[arg-type]


async def _until(check: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.1)


async def test_workers_killed_during_a_bulk_migration_lose_and_repeat_nothing(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    count, kills = 200, 3
    rng = random.Random(os.environ.get("HEADWATER_SEED", "16"))
    ids = [f"mv-{i}" for i in range(count)]
    workers = [WorkerProcess(kafka_bootstrap, hw_topics, tmp_path / f"w{i}") for i in range(2)]
    async with Client(kafka_bootstrap, hw_topics) as client:
        log = Log(kafka_bootstrap, hw_topics["executions"], client.codec)
        following = asyncio.create_task(log.follow())

        def types(kind: str) -> set[str]:
            return {eid for eid, events in log.histories().items()
                    if any(e.type == kind for e in events)}

        await client.publish(V1)
        await client.publish(V2)
        for worker in workers:
            worker.start()
        try:
            for eid in ids:
                await client.send("commands", eid, StartExecution(
                    command_id=f"start-{eid}", execution_id=eid, time=NOW, workflow_id="moving",
                    version="1.0.0"))
            await _until(lambda: types("step_started") >= set(ids), 120, "not all waiting")

            migrations = [(eid, MigrateExecution(
                command_id=f"migrate-{eid}", execution_id=eid, time=NOW, to_version="2.0.0",
                mapping={"hold": "held"}, requested_by="ops")) for eid in ids]
            sending = asyncio.create_task(_paced(client, migrations, seconds=kills * 4.0))
            moved_at_kills = []
            for _ in range(kills):
                await asyncio.sleep(rng.uniform(1.0, 3.0))
                victim = rng.choice(workers)
                victim.kill()
                moved_at_kills.append(len(types("execution_migrated")))
                victim.start()
            await sending
            # The kills fell inside the migration, not before or after it.
            assert any(0 < moved < count for moved in moved_at_kills), moved_at_kills
            for eid, command in migrations[: count // 4]:  # the API asked twice for some
                await client.send("commands", eid, command)
            await _until(lambda: types("execution_migrated") >= set(ids), 120, "not all moved")

            await _paced(client, [(eid, SignalReceived(
                command_id=f"go-{eid}", execution_id=eid, time=NOW, name="go"))
                for eid in ids], seconds=1.0)
            await log.all_ended(set(ids), timeout_s=120)
            await asyncio.sleep(1)  # let the workers store and commit the last batch
        finally:
            codes = [worker.stop() for worker in workers]
        assert codes == [0, 0], [w.log_tail() for w in workers]
        await log.read_to_end()
        following.cancel()
        counts = check(log, set(ids), [w.store_path for w in workers], 6)

    for eid, events in log.histories().items():
        kept = deduplicated(eid, events)
        moved = [e for e in kept if e.type == "execution_migrated"]
        assert [(e.from_version, e.to_version) for e in moved] == [("1.0.0", "2.0.0")], eid
        ran = [e.step_id for e in kept if e.type == "step_completed"]
        assert ran == ["held", "new"], (eid, ran)
        assert not [e for e in kept if e.type == "command_rejected"], eid
    print(f"migration crash test: {kills} kills with {moved_at_kills} of {count} migrated, "
          f"{counts}")
