"""Limits around the trigger agent: backpressure, and freeing rule concurrency slots.

`Backpressure` is a policy the agent asks in its `tick`: how many tasks wait (end of `hw.tasks`
minus the task workers' committed offsets, measured by the runtime's `GroupLag` beside the
cycle, so a slow broker never stalls it), pausing trigger intake above a bound and resuming
below half of it. Triggers wait in Kafka, durable
and ordered, instead of piling up as executions and tasks.

`Completions` is a handler on its own partition loop over `hw.executions` (its own group): for
every execution of a concurrency-limited rule that ends it produces a `headwater.rule.ended`
record to `hw.triggers`, keyed by the rule's gate key (`streams.triggers.gate_records`), so the
one owner of that gate frees the slot and releases the next queued firing. The loop commits
only once the record is acknowledged, so an end is never lost; a repeated one frees nothing
(the gate knows which executions it holds). Rules start executions under ids
``<rule id>:<digest>:<action>``, so the rule is read from the key without decoding the value
of other executions' events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta

from rules import gate_key
from schemas.codec import Codec, DecodeError
from schemas.executions import ExecutionEventBase
from streams.runtime import Checkpoint, Out, Record, Replay
from streams.triggers.gate_records import Ended, ended_event
from streams.triggers.rulebook import Rulebook

__all__ = ["Backpressure", "Completions"]

log = logging.getLogger(__name__)

_TERMINAL = frozenset({"execution_completed", "execution_failed", "execution_cancelled",
                       "execution_timed_out"})


class Backpressure:
    """Says when the trigger agent should stop (or resume) taking triggers.

    The count is measured beside the cycle, never in it: `check` starts a measurement when one
    is due and decides on the last count it has. Measuring asks the brokers (end offsets and
    the group's commits); during a network fault or a frozen broker such a request waits for
    its timeout (tens of seconds), and awaited inside the tick it held the loop's lock that
    long: triggers stalled, and the member missed rebalances and was evicted from its group.

    Args:
        pending: How many tasks wait (produced and not yet committed by the task workers).
        max_pending: The bound.
        interval_s: How often to look.
        timeout_s: How long one measurement may take before it is given up (the last count
            stays; the next look tries again).
    """

    def __init__(self, pending: Callable[[], Awaitable[int]], max_pending: int = 50_000,
                 interval_s: float = 1.0, timeout_s: float = 10.0) -> None:
        self._pending, self._max = pending, max_pending
        self._interval = timedelta(seconds=interval_s)
        self._timeout = timeout_s
        self._looked: datetime | None = None
        self._measuring: asyncio.Task[None] | None = None
        self.pending = 0
        self.failures = 0

    async def check(self, now: datetime) -> bool | None:
        """True: pause, False: resume, None: leave as is (or no count measured yet). Returns
        at once: a due measurement runs in the background."""
        if self._looked is None or now - self._looked >= self._interval:
            self._looked = now
            if self._measuring is None or self._measuring.done():
                self._measuring = asyncio.ensure_future(self._measure())
        if self.pending > self._max:
            return True
        if self.pending <= self._max // 2:
            return False
        return None

    async def _measure(self) -> None:
        try:
            self.pending = await asyncio.wait_for(self._pending(), self._timeout)
        except Exception as exc:  # the brokers cannot say now; keep the last count
            self.failures += 1
            log.info("backpressure: could not count the waiting tasks (%s: %s); keeping %d",
                     type(exc).__name__, exc, self.pending)

    async def close(self) -> None:
        """Stop a measurement under way."""
        if self._measuring is not None and not self._measuring.done():
            self._measuring.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._measuring


class Completions:
    """The handler of `hw.executions` that reports ended executions of concurrency-limited
    rules to their gates.

    Args:
        topics: Topic role -> topic name (reads `executions`, writes `triggers`).
        codec: The codec.
        book: The agent's rules (read for their limits and gate keys).
    """

    name = "completions"

    def __init__(self, topics: Mapping[str, str], codec: Codec, book: Rulebook) -> None:
        self._topic, self._triggers = topics["executions"], topics["triggers"]
        self._codec, self._book = codec, book
        # Fewer repeated reports; the gate ignores any that get through.
        self._seen: OrderedDict[str, None] = OrderedDict()

    async def process(self, record: Record, out: Out) -> None:
        try:
            key = self._codec.decode_key(self._topic, record.key)
        except DecodeError:
            return  # the processor dead-letters what it cannot read; this only looks
        if not isinstance(key, str) or key.count(":") != 2 or key in self._seen:
            return
        rule_id = key.split(":", 1)[0]
        compiled = self._book.rules.rule(rule_id)
        if compiled is None or compiled.definition.concurrency_limit is None:
            return
        try:
            event = self._codec.decode_value(self._topic, record.value)
        except DecodeError:
            return
        if isinstance(event, ExecutionEventBase) and getattr(event, "type", "") in _TERMINAL:
            self._seen[key] = None
            if len(self._seen) > 100_000:
                self._seen.popitem(last=False)
            gate = gate_key(compiled.definition)
            ended = ended_event(Ended(key=gate, rule_id=rule_id, execution_id=key,
                                      time=event.time))
            out.put(self._triggers, self._codec.encode_key(self._triggers, gate),
                    self._codec.encode_value(self._triggers, ended))

    async def assigned(self, partition: int, committed: int) -> Replay | None:
        return None

    def replay(self, record: Record) -> None:
        raise AssertionError("Completions replays nothing")

    def replayed(self, partition: int, position: int) -> None:
        pass

    async def tick(self, now: datetime, out: Out) -> None:
        # Without a concurrency-limited rule no end matters: stop fetching `hw.executions`
        # (four fetches per 3-step execution at light load) until one is published. Nothing
        # is skipped: the loop resumes where it paused and reads what ended meanwhile.
        out.pause_intake(not self._book.limited)

    def store(self, checkpoints: Mapping[int, Checkpoint]) -> None:
        pass

    def holding(self, partition: int) -> int | None:
        return None

    def revoked(self, partition: int) -> None:
        pass
