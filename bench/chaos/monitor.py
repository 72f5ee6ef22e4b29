"""Progress as seen from outside: completions per second, executions in flight, latency.

A tail of `hw.executions` reads only each record's key and its event's union branch (the byte
after the wire header), so following the engine costs this process little. Samples are taken
once a second; `timings` turns them into a scenario's figures around a fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.chaos.load import Sent
from schemas.avro.catalogue import CATALOGUE
from schemas.codec import Codec

__all__ = ["Monitor", "Sample", "timings"]


@dataclass
class Sample:
    at: float
    """Seconds since the monitor started."""
    completed: int
    in_flight: int
    extra: dict[str, float] = field(default_factory=dict)


class Monitor:
    """Follows `hw.executions` and samples progress each second.

    Args:
        probes: Further figures sampled each second (name -> function), e.g. RSS or view lag.
    """

    def __init__(self, bootstrap: str, topic: str, codec: Codec, sent: Sent,
                 probes: dict[str, Callable[[], float]] | None = None,
                 every_s: float = 1.0, outcomes_topic: str | None = None) -> None:
        self.bootstrap, self.topic, self.codec, self.sent = bootstrap, topic, codec, sent
        self.outcomes_topic = outcomes_topic
        self.answered: set[str] = set()
        """Trigger event ids with a rule outcome (read from `outcomes_topic`)."""
        self.probes = probes or {}
        self.every_s = every_s
        self.done: dict[str, float] = {}
        """Execution id -> CreateTime of its completion (epoch seconds)."""
        self.samples: list[Sample] = []
        self.began = time.monotonic()
        models = [model.__name__ for model in CATALOGUE["executions"].events]
        self._completed_mark = models.index("ExecutionCompleted") << 1
        self._tasks: list[asyncio.Task[None]] = []

    def elapsed(self) -> float:
        return time.monotonic() - self.began

    async def __aenter__(self) -> Monitor:
        self.began = time.monotonic()
        self._tasks = [asyncio.create_task(self._tail(self.topic, self._completion)),
                       asyncio.create_task(self._sample())]
        if self.outcomes_topic is not None:
            self._tasks.append(asyncio.create_task(self._tail(self.outcomes_topic, self._outcome)))
        return self

    async def __aexit__(self, *_: object) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _tail(self, topic: str, handle: Callable[[Any], None]) -> None:
        """Feed every record of `topic`, from offset zero on, to `handle`."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=None,
                                    auto_offset_reset="earliest", enable_auto_commit=False)
        await consumer.start()
        try:
            parts = [TopicPartition(topic, p) for p in range(6)]
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            while True:
                for records in (await consumer.getmany(timeout_ms=300)).values():
                    for record in records:
                        handle(record)
        finally:
            await consumer.stop()

    def _completion(self, record: Any) -> None:
        value = record.value
        if value is not None and len(value) > 5 and value[5] == self._completed_mark:
            key = self.codec.decode_key(record.topic, record.key)
            self.done.setdefault(str(key), record.timestamp / 1000)

    def _outcome(self, record: Any) -> None:
        with contextlib.suppress(Exception):  # not ours to judge: the verifier's
            outcome = self.codec.decode_value(record.topic, record.value)
            self.answered.add(str(getattr(outcome, "event_id", "")))

    def unanswered(self) -> list[str]:
        """Triggers sent that must get an outcome and have none yet (orders above 50 and every
        ping; a small order never reaches its rule)."""
        due = [e for e, amount in self.sent.orders.items() if amount > 50] + list(self.sent.pings)
        return [event for event in due if event not in self.answered]

    async def wait_all_answered(self, timeout_s: float) -> list[str]:
        """Wait until every trigger that must get an outcome has one; those still without."""
        deadline = time.monotonic() + timeout_s
        while (missing := self.unanswered()) and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        return missing

    def in_flight(self) -> int:
        return sum(1 for eid in self.sent.starts if eid not in self.done)

    async def _sample(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            extra = {}
            for name, probe in self.probes.items():
                try:
                    extra[name] = float(probe())
                except Exception:  # a probe of a process being killed: no figure this time
                    extra[name] = float("nan")
            self.samples.append(Sample(self.elapsed(), len(self.done), self.in_flight(), extra))

    async def wait_all_done(self, timeout_s: float) -> list[str]:
        """Wait until every start sent completed; the ids still open at the timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not (missing := [e for e in self.sent.starts if e not in self.done]):
                return []
            await asyncio.sleep(0.5)
        return missing

    def latencies(self, since: float = 0.0, until: float = float("inf")) -> list[float]:
        """Start-to-completion seconds of the starts sent in [since, until) (monitor seconds)."""
        origin = time.time() - self.elapsed()
        return [self.done[eid] - sent for eid, sent in self.sent.starts.items()
                if eid in self.done and since <= sent - origin < until]


def _rate(samples: list[Sample], i: int, window: int = 5) -> float:
    """Completions per second over the `window` samples ending at `i`."""
    j = max(0, i - window)
    span = samples[i].at - samples[j].at
    return (samples[i].completed - samples[j].completed) / span if span > 0 else 0.0


def timings(samples: list[Sample], fault_at: float, healed_at: float,
            load_end: float, load_began: float = 0.0) -> dict[str, float]:
    """A fault's figures: throughput before and at its lowest, in-flight peak, recovery time.

    Recovery: the first moment after the fault began from which executions in flight stay at
    most 1.5 times the most seen in the 30 s before it (plus 10), i.e. the backlog the fault
    built up has been worked off. Measured from the fault's start and from its end (heal).
    """
    # The load's first seconds are its ramp (no completions yet): not part of "before".
    since = max(fault_at - 30, load_began + 8)
    before = [i for i, s in enumerate(samples) if since <= s.at < fault_at and i >= 5]
    during = [i for i, s in enumerate(samples) if fault_at <= s.at <= load_end]
    base_rate = statistics.mean(_rate(samples, i) for i in before) if before else float("nan")
    base_flight = max((samples[i].in_flight for i in before), default=0)
    low = min((_rate(samples, i) for i in during), default=float("nan"))
    peak = max((samples[i].in_flight for i in during), default=0)
    limit = 1.5 * base_flight + 10
    recovered = float("nan")
    for i in during:
        if samples[i].at >= healed_at and all(samples[j].in_flight <= limit
                                              for j in during if j >= i):
            recovered = samples[i].at
            break
    return {"throughput_before": base_rate, "throughput_lowest": low,
            "dip_percent": 100 * (1 - low / base_rate) if base_rate else float("nan"),
            "in_flight_before_max": base_flight, "in_flight_peak": peak,
            "recover_s_from_fault": recovered - fault_at, "recover_s_from_heal": recovered - healed_at}
