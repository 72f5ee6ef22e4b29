"""Failover: how soon work goes on after workers are killed, and what a kill loop leaves of the
throughput, next to an unfaulted reference measured in the same run.

Two worker processes (`python -m headwater worker`, as users run them, each with its own data
folder) run W3 (`bench.e2e`'s 3-step workflow) on one broker (or `HEADWATER_KAFKA_BOOTSTRAP`).
Starts are produced at a rate above what the workers manage (`--over` times the warm-up's
throughput) so that they always have work. Phases, in order:

- reference: `--window` seconds unfaulted; executions completed per second;
- restart: one worker SIGKILLed and started again at once; *restart to processing* is from the
  new process's start to the first record appended on a partition it was assigned (so it
  covers imports, group joins, replays and the definitions feed), with where the time went
  from the worker's own log;
- takeover: the other worker SIGKILLed and *not* restarted; *takeover* is from the kill to the
  moment every partition has a record appended after it (the survivor took the dead one's
  partitions and processes them); then it is started again (a second restart figure);
- kill loop: `--kills` SIGKILLs every `--every` seconds, alternating between the two workers,
  each restarted at once; executions completed per second over the loop, against the reference.

At the end every execution started must have completed exactly once, with no gap in its
`(execution_id, seq)` and a duplicate only as an identical repeat (the check of
tests/streams/test_crash.py). All on a shared machine: read the figures against the same-run
reference, and mind the load average printed with them.

    .venv/bin/python -m bench.failover [--window 20] [--kills 20] [--every 3] [--over 1.3]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

from bench._broker import broker, machine, nodes, replication
from bench._workers import WorkerProcess
from bench.e2e import PARTITIONS, WORKFLOW, Driver
from infra.topics import create_topics_async
from schemas.executions import ExecutionEventBase

# What a restarted worker logs on its way to processing (see `breakdown`).
MILESTONES = [("faust up", r"Starting\.\.\.|\[\^Worker\]"), ("engine started", r"engine started"),
              ("processor assigned", r"^processor owns partitions \[\d"),
              ("tasks assigned", r"^tasks owns partitions \[\d"),
              ("triggers assigned", r"^triggers owns partitions \[\d")]


class Load:
    """Starts at a steady rate, and every record of `hw.executions` as it is appended."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.driver = Driver(bootstrap, prefix)
        self.records: list[Any] = []  # every record read, in order per partition
        self.rate = 0.0
        self._sent = 0
        self._tasks: list[asyncio.Task[None]] = []

    async def __aenter__(self) -> Load:
        await self.driver.__aenter__()
        self._tasks = [asyncio.create_task(self._follow()), asyncio.create_task(self._feed())]
        return self

    async def __aexit__(self, *_: object) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.driver.__aexit__()

    async def _follow(self) -> None:
        reader = self.driver.reader
        while True:
            for records in (await reader.getmany(timeout_ms=200, max_records=20000)).values():
                self.records.extend(records)
                for record in records:
                    mark = self.driver.marks.get(record.value[5]) if len(record.value) > 5 else None
                    if mark is not None:
                        key = self.driver.codec.decode_key(record.topic, record.key)
                        mark.setdefault(key, record.timestamp / 1000)

    async def _feed(self) -> None:
        began, sent_then = time.monotonic(), 0
        rate = self.rate
        while True:
            await asyncio.sleep(0.05)
            if rate != self.rate:
                began, sent_then, rate = time.monotonic(), self._sent, self.rate
            due = sent_then + int(rate * (time.monotonic() - began))
            futures = []
            while self._sent < due:
                futures.append(await self.driver.start(f"ex-{self._sent}", self._sent))
                self._sent += 1
            await asyncio.gather(*futures)

    @property
    def started(self) -> set[str]:
        return set(self.driver.sent)

    def completed_between(self, t0: float, t1: float) -> int:
        return sum(1 for when in self.driver.done.values() if t0 <= when < t1)

    async def drain(self, timeout_s: float = 300) -> None:
        """Stop starting and wait until every execution started has completed."""
        self.rate = 0.0
        await asyncio.sleep(0.2)
        deadline = time.monotonic() + timeout_s
        while not self.started <= self.driver.done.keys():
            if time.monotonic() > deadline:
                missing = self.started - self.driver.done.keys()
                raise TimeoutError(f"{len(missing)} executions did not complete, e.g. "
                                   f"{sorted(missing)[:3]}")
            await asyncio.sleep(0.2)

    def first_after(self, when: float, partitions: set[int]) -> dict[int, float]:
        """Per partition, the CreateTime of its first record appended after `when`."""
        found: dict[int, float] = {}
        for record in self.records:
            at = record.timestamp / 1000
            if record.partition in partitions and at > when and record.partition not in found:
                found[record.partition] = at
        return found

    async def wait_for(self, when: float, partitions: set[int], timeout_s: float) -> dict[int, float]:
        deadline = time.monotonic() + timeout_s
        while True:
            found = self.first_after(when, partitions)
            if len(found) == len(partitions) or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.05)


def assigned(worker: WorkerProcess, since: float) -> tuple[float, set[int]] | None:
    """When the processor of `worker`'s process started at `since` was last assigned, and what."""
    lines = [(t, text) for t, text in worker.logged(since)
             if text.startswith("processor owns partitions")]
    if not lines:
        return None
    when, text = lines[-1]
    inside = text.split("[", 1)[1].split("]", 1)[0]
    return when, {int(p) for p in inside.split(",") if p.strip()}


def breakdown(worker: WorkerProcess, processing: float | None) -> str:
    """Where a restart's time went: each milestone of its log, seconds from its start."""
    parts = []
    for name, pattern in MILESTONES:
        found = worker.first(worker.spawned, pattern)
        if found is not None:
            parts.append(f"{name} {found[0] - worker.spawned:.2f}")
    if processing is not None:
        parts.append(f"first record {processing - worker.spawned:.2f}")
    return ", ".join(parts)


async def restart_to_processing(load: Load, worker: WorkerProcess,
                                timeout_s: float) -> tuple[float | None, str]:
    """Start `worker`; seconds from its start to its first record appended, and where they went:
    its log's milestones, and how much of it the process ran on a CPU, waited for one (this
    machine's load), and waited for anything else (the broker, the group, a sleep)."""
    worker.start()
    samples: list[tuple[float, float, float]] = []  # (time, ran, waited for a CPU)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        samples.append((time.time(), *worker.schedstat()))
        got = assigned(worker, worker.spawned)
        if got is None or not got[1]:
            continue
        found = load.first_after(got[0], got[1])
        if found:
            first = min(found.values())
            at, ran, waited = min(samples, key=lambda s: abs(s[0] - first))
            took = first - worker.spawned
            return took, (f"{breakdown(worker, first)}; of which on a CPU {ran:.2f}, waiting for "
                          f"a CPU {waited:.2f}, blocked {max(0.0, at - worker.spawned - ran - waited):.2f}")
    return None, breakdown(worker, None) + " (no record within the timeout)"


async def run(bootstrap: str, args: argparse.Namespace) -> list[str]:
    prefix = f"fo{uuid.uuid4().hex[:6]}."
    await create_topics_async(bootstrap, prefix, partitions=PARTITIONS, replication=replication())
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="hw-failover-") as tmp:
        home = args.keep or Path(tmp)
        workers = [WorkerProcess(bootstrap, prefix, home / f"w{i}") for i in range(2)]
        async with Load(bootstrap, prefix) as load:
            await load.driver.publish(WORKFLOW)
            for worker in workers:
                worker.start()
            try:
                lines += await _phases(load, workers, args)
            finally:
                codes = [worker.stop() for worker in workers]
            assert codes == [0, 0], [w.log_tail() for w in workers]
            _say(lines, verify(load))
    return lines


async def _phases(load: Load, workers: list[WorkerProcess], args: argparse.Namespace) -> list[str]:
    a, b = workers
    lines = []
    # Warm-up: both workers up and processing; its throughput sets the offered rate.
    load.rate = args.warm_rate
    await load.wait_for(time.time() + 1, set(range(PARTITIONS)), timeout_s=180)
    await asyncio.sleep(args.settle)
    t0 = time.time()
    await asyncio.sleep(args.window / 2)
    warm = load.completed_between(t0, time.time()) / (args.window / 2)
    load.rate = max(args.warm_rate, warm * args.over)
    if args.max_rate:
        load.rate = min(load.rate, args.max_rate)
    _say(lines, f"offered load: {load.rate:,.0f} starts/s ({args.over:g} x the warm-up's "
                 f"{warm:,.0f} executions/s)")

    t0 = time.time()  # reference
    await asyncio.sleep(args.window)
    reference = load.completed_between(t0, time.time()) / args.window
    _say(lines, f"reference, unfaulted, 2 workers: {reference:,.0f} executions/s over "
                 f"{args.window:g} s")

    a.kill()  # restart: killed and started again at once
    took, where = await restart_to_processing(load, a, timeout_s=args.timeout)
    _say(lines, f"restart to processing (SIGKILL, restarted at once): "
                 f"{_s(took)}; from its start: {where}")
    await asyncio.sleep(args.settle)

    killed = b.kill()  # takeover: the survivor takes the dead one's partitions
    found = await load.wait_for(killed, set(range(PARTITIONS)), timeout_s=args.timeout)
    takeover = max(found.values()) - killed if len(found) == PARTITIONS else None
    _say(lines, f"takeover after SIGKILL (not restarted): every partition progressing "
                 f"{_s(takeover)} after the kill")
    took, where = await restart_to_processing(load, b, timeout_s=args.timeout)
    _say(lines, f"restart to processing (joining a running group): {_s(took)}; "
                 f"from its start: {where}")
    await asyncio.sleep(args.settle)

    t0 = time.time()  # kill loop
    for kill in range(args.kills):
        victim = workers[kill % 2]
        victim.kill()
        victim.start()
        await asyncio.sleep(max(0.0, t0 + (kill + 1) * args.every - time.time()))
    t1 = time.time()
    looped = load.completed_between(t0, t1) / (t1 - t0)
    _say(lines, f"kill loop, {args.kills} SIGKILLs every {args.every:g} s: {looped:,.0f} "
                 f"executions/s over {t1 - t0:.0f} s = {looped / max(reference, 1e-9):.0%} of the reference")
    await load.drain()
    return lines


def verify(load: Load) -> str:
    """Every execution started completed exactly once; no gap; duplicates only identical."""
    codec = load.driver.codec
    histories: dict[str, list[ExecutionEventBase]] = {}
    for record in load.records:
        event = codec.decode_value(record.topic, record.value)
        histories.setdefault(event.execution_id, []).append(event)
    assert set(histories) == load.started, "executions missing from or unknown to the log"
    duplicates, ends = 0, Counter[str]()
    for eid, events in histories.items():
        kept: list[ExecutionEventBase] = []
        for event in events:
            if kept and event.seq <= kept[-1].seq:
                assert event == kept[event.seq - 1], f"{eid}: seq {event.seq} differs"
                duplicates += 1
                continue
            assert event.seq == len(kept) + 1, f"{eid}: seq {len(kept) + 1} is missing"
            kept.append(event)
        ends.update(e.type for e in kept if e.type.startswith("execution_")
                    and e.type != "execution_started")
    assert ends == Counter({"execution_completed": len(histories)}), ends
    return (f"verified: {len(histories):,} executions ({len(load.records):,} events) each "
            f"completed exactly once, no seq gap; "
            f"{duplicates} identical repeats of an event (redelivery after a kill)")


def _say(lines: list[str], text: str) -> None:
    print(text, flush=True)  # as it happens: a phase that fails later still shows the earlier
    lines.append(text)


def _s(seconds: float | None) -> str:
    return "NOT within the timeout" if seconds is None else f"{seconds:.2f} s"


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=20.0, help="reference seconds")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--every", type=float, default=3.0, help="seconds between kills")
    parser.add_argument("--over", type=float, default=1.3,
                        help="offered load as a multiple of the warm-up's throughput")
    parser.add_argument("--warm-rate", type=float, default=200.0, help="warm-up starts/s")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds between phases")
    parser.add_argument("--max-rate", type=float, default=0.0, help="cap of the offered load (0: none)")
    parser.add_argument("--timeout", type=float, default=120.0, help="longest wait of a phase, s")
    parser.add_argument("--keep", type=Path, help="keep the workers' folders and logs here")
    args = parser.parse_args()
    one, five, _ = os.getloadavg()
    print(f"machine: {machine()}; load average {one:.2f} (1 min), {five:.2f} (5 min)")
    with broker() as bootstrap:
        print(f"broker: {bootstrap} ({nodes()} node(s), {PARTITIONS} partitions, acks=all); "
              f"2 worker processes, W3")
        asyncio.run(run(bootstrap, args))
    one, five, _ = os.getloadavg()
    print(f"after: load average {one:.2f} (1 min), {five:.2f} (5 min)")


if __name__ == "__main__":
    main()
