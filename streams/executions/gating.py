"""Workflow concurrency gates inside the execution processor.

A command whose execution id is a gate's (``gate:<workflow id>``) is applied here instead of
to an execution: load the gate's state (this batch's or the store's), call the pure
`streams.machine.apply_gate`, append its events to the same partition of ``hw.executions``
and send `GrantSlot` to the executions it admits, all in the processor's cycle, so gates get
the processor's guarantees (acked before stored, stored before committed). After a catch-up
the processor produces again the slot commands the folded events caused
(`CatchUp.resend`), in case the worker that wrote them crashed before they were
acknowledged; every one of them is idempotent.
"""

from __future__ import annotations

from schemas.codec import Codec
from schemas.commands import AcquireSlot, CommandBase, ReleaseSlot
from streams.executions.routing import grants
from streams.executions.store import StateStore
from streams.machine import GateState, apply_gate
from streams.runtime.out import Out

__all__ = ["GateRouter"]


class GateRouter:
    """Applies gate commands in the processor's batches.

    Args:
        topics: Topic role -> topic name.
        codec: The codec for every topic.
        store: The processor's state store.
    """

    def __init__(self, topics: dict[str, str], codec: Codec, store: StateStore) -> None:
        self._topics, self._codec, self._store = topics, codec, store

    def apply(self, gates: dict[str, GateState], out: Out, partition: int,
              key: bytes | None, command: CommandBase) -> str | None:
        """Apply one gate command; returns why it was refused, or None.

        Args:
            gates: This cycle's changed gate states of `partition` (updated in place once
                every record is staged).
            out: The cycle's outbox.
            partition: The command's partition (its events go to the same one).
            key: The command's key bytes (the encoded gate id).
            command: The decoded command.
        """
        if not isinstance(command, AcquireSlot | ReleaseSlot):
            return f"a gate takes acquire_slot and release_slot, not {type(command).__name__}"
        gid = command.execution_id
        state = gates[gid] if gid in gates else self._store.get_gate(partition, gid)
        # The state is this cycle's own (loaded from bytes, or changed earlier in the cycle).
        events, new_state = apply_gate(state, command, owned=True)
        if not events:
            return None
        assert new_state is not None
        executions, commands = self._topics["executions"], self._topics["commands"]
        for event in events:
            out.put(executions, key, self._codec.encode_value(executions, event), partition)
        for follow in grants(events):
            out.put(commands, self._codec.encode_key(commands, follow.key),
                    self._codec.encode_value(commands, follow.value))
        gates[gid] = new_state
        return None
