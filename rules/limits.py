"""Per-rule limit state (executions, running, queue, batch) as a fold over changes.

The engine decides with the state as it is and returns `Change`s; `evolve` is the only
thing that writes the state. Replaying the changes from the start rebuilds it exactly, so
the state survives a restart wherever the changes are logged (a changelog topic).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

ChangeKind = Literal["fired", "queued", "released", "completed", "batched", "flushed"]


@dataclass(frozen=True, slots=True)
class Change:
    """One step of a rule's limit state.

    Attributes:
        kind: `fired` (an execution started), `queued` (waits for a concurrency slot),
            `released` (a queued one started), `completed` (an execution ended),
            `batched` (an event joined the batch), `flushed` (the batch fired).
        rule_id: the rule.
        event: the event, for `queued` and `batched` (it is rendered when it fires).
        at: when, for `batched` (the first one opens the batch window).
    """

    kind: ChangeKind
    rule_id: str
    event: Mapping[str, Any] | None = None
    at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class RuleCounters:
    """What the limits of one rule need to know.

    Attributes:
        executions: activations so far (fired, queued and flushed batches), for
            `max_executions`.
        running: started and not completed, for `concurrency_limit`.
        queue: events waiting for a slot (queued mode), oldest first.
        batch: events gathered for the next batch (batch mode), oldest first.
        batch_opened: when the first event of the current batch came.
    """

    executions: int = 0
    running: int = 0
    queue: tuple[Mapping[str, Any], ...] = ()
    batch: tuple[Mapping[str, Any], ...] = ()
    batch_opened: dt.datetime | None = None


EMPTY = RuleCounters()


def evolve(state: Mapping[str, RuleCounters], change: Change) -> dict[str, RuleCounters]:
    """Apply one change; returns a new state (the old one is left alone)."""
    new = dict(state)
    new[change.rule_id] = step(state.get(change.rule_id, EMPTY), change)
    return new


def step(counters: RuleCounters, change: Change) -> RuleCounters:
    """One rule's counters after a change."""
    kind = change.kind
    if kind == "fired":
        return replace(counters, executions=counters.executions + 1, running=counters.running + 1)
    if kind == "queued":
        event = change.event if change.event is not None else {}
        return replace(counters, executions=counters.executions + 1, queue=(*counters.queue, event))
    if kind == "released":
        return replace(counters, running=counters.running + 1, queue=counters.queue[1:])
    if kind == "completed":
        return replace(counters, running=max(0, counters.running - 1))
    if kind == "batched":
        event = change.event if change.event is not None else {}
        opened = counters.batch_opened if counters.batch else change.at
        return replace(counters, batch=(*counters.batch, event), batch_opened=opened)
    return replace(
        counters,
        executions=counters.executions + 1,
        running=counters.running + 1,
        batch=(),
        batch_opened=None,
    )


def replay(changes: Iterable[Change]) -> dict[str, RuleCounters]:
    """The state after every change, from empty."""
    state: dict[str, RuleCounters] = {}
    for change in changes:
        state[change.rule_id] = step(state.get(change.rule_id, EMPTY), change)
    return state
