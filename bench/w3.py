"""W3: a 3-step workflow of `transform` steps on one worker and the local broker, in three
regimes, with the worker's and the broker's CPU and the Kafka requests each execution costs.

W3 is `bench.e2e`'s workflow: starts produced to `hw.commands`, completions read from
`hw.executions`, the worker started as users start it (`python -m headwater worker`, here
through `bench._counted_worker`, which counts its requests). Phases, in order:

- idle: the worker with nothing to do for `--idle` seconds (CPU: no busy polling);
- closed loop: `--closed` executions with `--in-flight` of them running at any time (a new
  start as each completion is read): throughput;
- open loop at each of `--rates` starts/s for `--seconds`: latency from the *scheduled* start
  (not the send, so a late sender cannot hide queueing) to the `execution_completed` record,
  at its CreateTime (appended by the worker) and when this client read it.

Per phase: executions/s; latency p50/p95/p99/max; worker, broker and client CPU as % of a core
and per execution (from /proc of their pids: on a shared machine CPU time is steadier than
wall-clock rates); the worker's requests per execution by kind (produce, fetch per topic,
commit per group, other), records per produce request and per fetch response, the share of
fetches that came back empty, and round-trip times. In the open-loop phases each execution's
hops are timed from record CreateTimes on `hw.commands` and `hw.tasks`: start → task requested
(the processor's hop: the start's produce, the fetch, processing and the append), task → answer
(the task worker's), answer → next task, last answer → completed. At the end, the worker's peak
RSS. All on a machine that may be shared: compare with the same-run figures only.

    .venv/bin/python -m bench.w3 [--closed 5000] [--in-flight 100] [--rates 50,5]
        [--seconds 60] [--idle 20] [--workers 1] [--profile FILE] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import resource
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench import _counting
from bench._broker import Broker, MachineCpu, broker_process, machine, nodes, replication
from bench._counted_worker import PORT_ENV
from bench.e2e import PARTITIONS, WORKFLOW, cpu_seconds, free_port, sampling, worker_process
from infra.topics import create_topics_async, topic_names
from schemas.avro.catalogue import CATALOGUE
from schemas.codec import Codec
from schemas.commands import StartExecution
from schemas.definition_events import DefinitionPublished
from schemas.validation import load_definition

FIGURES_ENV = "HEADWATER_BENCH_FIGURES"


# -- the client --------------------------------------------------------------------------------


@dataclass
class Tracked:
    """One execution as the client saw it (epoch seconds)."""

    scheduled: float
    completed: float | None = None  # CreateTime of its execution_completed
    read: float | None = None  # when this client read that record
    failed: bool = False


class Client:
    """Produces W3 starts and reads completions (and, on demand, every hop's records)."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.bootstrap = bootstrap
        self.topics = topic_names(prefix)
        self.codec = Codec(prefix=prefix)
        # linger 0: a start leaves at once (records that queue behind a request in flight
        # still share the next one).
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0,
                                         enable_idempotence=True)
        self.reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                       auto_offset_reset="earliest",
                                       max_partition_fetch_bytes=8 * 1024 * 1024)
        self.tracked: dict[bytes, Tracked] = {}
        self.on_end: Any = None  # called with the key of each tracked execution that ended
        models = [model.__name__ for model in CATALOGUE["executions"].events]
        # The byte after the Avro header is the union branch: no decoding needed.
        self.completed_mark = models.index("ExecutionCompleted") << 1
        self.failed_marks = {models.index(name) << 1 for name in
                             ("ExecutionFailed", "ExecutionCancelled", "ExecutionTimedOut")}
        self._reading: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Client:
        await self.producer.start()
        await self.reader.start()
        topic = self.topics["executions"]
        self.reader.assign([TopicPartition(topic, p) for p in range(PARTITIONS)])
        self._reading = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self._reading is not None
        self._reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reading
        await self.producer.stop()
        await self.reader.stop()

    async def publish(self, text: str) -> None:
        definition = load_definition(text)
        event = DefinitionPublished(kind="workflow", definition_id=definition.id,
                                    version=definition.version, published_at=_now(),
                                    definition=definition.model_dump(mode="json", by_alias=True))
        topic = self.topics["definitions"]
        await self.producer.send_and_wait(topic, self.codec.encode_value(topic, event),
                                          key=self.codec.encode_key(topic, event.key))

    async def start(self, execution_id: str, scheduled: float) -> bytes:
        """Send a start (not awaiting its ack); its key."""
        topic = self.topics["commands"]
        command = StartExecution(command_id=f"start-{execution_id}", execution_id=execution_id,
                                 time=_now(), workflow_id="bench-three", input={"n": 1})
        key = self.codec.encode_key(topic, execution_id)
        assert key is not None
        self.tracked[key] = Tracked(scheduled)
        await self.producer.send(topic, self.codec.encode_value(topic, command), key=key)
        return key

    async def _read(self) -> None:
        while True:
            batches = await self.reader.getmany(timeout_ms=500, max_records=20000)
            now = time.time()
            for records in batches.values():
                for record in records:
                    value = record.value
                    mark = value[5] if value is not None and len(value) > 5 else None
                    if mark != self.completed_mark and mark not in self.failed_marks:
                        continue
                    tracked = self.tracked.get(record.key)
                    if tracked is None or tracked.read is not None:
                        continue
                    tracked.completed, tracked.read = record.timestamp / 1000, now
                    tracked.failed = mark != self.completed_mark
                    if self.on_end is not None:
                        self.on_end(record.key)

    async def wait(self, keys: list[bytes], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while any(self.tracked[k].read is None for k in keys):
            if time.monotonic() > deadline:
                missing = sum(self.tracked[k].read is None for k in keys)
                raise TimeoutError(f"{missing} of {len(keys)} executions did not end")
            await asyncio.sleep(0.05)


class Hops:
    """CreateTimes of one phase's starts, answers (`hw.commands`) and tasks (`hw.tasks`) per
    execution, read from the ends the topics had when the phase began."""

    def __init__(self, client: Client) -> None:
        self._client = client
        self.commands: dict[bytes, list[float]] = defaultdict(list)
        self.tasks: dict[bytes, list[float]] = defaultdict(list)
        self._consumer = AIOKafkaConsumer(bootstrap_servers=client.bootstrap, group_id=None,
                                          max_partition_fetch_bytes=8 * 1024 * 1024)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Hops:
        await self._consumer.start()
        parts = [TopicPartition(self._client.topics[role], p)
                 for role in ("commands", "tasks") for p in range(PARTITIONS)]
        self._consumer.assign(parts)
        await self._consumer.seek_to_end(*parts)
        for tp in parts:
            await self._consumer.position(tp)
        self._task = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *_: object) -> None:
        await asyncio.sleep(0.5)  # the last records of the phase
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._consumer.stop()

    async def _read(self) -> None:
        commands = self._client.topics["commands"]
        while True:
            for tp, records in (await self._consumer.getmany(timeout_ms=500)).items():
                into = self.commands if tp.topic == commands else self.tasks
                for record in records:
                    into[record.key].append(record.timestamp / 1000)

    def lines(self, keys: list[bytes], tracked: dict[bytes, Tracked]) -> list[str]:
        """p50/p99 of each hop over the executions of `keys` that show all of them."""
        names = ["client: scheduled → start appended", "processor: start → task a",
                 "task worker: task a → answer", "processor: answer a → task b",
                 "task worker: task b → answer", "processor: answer b → task c",
                 "task worker: task c → answer", "processor: answer c → completed",
                 "client: completed → read"]
        spans: list[list[float]] = [[] for _ in names]
        for key in keys:
            c, t, x = self.commands.get(key, []), self.tasks.get(key, []), tracked[key]
            if len(c) != 4 or len(t) != 3 or x.completed is None or x.read is None:
                continue  # a redelivery or a straggler: counted by the totals only
            marks = [x.scheduled, c[0], t[0], c[1], t[1], c[2], t[2], c[3], x.completed, x.read]
            for i in range(len(names)):
                spans[i].append(1000 * (marks[i + 1] - marks[i]))
        if not spans[0]:
            return ["hops: no complete execution timeline read"]
        out = [f"hops over {len(spans[0]):,} executions (p50 / p99 ms; CreateTimes of the "
               f"records each hop appended):"]
        for name, values in zip(names, spans, strict=True):
            out.append(f"  {name:38s} {percentile(values, 0.5):7.1f} / {percentile(values, 0.99):7.1f}")
        return out


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


# -- measuring a phase -------------------------------------------------------------------------


@dataclass
class Processes:
    """The pids whose CPU a phase reports, and where to read the workers' counters."""

    workers: list[int]
    counter_ports: list[int]
    broker: int | None

    def cpu(self) -> dict[str, float]:
        own = resource.getrusage(resource.RUSAGE_SELF)
        return {"worker": sum(cpu_seconds(pid) for pid in self.workers),
                "broker": cpu_seconds(self.broker) if self.broker else float("nan"),
                "client": own.ru_utime + own.ru_stime,
                "worker_waited": sum(runqueue_seconds(pid) for pid in self.workers)}

    def counters(self) -> dict[str, Any]:
        total: dict[str, Any] = {"requests": {}, "items": {}, "empty": {}, "seconds": {},
                                 "samples": {}}
        for port in self.counter_ports:
            one = _counting.snapshot(port)
            for part in ("requests", "items", "empty", "seconds"):
                for k, v in one[part].items():
                    total[part][k] = total[part].get(k, 0) + v
            for k, v in one["samples"].items():
                total["samples"].setdefault(k, []).extend(v)
        return total


@dataclass
class Measured:
    """CPU and worker requests over one phase."""

    seconds: float
    cpu: dict[str, float]
    requests: dict[str, dict[str, float]]
    samples: dict[str, list[float]] = field(default_factory=dict)
    workers: int = 1


@contextlib.contextmanager
def measuring(procs: Processes, out: list[Measured]) -> Iterator[None]:
    began, cpu, counts = time.monotonic(), procs.cpu(), procs.counters()
    yield
    seconds = time.monotonic() - began
    cpu_after, counts_after = procs.cpu(), procs.counters()
    diff = {part: {k: v - counts[part].get(k, 0) for k, v in counts_after[part].items()
                   if v != counts[part].get(k, 0)}
            for part in ("requests", "items", "empty", "seconds")}
    samples = {k: v[len(counts["samples"].get(k, [])):] for k, v in counts_after["samples"].items()}
    out.append(Measured(seconds, {k: cpu_after[k] - cpu[k] for k in cpu}, diff, samples,
                        len(procs.workers)))


def runqueue_seconds(pid: int) -> float:
    """How long the main thread of `pid` has waited for a CPU while runnable (Linux
    schedstat), 0 where unknown: on a shared machine, the part of latency that is the
    machine's."""
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def cpu_line(m: Measured, executions: int | None) -> str:
    parts = []
    for who in ("worker", "broker", "client"):
        used = m.cpu[who]  # worker: all worker processes together
        text = f"{who} {100 * used / m.seconds:5.1f}% of a core"
        if executions:
            text += f" ({1000 * used / executions:.2f} ms/execution)"
        parts.append(text)
    waited = m.cpu["worker_waited"] / m.workers
    return ("CPU: " + ", ".join(parts) +
            f"; the worker's event loop waited for a CPU {100 * waited / m.seconds:.0f}% of the time")


def request_lines(m: Measured, executions: int | None) -> list[str]:
    """Requests by kind: per execution (or per second when idle) and how full they were."""
    req, items, empty, secs = (m.requests[p] for p in ("requests", "items", "empty", "seconds"))
    unit = "per execution" if executions else "per second"
    scale = executions if executions else m.seconds

    def group(prefix: str) -> list[str]:
        return sorted((k for k in req if k == prefix or k.startswith(prefix + ":")),
                      key=lambda k: -req[k])

    lines = [f"worker requests {unit} (records or partitions per request; round trip p50):"]
    total = sum(req.values())
    lines.append(f"  all {total / scale:8.2f}")
    for kind, what in (("produce", "records"), ("fetch", "records"), ("commit", "partitions")):
        names = group(kind)
        count = sum(req[k] for k in names)
        if not count:
            continue
        lines.append(f"  {kind:22s} {count / scale:8.2f}  {sum(items.get(k, 0) for k in names) / count:6.1f} {what} each")
        for name in names if len(names) > 1 or kind == "fetch" else []:
            note = f", {100 * empty.get(name, 0) / req[name]:.0f}% empty" if kind == "fetch" else ""
            rtt = percentile(m.samples.get(name, []), 0.5) * 1000
            lines.append(f"    {name:20s} {req[name] / scale:8.2f}  {items.get(name, 0) / req[name]:6.1f} "
                         f"{what} each{note}; round trip p50 {rtt:.1f} ms")
        if len(names) == 1 and kind != "fetch":
            rtt = percentile(m.samples.get(names[0], []), 0.5) * 1000
            lines[-1] += f"; round trip p50 {rtt:.1f} ms"
    other = {k: v for k, v in req.items() if not k.startswith(("produce", "fetch", "commit"))}
    if other:
        shown = ", ".join(f"{k} {v / scale:.2f}" for k, v in sorted(other.items(), key=lambda kv: -kv[1]))
        lines.append(f"  other: {shown}")
    _ = secs
    deliver = sorted(k for k in m.samples if k.startswith("deliver:") and m.samples[k])
    if deliver:
        shown = ", ".join(f"{k[8:]} {1000 * percentile(m.samples[k], 0.5):.1f} / "
                          f"{1000 * percentile(m.samples[k], 0.99):.1f}" for k in deliver)
        lines.append(f"  delivery, record appended → the worker's getmany returns it (p50 / p99 ms): {shown}")
    return lines


def figures(m: Measured, executions: int | None) -> dict[str, Any]:
    scale = executions or m.seconds
    return {"seconds": round(m.seconds, 2),
            "cpu_share": {k: round(v / m.seconds, 4) for k, v in m.cpu.items()},
            "cpu_ms_per_execution": ({k: round(1000 * v / executions, 3) for k, v in m.cpu.items()}
                                     if executions else None),
            "requests": {k: round(v / scale, 3) for k, v in m.requests["requests"].items()},
            "items": m.requests["items"], "empty": m.requests["empty"]}


# -- the phases --------------------------------------------------------------------------------


def latency(client: Client, keys: list[bytes]) -> tuple[dict[str, float], str]:
    done = [client.tracked[k] for k in keys]
    appended = [1000 * (t.completed - t.scheduled) for t in done if t.completed is not None]
    read = [1000 * (t.read - t.scheduled) for t in done if t.read is not None]
    failed = sum(t.failed for t in done)
    figs = {f"p{int(q * 100)}": round(percentile(appended, q), 1) for q in (0.5, 0.95, 0.99)}
    figs["max"] = round(max(appended), 1)
    figs["read_p50"], figs["read_p99"] = (round(percentile(read, 0.5), 1),
                                          round(percentile(read, 0.99), 1))
    text = (f"start → completed p50 {figs['p50']:.1f} ms, p95 {figs['p95']:.1f}, "
            f"p99 {figs['p99']:.1f}, max {figs['max']:.1f} (read by the client: p50 "
            f"{figs['read_p50']:.1f}, p99 {figs['read_p99']:.1f})" +
            (f"; {failed} FAILED" if failed else ""))
    return figs, text


async def closed_loop(client: Client, n: int, in_flight: int, tag: str) -> tuple[list[bytes], float]:
    """`n` executions, `in_flight` at a time; their keys and the seconds from first start to
    last completion."""
    slots = asyncio.Semaphore(in_flight)
    mine: set[bytes] = set()

    def ended(key: bytes) -> None:
        if key in mine:
            slots.release()

    client.on_end = ended
    keys = []
    began = time.time()
    for i in range(n):
        await slots.acquire()
        key = await client.start(f"{tag}-{i}", time.time())
        mine.add(key)
        keys.append(key)
    await client.wait(keys, timeout_s=600)
    client.on_end = None
    last = max(client.tracked[k].completed or 0.0 for k in keys)
    return keys, last - began


async def open_loop(client: Client, rate: float, seconds: float, tag: str) -> list[bytes]:
    """Starts at `rate`/s for `seconds`, each at its scheduled time; waits for their ends."""
    n = max(1, int(rate * seconds))
    began_wall, began = time.time(), time.monotonic()
    keys = []
    for i in range(n):
        await asyncio.sleep(max(0.0, began + i / rate - time.monotonic()))
        keys.append(await client.start(f"{tag}-{i}", began_wall + i / rate))
    await client.wait(keys, timeout_s=300)
    return keys


async def run(bench: Broker, args: argparse.Namespace) -> tuple[list[str], dict[str, Any]]:
    prefix = f"w3{uuid.uuid4().hex[:6]}."
    await create_topics_async(bench.bootstrap, prefix, partitions=PARTITIONS,
                              replication=replication())
    _counting.install(prefix)
    lines: list[str] = []
    out: dict[str, Any] = {"phases": {}}
    ports = [free_port() for _ in range(args.workers)]
    with tempfile.TemporaryDirectory(prefix="hw-w3-") as tmp, contextlib.ExitStack() as stack:
        children = [stack.enter_context(worker_process(
            bench.bootstrap, prefix, Path(tmp) / f"worker-{i}", module=("bench._counted_worker",),
            env={PORT_ENV: str(port)})) for i, port in enumerate(ports)]
        procs = Processes([c.pid for c in children], ports, bench.pid)
        async with Client(bench.bootstrap, prefix) as client:
            await client.publish(WORKFLOW)
            await _wait_counters(ports)
            warm, _ = await closed_loop(client, args.warm_up, min(args.in_flight, args.warm_up), "warm")
            lines.append(f"warm-up: {len(warm)} executions")

            measured: list[Measured] = []
            if args.idle > 0:
                with sampling(args.profile if args.profile_rate == 0 else None, procs.workers[0]), \
                        measuring(procs, measured):
                    await asyncio.sleep(args.idle)
                m = measured[-1]
                lines += [f"idle {args.idle:.0f} s: {cpu_line(m, None)}", *request_lines(m, None)]
                out["phases"]["idle"] = figures(m, None)

            if args.closed > 0:
                whole = MachineCpu().start()
                with measuring(procs, measured):
                    keys, took = await closed_loop(client, args.closed, args.in_flight, "closed")
                m = measured[-1]
                figs, text = latency(client, keys)
                rate = len(keys) / took
                lines += [f"closed loop, {args.in_flight} in flight, {len(keys):,} executions: "
                          f"{rate:,.0f} executions/s; {text}",
                          f"  {cpu_line(m, len(keys))}; {whole.idle()}",
                          *request_lines(m, len(keys))]
                out["phases"]["closed"] = {"executions_per_s": round(rate, 1), **figs,
                                           **figures(m, len(keys))}

            for rate in args.rates:
                name = f"open {rate:g}/s"
                with sampling(args.profile if rate == args.profile_rate else None, procs.workers[0]):
                    async with Hops(client) as hops:
                        with measuring(procs, measured):
                            keys = await open_loop(client, rate, args.seconds, f"open{rate:g}")
                m = measured[-1]
                figs, text = latency(client, keys)
                lines += [f"open loop {rate:g} starts/s for {args.seconds:.0f} s ({len(keys):,}): {text}",
                          f"  {cpu_line(m, len(keys))}", *request_lines(m, len(keys)),
                          *hops.lines(keys, client.tracked)]
                out["phases"][name] = {**figs, **figures(m, len(keys))}

        for i, child in enumerate(children):
            assert child.poll() is None, (Path(tmp) / f"worker-{i}" / "worker.log").read_text()[-3000:]
            rss = peak_rss_mib(child.pid)
            lines.append(f"worker {i} peak RSS: {rss:,.0f} MiB")
            out.setdefault("peak_rss_mib", []).append(round(rss, 1))
    return lines, out


async def _wait_counters(ports: list[int], timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    for port in ports:
        while True:
            try:
                _counting.snapshot(port, timeout_s=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.2)


def peak_rss_mib(pid: int) -> float:
    """VmHWM of a process (its peak resident set), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def load_line() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--closed", type=int, default=5000, help="closed-loop executions")
    parser.add_argument("--in-flight", type=int, default=100)
    parser.add_argument("--rates", default="50,5", help="open-loop starts/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=60.0, help="each open-loop phase")
    parser.add_argument("--idle", type=float, default=20.0, help="idle phase seconds (0: none)")
    parser.add_argument("--warm-up", type=int, default=100)
    parser.add_argument("--workers", type=int, default=1, help="worker processes, one group")
    parser.add_argument("--profile", type=Path, help="py-spy the worker in one phase (see --profile-rate)")
    parser.add_argument("--profile-rate", type=float, default=50.0,
                        help="the open-loop rate to profile (0: the idle phase)")
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 200 closed, 3 s per rate, 2 s idle")
    args = parser.parse_args()
    args.rates = [float(r) for r in args.rates.split(",") if r]
    if args.quick:
        args.closed, args.seconds, args.idle, args.warm_up = 200, 3.0, 2.0, 20
    print(f"machine: {machine()}; {os.cpu_count()} cores shared with whatever else runs; {load_line()}")
    with broker_process() as found:
        print(f"broker: {found.bootstrap} ({nodes()} node(s), replication {replication()}, "
              f"{PARTITIONS} partitions, acks=all), "
              f"pid {found.pid}; W3 on {args.workers} worker process(es)")
        lines, figs = asyncio.run(run(found, args))
    for line in lines:
        print(line)
    print(f"after: {load_line()}")
    if os.environ.get(FIGURES_ENV):
        Path(os.environ[FIGURES_ENV]).write_text(json.dumps(figs, indent=1))


if __name__ == "__main__":
    main()
