"""Stateful patterns over events of one correlation key: sequence, threshold, absence.

Pure `decide`/`evolve`: `decide` reads the key's current value and returns a `PatternOutcome`
(the new value, whether the pattern completed, and timers as data); `evolve` writes it. Time
comes in as `now`; an absence fires only when the caller delivers its timer back through
`on_timer`. Replaying the `PatternChange`s from the start rebuilds the state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rules.conditions import Test, compile_condition, field_getter
from rules.values import MISSING
from schemas.definitions import AbsencePattern, Pattern, SequencePattern, ThresholdPattern


@dataclass(frozen=True, slots=True)
class Partial:
    """How far a key has come: matched events (or their times) and the window's anchor.

    Attributes:
        started: when the first event of this attempt came (or, for absence, the deadline's
            origin).
        events: the events matched so far (sequence, absence) or the last one (threshold).
        times: the times of matches in the window (threshold only).
    """

    started: dt.datetime
    events: tuple[Mapping[str, Any], ...] = ()
    times: tuple[dt.datetime, ...] = ()


@dataclass(frozen=True, slots=True)
class Timer:
    """Deliver `on_timer(rule_id, key, due)` back to the engine at `due`."""

    rule_id: str
    key: str
    due: dt.datetime


@dataclass(frozen=True, slots=True)
class PatternChange:
    """The key's value becomes `value` (None clears it)."""

    rule_id: str
    key: str
    value: Partial | None


@dataclass(frozen=True, slots=True)
class PatternOutcome:
    """What one event (or timer) did to one key.

    Attributes:
        change: the state change, or None when nothing changed.
        completed: the events that completed the pattern (empty when it did not).
        timer: a timer to set, if any.
        reason: why the pattern did not complete, for monitoring.
    """

    change: PatternChange | None
    completed: tuple[Mapping[str, Any], ...] = ()
    timer: Timer | None = None
    reason: str = ""


PatternState = dict[tuple[str, str], Partial]


class CompiledPattern:
    """A pattern with its conditions and correlation path compiled."""

    __slots__ = ("_key", "_steps", "definition", "rule_id")

    def __init__(self, rule_id: str, definition: Pattern) -> None:
        self.rule_id = rule_id
        self.definition = definition
        self._key = field_getter(definition.correlate_by, ())
        if isinstance(definition, SequencePattern):
            conditions = list(definition.steps)
        elif isinstance(definition, AbsencePattern):
            conditions = [definition.first, definition.then]
        else:
            conditions = []
        self._steps: tuple[Test, ...] = tuple(compile_condition(c).test for c in conditions)

    def key(self, event: Mapping[str, Any]) -> str | None:
        """The correlation key of an event, as text; None when the field is missing."""
        value = self._key(event)
        if value is MISSING or value is None or isinstance(value, dict | list):
            return None
        return value if isinstance(value, str) else repr(value)

    def decide(
        self, current: Partial | None, key: str, event: Mapping[str, Any], now: dt.datetime
    ) -> PatternOutcome:
        """What `event` (already past the rule's trigger and conditions) does to `key`."""
        pattern = self.definition
        if isinstance(pattern, SequencePattern):
            return self._sequence(pattern, current, key, event, now)
        if isinstance(pattern, ThresholdPattern):
            return self._threshold(pattern, current, key, event, now)
        return self._absence(pattern, current, key, event, now)

    def on_timer(self, current: Partial | None, key: str, due: dt.datetime) -> PatternOutcome:
        """A timer came due: an absence whose deadline is `due` fires."""
        pattern = self.definition
        if not isinstance(pattern, AbsencePattern) or current is None:
            return PatternOutcome(None, reason="no pending absence")
        if current.started + dt.timedelta(seconds=pattern.timeout) != due:
            return PatternOutcome(None, reason="stale timer")
        return PatternOutcome(PatternChange(self.rule_id, key, None), completed=current.events)

    def _sequence(
        self,
        pattern: SequencePattern,
        current: Partial | None,
        key: str,
        event: Mapping[str, Any],
        now: dt.datetime,
    ) -> PatternOutcome:
        window = dt.timedelta(seconds=pattern.within)
        if current is not None and now - current.started > window:
            current = None  # the attempt ran out of time; this event may start a new one
        done = len(current.events) if current is not None else 0
        if not self._steps[done](event):
            if current is None and self._steps[0](event):
                return self._start_sequence(key, event, now)
            return PatternOutcome(None, reason=f"waiting for step {done + 1}")
        if done + 1 == len(self._steps):
            events = (*(current.events if current else ()), event)
            return PatternOutcome(PatternChange(self.rule_id, key, None), completed=events)
        if current is None:
            return self._start_sequence(key, event, now)
        value = Partial(current.started, (*current.events, event))
        return PatternOutcome(PatternChange(self.rule_id, key, value), reason="sequence pending")

    def _start_sequence(
        self, key: str, event: Mapping[str, Any], now: dt.datetime
    ) -> PatternOutcome:
        value = Partial(now, (event,))
        return PatternOutcome(PatternChange(self.rule_id, key, value), reason="sequence started")

    def _threshold(
        self,
        pattern: ThresholdPattern,
        current: Partial | None,
        key: str,
        event: Mapping[str, Any],
        now: dt.datetime,
    ) -> PatternOutcome:
        since = now - dt.timedelta(seconds=pattern.within)
        times = (*tuple(t for t in (current.times if current else ()) if t > since), now)
        if len(times) >= pattern.count:
            return PatternOutcome(PatternChange(self.rule_id, key, None), completed=(event,))
        value = Partial(times[0], (event,), times)
        reason = f"{len(times)} of {pattern.count} within {pattern.within:g}s"
        return PatternOutcome(PatternChange(self.rule_id, key, value), reason=reason)

    def _absence(
        self,
        pattern: AbsencePattern,
        current: Partial | None,
        key: str,
        event: Mapping[str, Any],
        now: dt.datetime,
    ) -> PatternOutcome:
        first, then = self._steps
        if current is not None and then(event):
            return PatternOutcome(PatternChange(self.rule_id, key, None), reason="followed in time")
        if current is None and first(event):
            due = now + dt.timedelta(seconds=pattern.timeout)
            change = PatternChange(self.rule_id, key, Partial(now, (event,)))
            return PatternOutcome(change, timer=Timer(self.rule_id, key, due), reason="waiting")
        return PatternOutcome(None, reason="waiting" if current else "not the first event")


def evolve(state: PatternState, change: PatternChange) -> PatternState:
    """Write one change; returns a new state."""
    new = dict(state)
    slot = (change.rule_id, change.key)
    if change.value is None:
        new.pop(slot, None)
    else:
        new[slot] = change.value
    return new


def replay(changes: Iterable[PatternChange]) -> PatternState:
    """The state after every change, from empty."""
    state: PatternState = {}
    for change in changes:
        slot = (change.rule_id, change.key)
        if change.value is None:
            state.pop(slot, None)
        else:
            state[slot] = change.value
    return state
