"""The mixed workload of the fault scenarios, and what it sent (for the verifier).

Each unit of load is one of, in a fixed rotation:

- `three`: a 3-step workflow of `transform` tasks;
- `signal`: a task, a wait for signal `go` (sent by the generator a second later), a task;
- `timer`: a task, a 2 s durable timer, a task;
- `parent`: a subprocess step running `chaos-three` as a child, then a task;
- `order`: a trigger event for the stateless rule `chaos-orders` (amount > 50 starts a
  `chaos-three`);
- `ping`: a trigger event for the stateful rule `chaos-burst` (a threshold of 3 pings per user
  within an hour starts a `chaos-three`, then starts over).

Every record is produced with acks=all by an idempotent producer and sent again until the
broker takes it (a fault may refuse it for a while); a repeat carries the same command id or
event id, which the engine must absorb.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from pydantic import BaseModel

from schemas.codec import Codec
from schemas.commands import SignalReceived, StartExecution
from schemas.definition_events import DefinitionPublished
from schemas.triggers import TriggerEvent
from schemas.validation import load_definition

__all__ = ["DEFINITIONS", "KINDS", "Load", "Sent"]

DEFINITIONS = [
    """
kind: workflow
id: chaos-three
name: Three transforms
steps:
  - {id: a, action: transform, with: {n: "${ input.n }"}}
  - {id: b, action: transform, with: {n: "${ input.n + 1 }"}}
  - {id: c, action: transform, with: {n: "${ input.n + 2 }"}}
""", """
kind: workflow
id: chaos-signal
name: Wait for a signal
steps:
  - {id: a, action: transform, with: {n: "${ input.n }"}}
  - {id: wait_go, type: wait, signal: go, timeout: 1d}
  - {id: c, action: transform, with: {n: "${ input.n }"}}
""", """
kind: workflow
id: chaos-timer
name: Wait two seconds
steps:
  - {id: a, action: transform, with: {n: "${ input.n }"}}
  - {id: pause, type: wait, duration: 2s}
  - {id: c, action: transform, with: {n: "${ input.n }"}}
""", """
kind: workflow
id: chaos-parent
name: Run a child
steps:
  - {id: child, type: subprocess, workflow_id: chaos-three, input: {n: "${ input.n }"}}
  - {id: c, action: transform, with: {n: "${ input.n }"}}
""", """
kind: rule
id: chaos-orders
name: Big orders start a workflow
trigger: {event_type: chaos.order}
conditions: {$gt: {data.amount: 50}}
actions:
  - {type: start_workflow, workflow_id: chaos-three, input: {n: "${ event.data.amount }"}}
""", """
kind: rule
id: chaos-burst
name: Every third ping of a user starts a workflow
trigger: {event_type: chaos.ping}
pattern: {kind: threshold, count: 3, within: 1h, correlate_by: data.user}
actions:
  - {type: start_workflow, workflow_id: chaos-three, input: {n: 1}}
"""]

KINDS = ("three", "signal", "order", "timer", "three", "ping", "parent", "ping", "ping")
WORKFLOW_OF = {"three": "chaos-three", "signal": "chaos-signal", "timer": "chaos-timer",
               "parent": "chaos-parent"}
USERS = 7  # pings rotate over this many users, so thresholds complete all the time


@dataclass
class Sent:
    """What the generator sent: the verifier's expectations.

    Attributes:
        starts: Execution id -> when its start command was first sent (epoch seconds).
        signals: Executions that were sent signal `go`.
        orders: Event id -> the order's amount.
        pings: Event id -> the user.
        poison: Keys of the undecodable records sent on purpose (they must be dead letters).
    """

    starts: dict[str, float] = field(default_factory=dict)
    signals: set[str] = field(default_factory=set)
    orders: dict[str, int] = field(default_factory=dict)
    pings: dict[str, str] = field(default_factory=dict)
    poison: set[str] = field(default_factory=set)
    retries: int = 0

    @property
    def units(self) -> int:
        return len(self.starts) + len(self.orders) + len(self.pings)


class Load:
    """Produces the workload of one topic prefix at a set rate."""

    def __init__(self, bootstrap: str, topics: dict[str, str], prefix: str) -> None:
        self.topics = topics
        self.codec = Codec(prefix=prefix)
        self.producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all",
                                          enable_idempotence=True, linger_ms=5,
                                          request_timeout_ms=30000)
        self.sent = Sent()
        self.count = 0
        self.rate = 0.0
        self._pending: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> Load:
        await self.producer.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.drain()
        await self.producer.stop()

    async def drain(self) -> None:
        """Wait for every send under way (signals scheduled for later included)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def publish_definitions(self) -> None:
        for text in DEFINITIONS:
            definition = load_definition(text)
            kind = "rule" if text.strip().startswith("kind: rule") else "workflow"
            event = DefinitionPublished(kind=kind, definition_id=definition.id,
                                        version=definition.version, published_at=datetime.now(UTC),
                                        definition=definition.model_dump(mode="json", by_alias=True))
            await self._send("definitions", event.key, event)

    async def _send(self, role: str, key: str, value: BaseModel | bytes) -> None:
        """Produce until the cluster acknowledges it (a fault may refuse it for a while)."""
        topic = self.topics[role]
        data = value if isinstance(value, bytes) else self.codec.encode_value(topic, value)
        encoded_key = self.codec.encode_key(topic, key)
        while True:
            try:
                await self.producer.send_and_wait(topic, data, key=encoded_key)
                return
            except KafkaError:
                self.sent.retries += 1
                await asyncio.sleep(0.5)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def one(self) -> None:
        """Send the next unit of the rotation (returns once it is handed to a task)."""
        n = self.count
        self.count += 1
        kind = KINDS[n % len(KINDS)]
        now = datetime.now(UTC)
        if kind in WORKFLOW_OF:
            eid = f"{kind}-{n}"
            self.sent.starts[eid] = time.time()
            start = StartExecution(command_id=f"start-{eid}", execution_id=eid, time=now,
                                   workflow_id=WORKFLOW_OF[kind], input={"n": n})
            self._spawn(self._send("commands", eid, start))
            if kind == "signal":
                self._spawn(self._signal_later(eid))
        elif kind == "order":
            amount = (n * 37) % 100
            event_id = f"order-{n}"
            self.sent.orders[event_id] = amount
            self._spawn(self._send("triggers", event_id, TriggerEvent(
                id=event_id, source="chaos", type="chaos.order", subject=event_id, time=now,
                data={"amount": amount})))
        else:
            user = f"u{(n // len(KINDS)) % USERS}"
            event_id = f"ping-{n}"
            self.sent.pings[event_id] = user
            # Keyed by user: one partition sees a user's pings in order, as the pattern needs.
            self._spawn(self._send("triggers", user, TriggerEvent(
                id=event_id, source="chaos", type="chaos.ping", subject=user, time=now,
                data={"user": user})))

    async def _signal_later(self, eid: str) -> None:
        await asyncio.sleep(1.0)
        self.sent.signals.add(eid)
        await self._send("commands", eid, SignalReceived(
            command_id=f"go-{eid}", execution_id=eid, time=datetime.now(UTC), name="go",
            payload={"ok": True}))

    async def poison(self, count: int = 3) -> None:
        """Undecodable triggers: each must end in the dead letters, the engine going on."""
        for i in range(count):
            key = f"poison-{self.count}-{i}"
            self.sent.poison.add(key)
            await self._send("triggers", key, b"\xff\xfe not an event")

    async def run(self, rate: float, seconds: float) -> None:
        """Send units at `rate` per second for `seconds` (a pace, not a burst)."""
        self.rate = rate
        began = time.monotonic()
        i = 0
        while time.monotonic() - began < seconds:
            due = began + i / rate
            if due > time.monotonic():
                await asyncio.sleep(due - time.monotonic())
            await self.one()
            i += 1
            # Back-pressure: a fault that refuses every send must not grow the tasks unbounded.
            while len(self._pending) > max(200, int(rate * 20)):
                await asyncio.sleep(0.05)
