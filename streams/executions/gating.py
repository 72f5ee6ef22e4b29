"""Workflow concurrency gates inside the execution processor.

A command whose execution id is a gate's (``gate:<workflow id>``) is applied here instead of
to an execution: load the gate's state (this batch's or the store's), call the pure
`streams.machine.apply_gate`, append its events to the same partition of ``hw.executions``
and send `GrantSlot` to the executions it admits, all in the processor's batch, so gates get
the processor's guarantees (acked before stored, stored before committed). After a catch-up,
`resend` produces again the slot commands the folded events caused, in case the worker that
wrote them crashed before they were acknowledged; every one of them is idempotent.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer

from schemas.codec import Codec
from schemas.commands import AcquireSlot, CommandBase, ReleaseSlot
from streams.executions.routing import grants
from streams.executions.store import StateStore
from streams.machine import GateState, apply_gate
from streams.runtime.outbox import Outbox
from streams.runtime.outgoing import Outgoing

__all__ = ["GateRouter"]


class GateRouter:
    """Applies gate commands in the processor's batches.

    Args:
        topics: Topic role -> topic name.
        codec: The codec for every topic.
        producer: The processor's producer.
        store: The processor's state store.
    """

    def __init__(self, topics: dict[str, str], codec: Codec, producer: AIOKafkaProducer,
                 store: StateStore) -> None:
        self._topics, self._codec, self._producer, self._store = topics, codec, producer, store

    async def apply(self, gates: dict[str, GateState], outbox: Outbox, partition: int,
                    key: bytes | None, command: CommandBase) -> str | None:
        """Apply one gate command; returns why it was refused, or None.

        Args:
            gates: This batch's changed gate states of `partition` (updated in place).
            outbox: The batch's outbox.
            partition: The command's partition (its events go to the same one).
            key: The command's key bytes (the encoded gate id).
            command: The decoded command.
        """
        if not isinstance(command, AcquireSlot | ReleaseSlot):
            return f"a gate takes acquire_slot and release_slot, not {type(command).__name__}"
        gid = command.execution_id
        state = gates[gid] if gid in gates else self._store.get_gate(partition, gid)
        # The state is this batch's own (loaded from bytes, or changed earlier in the batch).
        events, new_state = apply_gate(state, command, owned=True)
        if not events:
            return None
        assert new_state is not None
        gates[gid] = new_state
        executions, commands = self._topics["executions"], self._topics["commands"]
        for event in events:
            await outbox.append(executions, partition, key, self._codec.encode_value(executions, event))
        for out in grants(events):
            await outbox.send(commands, self._codec.encode_key(commands, out.key),
                              self._codec.encode_value(commands, out.value))
        return None

    async def resend(self, records: list[Outgoing]) -> None:
        """Produce `records` (slot commands re-derived by a catch-up) and wait for the acks."""
        sent: list[asyncio.Future[Any]] = []
        for out in records:
            topic = self._topics[out.role]
            sent.append(await self._producer.send(
                topic, self._codec.encode_value(topic, out.value),
                key=self._codec.encode_key(topic, out.key)))
        if sent:
            await asyncio.gather(*sent)
