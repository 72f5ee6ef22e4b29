"""End-to-end engine throughput and latency on the local broker, next to raw aiokafka figures
measured in the same run (`bench.kafka_baseline`).

A worker process (`python -m headwater worker`, as users run it) executes a 3-step workflow of
built-in `transform` tasks. Two runs:

- burst: N start commands produced at once; executions completed per second (first start sent
  to last `execution_completed` appended) and start-to-end latency percentiles (which, in a
  burst, are mostly queueing);
- paced: starts at a fixed rate below capacity; start-to-end latency percentiles.

Latency is from the start command's `time` (set when it is produced) to the `CreateTime` of its
`execution_completed` record (stamped by the worker's producer when it appends it). Peak in flight
is the most executions the engine held at once between their `execution_started` and
`execution_completed` records (both stamped by the worker), i.e. executions it was running.

`--profile FILE` samples the worker with py-spy during the burst and writes its hottest
functions (own time and with callees) to FILE.

    .venv/bin/python -m bench.e2e [--executions 5000] [--rate 200] [--seconds 10] [--profile F]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench import kafka_baseline
from bench._broker import broker, machine
from infra.topics import create_topics_async, topic_names
from schemas.avro.catalogue import CATALOGUE
from schemas.codec import Codec
from schemas.commands import StartExecution
from schemas.definition_events import DefinitionPublished
from schemas.validation import load_definition

ROOT = Path(__file__).parents[1]
PARTITIONS = 6
WORKFLOW = """
kind: workflow
id: bench-three
name: Three transforms
steps:
  - {id: a, action: transform, with: {n: "${ input.n }"}}
  - {id: b, action: transform, with: {n: "${ input.n + 1 }"}}
  - {id: c, action: transform, with: {n: "${ input.n + 2 }"}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def worker_process(bootstrap: str, prefix: str, data_dir: Path, *,
                   module: tuple[str, ...] = ("headwater", "worker"),
                   env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """`headwater worker` for `prefix` in a child process; stopped with SIGTERM afterwards.

    `module` is what `python -m` runs (`bench._counted_worker` counts its requests) and `env`
    adds to its environment."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HEADWATER_KAFKA_BOOTSTRAP": bootstrap, "HEADWATER_TOPIC_PREFIX": prefix,
           "HEADWATER_APP_ID": f"{prefix}worker", "HEADWATER_DATA_DIR": str(data_dir),
           "HEADWATER_WORKER_WEB_PORT": str(free_port()), "HEADWATER_LOG_LEVEL": "warning",
           **(env or {})}
    with (data_dir / "worker.log").open("wb") as log:
        child = subprocess.Popen([sys.executable, "-m", *module], env=env, cwd=ROOT,
                                 stdout=log, stderr=subprocess.STDOUT)
        try:
            yield child
        finally:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()


class Driver:
    """Produces start commands and reads completions of one topic prefix."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.topics = topic_names(prefix)
        self.codec = Codec(prefix=prefix)
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                                         enable_idempotence=True, max_batch_size=512 * 1024)
        self.reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                       auto_offset_reset="earliest",
                                       max_partition_fetch_bytes=8 * 1024 * 1024)
        self.sent: dict[str, float] = {}
        self.began: dict[str, float] = {}
        self.done: dict[str, float] = {}
        # The byte after the header of a started or completed event: its union index.
        models = [model.__name__ for model in CATALOGUE["executions"].events]
        self.marks = {models.index("ExecutionStarted") << 1: self.began,
                      models.index("ExecutionCompleted") << 1: self.done}

    async def __aenter__(self) -> Driver:
        await self.producer.start()
        await self.reader.start()
        topic = self.topics["executions"]
        self.reader.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.producer.stop()
        await self.reader.stop()

    async def publish(self, text: str) -> None:
        definition = load_definition(text)
        event = DefinitionPublished(kind="workflow", definition_id=definition.id,
                                    version=definition.version, published_at=datetime.now(UTC),
                                    definition=definition.model_dump(mode="json", by_alias=True))
        topic = self.topics["definitions"]
        await self.producer.send_and_wait(topic, self.codec.encode_value(topic, event),
                                          key=self.codec.encode_key(topic, event.key))

    async def start(self, execution_id: str, n: int) -> asyncio.Future[Any]:
        topic = self.topics["commands"]
        now = datetime.now(UTC)
        command = StartExecution(command_id=f"start-{execution_id}", execution_id=execution_id,
                                 time=now, workflow_id="bench-three", input={"n": n})
        self.sent[execution_id] = now.timestamp()
        future: asyncio.Future[Any] = await self.producer.send(
            topic, self.codec.encode_value(topic, command),
            key=self.codec.encode_key(topic, execution_id))
        return future

    async def collect(self, wanted: set[str], timeout_s: float) -> None:
        """Read `hw.executions` until every execution in `wanted` has completed."""
        deadline = time.monotonic() + timeout_s
        while not wanted <= self.done.keys():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(wanted - self.done.keys())} executions did not finish")
            for records in (await self.reader.getmany(timeout_ms=200, max_records=20000)).values():
                for record in records:
                    # Only the union branch and the key (the execution id) are read: this
                    # process shares the machine with the worker it measures.
                    seen = self.marks.get(record.value[5]) if len(record.value) > 5 else None
                    if seen is not None:
                        key = self.codec.decode_key(record.topic, record.key)
                        assert isinstance(key, str)
                        seen.setdefault(key, record.timestamp / 1000)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def peak_in_flight(driver: Driver, ids: list[str]) -> int:
    """The most executions at once between their started and completed records."""
    # At equal times a completion counts first, so back-to-back executions do not overlap.
    marks = sorted([(driver.began[i], 1) for i in ids] + [(driver.done[i], -1) for i in ids])
    peak = running = 0
    for _, step in marks:
        running += step
        peak = max(peak, running)
    return peak


def latency_line(driver: Driver, ids: list[str]) -> str:
    millis = [(driver.done[i] - driver.sent[i]) * 1000 for i in ids]
    return (f"p50 {percentile(millis, 0.50):7.1f} ms  p99 {percentile(millis, 0.99):7.1f} ms  "
            f"max {max(millis):7.1f} ms; peak in flight {peak_in_flight(driver, ids):,}")


async def burst(driver: Driver, n: int, profile: Path | None, pid: int) -> str:
    ids = [f"burst-{i}" for i in range(n)]
    began = time.time()
    collecting = asyncio.create_task(driver.collect(set(ids), timeout_s=600))
    cpu_before = cpu_seconds(pid)
    with sampling(profile, pid):
        await asyncio.gather(*[await driver.start(eid, i) for i, eid in enumerate(ids)])
        await collecting
    cpu = cpu_seconds(pid) - cpu_before
    seconds = max(driver.done[i] for i in ids) - began
    return (f"burst: {n:,} executions in {seconds:.2f} s = {n / seconds:,.0f} executions/s; "
            f"start-to-end {latency_line(driver, ids)}\n"
            f"    worker CPU {1000 * cpu / n:.2f} ms per execution ({100 * cpu / seconds:.0f}% of "
            f"a core; {n / cpu:,.0f} executions per CPU second)")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc), 0 where unknown.

    On a shared machine the worker's CPU per execution is the steadier figure: wall-clock
    rates move with whatever else runs, CPU time much less."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def sampling(profile: Path | None, pid: int) -> Iterator[None]:
    """py-spy on process `pid` while the block runs; its summary goes to `profile`."""
    if profile is None:
        yield
        return
    raw = profile.with_suffix(".raw")
    spy = subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "--pid",
                            str(pid), "--rate", "200", "--function", "--nonblocking", "--format", "raw", "--output", str(raw)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        spy.send_signal(signal.SIGINT)  # py-spy writes its samples on SIGINT
        spy.wait(timeout=60)
    profile.write_text(summarise(raw.read_text()))


def summarise(raw: str, top: int = 40) -> str:
    """The hottest functions of py-spy's raw (collapsed stacks) output: own and total share."""
    own: dict[str, int] = {}
    total: dict[str, int] = {}
    samples = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        samples += count
        frames = [f for f in stack.split(";") if not f.startswith("process ")]
        if frames:
            own[frames[-1]] = own.get(frames[-1], 0) + count
        for frame in set(frames):
            total[frame] = total.get(frame, 0) + count
    lines = [f"{samples} samples"]
    for title, table in (("own time", own), ("with callees", total)):
        lines.append(f"-- {title}")
        for frame, count in sorted(table.items(), key=lambda kv: -kv[1])[:top]:
            lines.append(f"{100 * count / max(samples, 1):5.1f}%  {frame}")
    return "\n".join(lines) + "\n"


async def paced(driver: Driver, rate: float, seconds: float) -> str:
    n = int(rate * seconds)
    ids = [f"paced-{i}" for i in range(n)]
    collecting = asyncio.create_task(driver.collect(set(ids), timeout_s=seconds + 300))
    began = time.monotonic()
    sends = []
    for i, eid in enumerate(ids):
        await asyncio.sleep(max(0.0, began + i / rate - time.monotonic()))
        sends.append(await driver.start(eid, i))
    await asyncio.gather(*sends)
    await collecting
    return f"paced at {rate:,.0f}/s for {seconds:.0f} s ({n:,}): start-to-end {latency_line(driver, ids)}"


async def warm_up(driver: Driver, executions: int = 50) -> None:
    """Publish the benchmark workflow and run a few executions to completion (imports,
    partition assignment and compiled codecs are then out of the measured runs)."""
    await driver.publish(WORKFLOW)
    warm = [f"warm-{i}" for i in range(executions)]
    await asyncio.gather(*[await driver.start(eid, i) for i, eid in enumerate(warm)])
    await driver.collect(set(warm), timeout_s=180)


async def engine_figures(bootstrap: str, executions: int, rate: float, seconds: float,
                         profile: Path | None = None) -> list[str]:
    prefix = f"bench{uuid.uuid4().hex[:6]}."
    await create_topics_async(bootstrap, prefix, partitions=PARTITIONS)
    with tempfile.TemporaryDirectory(prefix="hw-e2e-") as tmp, \
            worker_process(bootstrap, prefix, Path(tmp)) as child:
        async with Driver(bootstrap, prefix) as driver:
            await warm_up(driver)
            lines = [await burst(driver, executions, profile, child.pid),
                     await paced(driver, rate, seconds)]
        assert child.poll() is None, (Path(tmp) / "worker.log").read_text()[-2000:]
        if profile is not None:
            shutil.copy(Path(tmp) / "worker.log", profile.with_suffix(".log"))
    return lines


async def baseline(bootstrap: str, records: int) -> list[str]:
    topic = f"bench.e2e.raw.{uuid.uuid4().hex[:6]}"
    await kafka_baseline.create(bootstrap, topic)
    figures = [await kafka_baseline.produce_each(bootstrap, topic, records, 256),
               await kafka_baseline.consume(bootstrap, topic, records, 256)]
    return [figure.line() for figure in figures]


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=200.0, help="paced starts per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="paced run length")
    parser.add_argument("--raw-records", type=int, default=100_000)
    parser.add_argument("--profile", type=Path, help="py-spy the worker during the burst")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with broker() as bootstrap:
        print(f"broker: {bootstrap} (Kafka, single node, {PARTITIONS} partitions, acks=all)")
        print("raw aiokafka reference, 256-byte records:")
        for line in asyncio.run(baseline(bootstrap, args.raw_records)):
            print(f"  {line}")
        print("engine, one worker process, 3-step workflow of transform tasks:")
        for line in asyncio.run(engine_figures(bootstrap, args.executions, args.rate,
                                               args.seconds, args.profile)):
            print(f"  {line}")


if __name__ == "__main__":
    main()
