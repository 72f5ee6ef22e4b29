"""The rule gates of the trigger partitions a worker owns: their state, records and effects.

The agent hands every `headwater.rule.*` record to `PartitionGates`: `process` folds it into
its gate (`streams.triggers.rule_gates`) and turns the decisions into records (the actions of
what fires, with ids from the rule and the occasion, and the rule outcomes); `replay` folds
only. Gate states are kept in the `RuleStateStore` with a checkpoint of their own, written
after the cycle's records are acknowledged, so a gate record is applied exactly once to the
stored state: records below the checkpoint are skipped, records above it are replayed (taken
over) or processed (live), and redelivered ones meet the gate's memory of request ids.

A worker whose store is behind the partition's log start (empty, or older than the topic's
retention) cannot fold the records that are gone; it rebuilds each gate from the newest
`Snapshot` the owners wrote (`rule_gates.wants_snapshot`), folding again after it the records
from the snapshot's `as_of` on, which it keeps while it replays.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from rules import Candidate, Deferred, Evaluation, Failure, Firing, RuleEngine, Skip, gated
from schemas.definitions import RuleDefinition
from streams.runtime.outgoing import Outgoing
from streams.triggers import rule_gates
from streams.triggers.effects import DEPTH_EXTENSION, Occasion, action_records
from streams.triggers.gate_records import (
    Ended,
    Entry,
    Flush,
    GateRecord,
    Request,
    Snapshot,
    ended_event,
    flush_event,
    limits_of,
    priority_of,
    request_event,
    snapshot_event,
    starts_of,
)
from streams.triggers.rule_gates import Decision, Defer, Fire, GateState
from streams.triggers.rule_state import RuleStateStore

__all__ = ["Made", "PartitionGates", "request_records"]

Made = tuple[Evaluation, Mapping[str, Any], dict[str, Occasion], list[Outgoing]]
"""What a gate record made: the evaluation and event its outcomes report, the occasions of
what fired (for the outcomes' refs), and the actions' records."""


def request_records(rules: RuleEngine, routed: tuple[Any, ...], tag: str, time: datetime,
                    origin: Mapping[str, Any], source: tuple[int, int] | None = None
                    ) -> list[Outgoing]:
    """The records that carry an evaluation's routed matches to their gates.

    Args:
        source: The trigger's (partition, offset), None for a timer's firing.
    """
    records = []
    for route in routed:
        entries = tuple(_entry(rules, c) for c in route.candidates)
        request = Request(key=route.key, tag=tag, time=time, entries=entries, source=source,
                          origin={k: origin.get(k) for k in ("id", "source", "type")})
        records.append(Outgoing("triggers", route.key, request_event(request)))
    return records


def _entry(rules: RuleEngine, candidate: Candidate) -> Entry:
    compiled = rules.rule(candidate.rule_id)
    assert compiled is not None  # it matched a moment ago
    definition: RuleDefinition = compiled.definition
    return Entry(rule_id=candidate.rule_id, version=candidate.rule_version,
                 events=tuple(dict(e) for e in candidate.events),
                 limits=limits_of(definition) if gated(definition) else None,
                 starts=starts_of(definition), priority=priority_of(definition))


class PartitionGates:
    """Per owned partition of `hw.triggers`: its rule gates, unsaved changes, checkpoint.

    Args:
        store: Where gates and their checkpoints are kept.
    """

    def __init__(self, store: RuleStateStore) -> None:
        self._store = store
        self._states: dict[int, dict[str, GateState]] = {}
        self._dirty: dict[int, set[str]] = {}
        self._checkpoints: dict[int, int] = {}
        self._positions: dict[int, int] = {}  # the next offset the gates do not reflect
        self._asked: set[tuple[str, str, datetime]] = set()  # flushes asked for, not yet seen
        self._snapping: set[str] = set()  # snapshots written, not yet read back
        # While rebuilding a partition whose history is partly gone: per gate, the records
        # replayed since the newest snapshot applied, and that snapshot's `as_of`.
        self._rebuilding: dict[int, dict[str, list[tuple[int, GateRecord]]]] = {}
        self._restored: dict[str, int] = {}
        self._until: dict[int, int] = {}  # rebuilding reads up to here (the end at assignment)
        self._reached: dict[int, int] = {}

    def load(self, partition: int, log_start: int, committed: int, end: int) -> int:
        """Take a newly assigned partition; the offset its gates must be replayed from.

        Args:
            partition: The partition.
            log_start: The partition's first offset still on the broker.
            committed: The group's committed offset (replayed up to; processed from).
            end: The partition's end now: a snapshot its writer never read back is before it,
                so rebuilding goes on, live, until the records read reach it.
        """
        states = (GateState.from_bytes(data) for data in self._store.gates(partition))
        self._states[partition] = {state.key: state for state in states}
        self._dirty[partition] = set()
        checkpoint = self._checkpoints[partition] = self._store.gate_checkpoint(partition)
        self._positions[partition] = checkpoint
        if checkpoint < log_start:
            self._rebuilding[partition] = {}
            self._until[partition], self._reached[partition] = end, committed
        return checkpoint

    def drop(self, partition: int) -> None:
        """Forget a revoked partition (its store entries stay, for a later return)."""
        self._states.pop(partition, None)
        self._dirty.pop(partition, None)
        self._checkpoints.pop(partition, None)
        self._positions.pop(partition, None)
        self.live(partition)

    def applies(self, partition: int, offset: int) -> bool:
        """Whether the record at `offset` is not yet in the gates' state."""
        return offset >= self._checkpoints.get(partition, 0)

    def save(self, partition: int, checkpoint: int) -> None:
        """Store the changed gates of `partition` with their new checkpoint, atomically.

        Not while rebuilding: a gate folded before its snapshot is not the gate, and a crash
        then must find the store still behind the log start (and rebuild again).
        """
        if partition not in self._states or partition in self._rebuilding:
            return
        dirty, states = self._dirty[partition], self._states[partition]
        self._store.write_gates(partition, {key: states[key].to_bytes() for key in dirty},
                                checkpoint)
        dirty.clear()
        self._checkpoints[partition] = checkpoint

    def replay(self, partition: int, offset: int, record: GateRecord) -> None:
        """Fold a gate record another worker (or this one before a crash) processed."""
        self._fold(partition, offset, record)

    def _fold(self, partition: int, offset: int, record: GateRecord) -> list[Decision]:
        self._positions[partition] = offset + 1
        kept = self._rebuilding.get(partition)
        if kept is None:
            return rule_gates.apply(self._gate(partition, record.key), record)
        since = kept.setdefault(record.key, [])
        if isinstance(record, Snapshot) and record.as_of > self._restored.get(record.key, -1):
            # The history before `as_of` is in the snapshot; what came after it, folded again.
            since[:] = [(o, r) for o, r in since if o >= record.as_of]
            gate = rule_gates.restore(record, (r for _, r in since))
            self._states[partition][record.key] = gate
            self._dirty[partition].add(record.key)
            self._restored[record.key] = record.as_of
            return []
        since.append((offset, record))
        return rule_gates.apply(self._gate(partition, record.key), record)

    def process(self, partition: int, offset: int, record: GateRecord, rules: RuleEngine
                ) -> Made:
        """Fold a gate record and make what its decisions ask for."""
        decisions = self._fold(partition, offset, record)
        gate = self._gate(partition, record.key)
        if isinstance(record, Flush):
            self._asked.discard((record.key, record.rule_id, record.opened))
        elif isinstance(record, Snapshot):
            self._snapping.discard(record.key)
        evaluation, occasions, records = self._effects(gate, decisions, rules)
        self._dirty[partition].add(record.key)
        return evaluation, _reported(record), occasions, records

    def _effects(self, gate: GateState, decisions: list[Decision], rules: RuleEngine
                 ) -> tuple[Evaluation, dict[str, Occasion], list[Outgoing]]:
        """The outcomes' evaluation, the occasions and the records of a gate's decisions."""
        fired: list[Firing] = []
        failed: list[Failure] = []
        deferred: list[Deferred] = []
        skipped: list[Skip] = []
        occasions: dict[str, Occasion] = {}
        records: list[Outgoing] = []
        for decision in decisions:
            if isinstance(decision, Fire):
                firing = rules.render(decision.rule_id, decision.events, decision.time)
                if isinstance(firing, Firing):
                    occasion = _occasion(decision)
                    records += action_records(occasion, firing.actions)
                    if decision.report:
                        fired.append(firing)
                        occasions[decision.rule_id] = occasion
                    continue
                # Nothing starts, so nothing would free its slot: the gate hears it ended.
                records += self._unheld(gate, decision)
                if decision.report:
                    failed.append(firing or Failure(decision.rule_id, decision.version,
                                                    "rule_not_loaded", "the rule is not loaded"))
            elif isinstance(decision, Defer):
                deferred.append(Deferred(decision.rule_id, decision.version, decision.mode))
            else:
                skipped.append(Skip(decision.rule_id, decision.version, decision.reason,
                                    decision.detail))
        evaluation = Evaluation(fired=tuple(fired), deferred=tuple(deferred),
                                skipped=tuple(skipped), failed=tuple(failed))
        return evaluation, occasions, records

    def live(self, partition: int) -> None:
        """The partition is rebuilt: what was kept to rebuild its gates goes."""
        kept = self._rebuilding.pop(partition, None)
        self._until.pop(partition, None)
        self._reached.pop(partition, None)
        for key in kept or ():
            self._restored.pop(key, None)

    def passed(self, partition: int, offset: int) -> None:
        """A live record of `partition` was handled (rebuilding ends at the end it had)."""
        if partition in self._rebuilding:
            self._reached[partition] = offset + 1

    def settle(self) -> None:
        """End the rebuilding of every partition read up to where its end was when it came."""
        for partition in list(self._rebuilding):
            if self._reached[partition] >= self._until[partition]:
                self.live(partition)

    def snapshots(self, now: datetime) -> list[Outgoing]:
        """The snapshots the owned gates want now (one at a time per gate)."""
        records = []
        for partition, states in self._states.items():
            if partition in self._rebuilding:
                continue  # a gate not yet restored must not be written as if it were whole
            for key, gate in states.items():
                if key not in self._snapping and rule_gates.wants_snapshot(gate, now):
                    self._snapping.add(key)
                    snapshot = Snapshot(key=key, as_of=self._positions[partition],
                                        state=gate.as_json(), time=now)
                    records.append(Outgoing("triggers", key, snapshot_event(snapshot)))
        return records

    def due(self, now: datetime) -> list[Outgoing]:
        """Ask for the flush of every batch whose window has passed (once each)."""
        records = []
        for states in self._states.values():
            for key, gate in states.items():
                for rule_id, opened in rule_gates.due_flushes(gate, now):
                    if (key, rule_id, opened) in self._asked:
                        continue
                    self._asked.add((key, rule_id, opened))
                    flush = Flush(key=key, rule_id=rule_id, opened=opened, time=now)
                    records.append(Outgoing("triggers", key, flush_event(flush)))
        return records

    def _gate(self, partition: int, key: str) -> GateState:
        states = self._states.setdefault(partition, {})
        self._dirty.setdefault(partition, set()).add(key)
        found = states.get(key)
        if found is None:
            found = states[key] = GateState(key)
        return found

    def _unheld(self, gate: GateState, fire: Fire) -> list[Outgoing]:
        slots = gate.rules.get(fire.rule_id)
        held = list(slots.running.get(fire.tag, ())) if slots is not None else []
        return [Outgoing("triggers", gate.key, ended_event(Ended(
            key=gate.key, rule_id=fire.rule_id, execution_id=eid, time=fire.time)))
            for eid in held]


def _occasion(fire: Fire) -> Occasion:
    event = fire.events[-1] if fire.events else None
    depth = event.get(DEPTH_EXTENSION, 0) if event is not None else 0
    return Occasion(fire.rule_id, fire.tag, fire.time, event, "rule",
                    depth if isinstance(depth, int) else 0)


def _reported(record: GateRecord) -> Mapping[str, Any]:
    """The event a gate record's outcomes name: the routed event, or the batch's timer."""
    if isinstance(record, Request):
        return record.origin
    if isinstance(record, Flush):
        return {"id": f"$batch@{record.opened.isoformat()}", "source": "headwater/timers",
                "type": "headwater.timer.fired"}
    return {}
