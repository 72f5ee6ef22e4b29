"""The rule gates of the trigger partitions a worker owns: their state, records and effects.

The agent hands every `headwater.rule.*` record to `PartitionGates`: `process` folds it into
its gate (`streams.triggers.rule_gates`) and turns the decisions into records (the actions of
what fires, with ids from the rule and the occasion, and the rule outcomes); `replay` folds
only. Gate states are kept in the `RuleStateStore` with a checkpoint of their own, written
after the cycle's records are acknowledged, so a gate record is applied exactly once to the
stored state: records below the checkpoint are skipped, records above it are replayed (taken
over) or processed (live), and redelivered ones meet the gate's memory of request ids.
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
    Request,
    ended_event,
    flush_event,
    limits_of,
    request_event,
    starts_of,
)
from streams.triggers.rule_gates import Defer, Fire, GateState
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
                 starts=starts_of(definition))


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
        self._asked: set[tuple[str, str, datetime]] = set()  # flushes asked for, not yet seen

    def load(self, partition: int) -> int:
        """Take a newly assigned partition; the offset its gates must be replayed from."""
        states = (GateState.from_bytes(data) for data in self._store.gates(partition))
        self._states[partition] = {state.key: state for state in states}
        self._dirty[partition] = set()
        self._checkpoints[partition] = self._store.gate_checkpoint(partition)
        return self._checkpoints[partition]

    def drop(self, partition: int) -> None:
        """Forget a revoked partition (its store entries stay, for a later return)."""
        self._states.pop(partition, None)
        self._dirty.pop(partition, None)
        self._checkpoints.pop(partition, None)

    def applies(self, partition: int, offset: int) -> bool:
        """Whether the record at `offset` is not yet in the gates' state."""
        return offset >= self._checkpoints.get(partition, 0)

    def save(self, partition: int, checkpoint: int) -> None:
        """Store the changed gates of `partition` with their new checkpoint, atomically."""
        if partition not in self._states:
            return
        dirty, states = self._dirty[partition], self._states[partition]
        self._store.write_gates(partition, {key: states[key].to_bytes() for key in dirty},
                                checkpoint)
        dirty.clear()
        self._checkpoints[partition] = checkpoint

    def replay(self, partition: int, record: Request | Ended | Flush) -> None:
        """Fold a gate record another worker (or this one before a crash) processed."""
        rule_gates.apply(self._gate(partition, record.key), record)

    def process(self, partition: int, record: Request | Ended | Flush, rules: RuleEngine
                ) -> Made:
        """Fold a gate record and make what its decisions ask for."""
        gate = self._gate(partition, record.key)
        decisions = rule_gates.apply(gate, record)
        if isinstance(record, Flush):
            self._asked.discard((record.key, record.rule_id, record.opened))
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
        self._dirty[partition].add(record.key)
        evaluation = Evaluation(fired=tuple(fired), deferred=tuple(deferred),
                                skipped=tuple(skipped), failed=tuple(failed))
        return evaluation, _reported(record), occasions, records

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


def _reported(record: Request | Ended | Flush) -> Mapping[str, Any]:
    """The event a gate record's outcomes name: the routed event, or the batch's timer."""
    if isinstance(record, Request):
        return record.origin
    if isinstance(record, Flush):
        return {"id": f"$batch@{record.opened.isoformat()}", "source": "headwater/timers",
                "type": "headwater.timer.fired"}
    return {}
