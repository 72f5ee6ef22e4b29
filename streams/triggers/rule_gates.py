"""A rule gate: the exact limits of gated rules, decided by one owner (pure decide and fold).

Every gated rule (`rules.routing`) has its counters in the gate of its key (its exclusive
group's, or its own), and every worker routes its matches there (`gate_records.Request`), so
one partition owner counts them all, in the partition's order. `apply` decides and folds in
one pass, from the record and the state only (the limits ride on the request), so a replay of
the partition rebuilds exactly the state the owner had, wherever and whenever it runs:

- `max_executions` counts activations (fired, queued, and flushed batches);
- a firing holds a concurrency slot until every execution its actions started has ended
  (`Ended`, deduplicated by the execution id, so a repeated end frees nothing twice); a
  firing that starts no execution holds none;
- over the limit, `queued` mode keeps the firing in the gate's queue, `immediate` skips it;
  a freed slot releases the next queued firing (`next_queued`: the one place that orders the
  queue);
- `batch` mode gathers events; the batch fires at its size, or when its window is due
  (`Flush`, asked for by the owner with a record, so the flush is on the log too).

Now and then the owner writes the whole state as a `Snapshot` record (`wants_snapshot`), so a
gate outlives the topic's retention: `restore` starts from it.

A request the gate has applied already yields nothing: one from a trigger partition at or below
the highest offset applied from it (a trigger processed again after a crash, however late), or
a timer's whose tag is among the last `GATE_RECENT`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import orjson

from schemas.commands import PRIORITY_RANK
from streams.triggers.effects import digest
from streams.triggers.gate_records import Ended, Entry, Flush, GateRecord, Request, Snapshot

__all__ = [
    "GATE_RECENT",
    "Decision",
    "Defer",
    "Fire",
    "GateState",
    "Queued",
    "RuleSlots",
    "Skip",
    "apply",
    "due_flushes",
    "next_queued",
    "restore",
    "wants_snapshot",
]

GATE_RECENT = 1024
"""How many tags of timers' requests a gate remembers (a timer fired again comes soon after)."""

SNAPSHOT_EVERY = 1000
"""A gate is written whole after this many records, ..."""
SNAPSHOT_CHANGED = timedelta(hours=1)
"""... or this long after its last snapshot if anything changed since, ..."""
SNAPSHOT_IDLE = timedelta(days=1)
"""... or this long after it anyway: well within `hw.triggers`' retention (7 days)."""


class Fire(NamedTuple):
    """Fire the rule now. Its records' ids derive from (`rule_id`, `tag`); `report`: the
    firing answers the request's event and gets the outcome with actions."""

    rule_id: str
    version: str
    events: tuple[Mapping[str, Any], ...]
    time: datetime
    tag: str
    report: bool = True


class Defer(NamedTuple):
    """The match waits: queued for a slot or gathered into a batch."""

    rule_id: str
    version: str
    mode: str


class Skip(NamedTuple):
    """The match does not act (`max_executions`, `concurrency_limit`, `exclusive_group`)."""

    rule_id: str
    version: str
    reason: str
    detail: str


Decision = Fire | Defer | Skip


class Queued(NamedTuple):
    """A firing waiting for a slot."""

    version: str
    events: tuple[Mapping[str, Any], ...]
    tag: str
    starts: tuple[int, ...]
    priority: str = "normal"


@dataclass(slots=True)
class RuleSlots:
    """One rule's counters in its gate.

    Attributes:
        executions: Activations so far, for `max_executions`.
        limit: The concurrency limit of the latest request (a new version's takes effect with
            its first match).
        running: Firing tag -> the executions it started that have not ended, oldest first.
        queue: Firings waiting for a slot, in arrival order (`next_queued` picks).
        batch: Events gathered for the next batch, oldest first.
        opened: When the current batch's first event came (its window runs from there).
        window: The current batch's window, in seconds.
        version: The version that gathered the current batch.
        starts: The starting actions of the current batch's rule version.
    """

    executions: int = 0
    limit: int | None = None
    running: dict[str, list[str]] = field(default_factory=dict)
    queue: list[Queued] = field(default_factory=list)
    batch: list[Mapping[str, Any]] = field(default_factory=list)
    opened: datetime | None = None
    window: float = 60.0
    version: str = ""
    starts: tuple[int, ...] = ()


@dataclass(slots=True)
class GateState:
    """A gate: its rules' counters and what it knows of the requests it applied."""

    key: str
    rules: dict[str, RuleSlots] = field(default_factory=dict)
    recent: OrderedDict[str, None] = field(default_factory=OrderedDict)
    offsets: dict[int, int] = field(default_factory=dict)  # trigger partition -> highest applied
    snapped: datetime | None = None  # the time of the last snapshot record folded
    since: int = 0  # records folded since

    def slots(self, rule_id: str) -> RuleSlots:
        """The counters of `rule_id` (created empty)."""
        found = self.rules.get(rule_id)
        if found is None:
            found = self.rules[rule_id] = RuleSlots()
        return found

    def as_json(self) -> dict[str, Any]:
        """The state as JSON values (queues and batches in order)."""
        return {"key": self.key, "recent": list(self.recent),
                "offsets": [[p, o] for p, o in self.offsets.items()],
                "rules": {r: _slots_json(s) for r, s in self.rules.items()},
                "snapped": self.snapped.isoformat() if self.snapped else None,
                "since": self.since}

    @classmethod
    def of_json(cls, raw: dict[str, Any]) -> GateState:
        """Inverse of `as_json`."""
        return cls(raw["key"], {r: _slots_of(s) for r, s in raw["rules"].items()},
                   OrderedDict.fromkeys(raw["recent"]), {p: o for p, o in raw["offsets"]},
                   datetime.fromisoformat(raw["snapped"]) if raw["snapped"] else None,
                   raw["since"])

    def to_bytes(self) -> bytes:
        """Serialise for the rule-state store."""
        return orjson.dumps(self.as_json())

    @classmethod
    def from_bytes(cls, data: bytes) -> GateState:
        """Inverse of `to_bytes`."""
        return cls.of_json(orjson.loads(data))


def next_queued(queue: list[Queued]) -> int:
    """The position of the queued firing a freed slot releases: the highest priority first,
    the oldest of it (first in, first out within a priority). The one place that orders a
    rule's queue."""
    best = 0
    for position, queued in enumerate(queue):
        if PRIORITY_RANK[queued.priority] > PRIORITY_RANK[queue[best].priority]:
            best = position
    return best


def apply(state: GateState, record: GateRecord) -> list[Decision]:
    """Decide what `record` does and fold it into `state` (changed in place).

    The decisions depend on `state` and `record` only, so a replay that discards them
    rebuilds the same state. A snapshot only notes that the gate was written (its content is
    for `restore`; the state already reflects it).
    """
    if isinstance(record, Snapshot):
        state.snapped, state.since = record.time, 0
        return []
    state.since += 1
    if isinstance(record, Request):
        return _request(state, record) if _first(state, record) else []
    if isinstance(record, Ended):
        return _ended(state, record)
    return _flush(state, record)


def _first(state: GateState, request: Request) -> bool:
    """Whether the gate has not applied `request` yet (and note that it now has)."""
    if request.source is not None:
        partition, offset = request.source
        if offset <= state.offsets.get(partition, -1):
            return False
        state.offsets[partition] = offset
        return True
    if request.tag in state.recent:
        return False
    state.recent[request.tag] = None
    if len(state.recent) > GATE_RECENT:
        state.recent.popitem(last=False)
    return True


def _request(state: GateState, request: Request) -> list[Decision]:
    decisions: list[Decision] = []
    taken: str | None = None
    for entry in request.entries:
        if taken is not None:
            decisions.append(Skip(entry.rule_id, entry.version, "exclusive_group",
                                  f"{taken} acted first"))
        elif _admit(state, request, entry, decisions):
            taken = entry.rule_id
    return decisions


def _admit(state: GateState, request: Request, entry: Entry, out: list[Decision]) -> bool:
    """One candidate: True when it acted (fired, queued, batched) and so takes its group."""
    limits = entry.limits
    if limits is None:  # an ungated group member: nothing to count
        out.append(Fire(entry.rule_id, entry.version, entry.events, request.time, request.tag))
        return True
    slots = state.slots(entry.rule_id)
    slots.limit = limits.concurrency_limit
    if limits.max_executions is not None and slots.executions >= limits.max_executions:
        out.append(Skip(entry.rule_id, entry.version, "max_executions",
                        f"{limits.max_executions} reached"))
        return False
    if limits.mode == "batch":
        _gather(slots, request, entry, out)
        return True
    if slots.limit is not None and len(slots.running) >= slots.limit:
        if limits.mode != "queued":
            out.append(Skip(entry.rule_id, entry.version, "concurrency_limit",
                            f"{slots.limit} running"))
            return False
        slots.executions += 1
        slots.queue.append(Queued(entry.version, entry.events, request.tag, entry.starts,
                                  entry.priority))
        out.append(Defer(entry.rule_id, entry.version, "queued"))
        return True
    slots.executions += 1
    _hold(slots, entry.rule_id, request.tag, entry.starts)
    out.append(Fire(entry.rule_id, entry.version, entry.events, request.time, request.tag))
    return True


def _gather(slots: RuleSlots, request: Request, entry: Entry, out: list[Decision]) -> None:
    assert entry.limits is not None
    if not slots.batch:
        slots.opened, slots.window = request.time, entry.limits.batch_window
    slots.version, slots.starts = entry.version, entry.starts
    slots.batch.append(entry.events[-1])
    if len(slots.batch) < entry.limits.batch_size:
        out.append(Defer(entry.rule_id, entry.version, "batch"))
        return
    events = tuple(slots.batch)
    slots.batch, slots.opened = [], None
    slots.executions += 1
    _hold(slots, entry.rule_id, request.tag, entry.starts)
    out.append(Fire(entry.rule_id, entry.version, events, request.time, request.tag))


def _hold(slots: RuleSlots, rule_id: str, tag: str, starts: tuple[int, ...]) -> None:
    # Only a concurrency limit needs to know what runs (and only then are ends reported).
    if starts and slots.limit is not None:  # the ids `effects` gives what it starts
        slots.running[tag] = [f"{rule_id}:{tag}:{position}" for position in starts]


def _ended(state: GateState, ended: Ended) -> list[Decision]:
    slots = state.rules.get(ended.rule_id)
    parts = ended.execution_id.split(":")
    if slots is None or len(parts) != 3 or parts[1] not in slots.running:
        return []  # not one of its firings, or ended already
    held = slots.running[parts[1]]
    if ended.execution_id not in held:
        return []
    held.remove(ended.execution_id)
    if held:
        return []  # the firing's other executions still run
    del slots.running[parts[1]]
    decisions: list[Decision] = []
    while slots.queue and (slots.limit is None or len(slots.running) < slots.limit):
        queued = slots.queue.pop(next_queued(slots.queue))
        _hold(slots, ended.rule_id, queued.tag, queued.starts)
        decisions.append(Fire(ended.rule_id, queued.version, queued.events, ended.time,
                              queued.tag, report=False))
    return decisions


def _flush(state: GateState, flush: Flush) -> list[Decision]:
    slots = state.rules.get(flush.rule_id)
    if slots is None or not slots.batch or slots.opened != flush.opened:
        return []  # flushed by size already, or asked twice
    due = flush.opened + timedelta(seconds=slots.window)
    tag = digest("timer", "$batch", due.isoformat())
    events = tuple(slots.batch)
    slots.batch, slots.opened = [], None
    slots.executions += 1
    _hold(slots, flush.rule_id, tag, slots.starts)
    return [Fire(flush.rule_id, slots.version, events, due, tag)]


def restore(snapshot: Snapshot, later: Iterable[GateRecord]) -> GateState:
    """The gate a snapshot holds, with the records between its `as_of` and itself folded in:
    the state its owner had when the snapshot record came back to it."""
    state = GateState.of_json(snapshot.state)
    for record in later:
        apply(state, record)
    apply(state, snapshot)
    return state


def wants_snapshot(state: GateState, now: datetime) -> bool:
    """Whether the owner should write the gate whole now (see `SNAPSHOT_EVERY`)."""
    if state.snapped is None or state.since >= SNAPSHOT_EVERY:
        return True
    age = now - state.snapped
    return age >= SNAPSHOT_IDLE or (state.since > 0 and age >= SNAPSHOT_CHANGED)


def due_flushes(state: GateState, now: datetime) -> list[tuple[str, datetime]]:
    """The (rule, opened) of the batches whose window has passed at `now`."""
    return [(rule_id, s.opened) for rule_id, s in state.rules.items()
            if s.batch and s.opened is not None
            and s.opened + timedelta(seconds=s.window) <= now]


def _slots_json(s: RuleSlots) -> dict[str, Any]:
    return {"executions": s.executions, "limit": s.limit, "running": s.running,
            "queue": [[q.version, list(q.events), q.tag, list(q.starts), q.priority]
                      for q in s.queue],
            "batch": s.batch, "opened": s.opened.isoformat() if s.opened else None,
            "window": s.window, "version": s.version, "starts": list(s.starts)}


def _slots_of(raw: dict[str, Any]) -> RuleSlots:
    return RuleSlots(
        raw["executions"], raw["limit"], raw["running"],
        # A queue stored before priorities has four fields a firing: normal.
        [Queued(q[0], tuple(q[1]), q[2], tuple(q[3]), q[4] if len(q) > 4 else "normal")
         for q in raw["queue"]], raw["batch"],
        datetime.fromisoformat(raw["opened"]) if raw["opened"] else None, raw["window"],
        raw["version"], tuple(raw["starts"]))
