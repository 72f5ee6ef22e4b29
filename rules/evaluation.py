"""What the rule engine decides: an `Evaluation` and its parts, and the builder `decide` fills.

Plain values (NamedTuples), so callers compare, log and fold them without the engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from rules.actions import RenderedAction
from rules.limits import Change
from rules.patterns import PatternChange, Timer
from rules.routing import Candidate, Routed, gate_key
from schemas.definitions import RuleDefinition

__all__ = ["NOTHING", "Builder", "Deferred", "Evaluation", "Failure", "Firing", "Skip"]


class Firing(NamedTuple):
    """A rule that fires now, with its actions rendered (in the rule's order)."""

    rule_id: str
    rule_version: str
    actions: tuple[RenderedAction, ...]
    events: tuple[Mapping[str, Any], ...] = ()


class Skip(NamedTuple):
    """A candidate rule that did not act, with a reason code (see `schemas.outcomes`)."""

    rule_id: str
    rule_version: str
    reason: str
    detail: str = ""


class Deferred(NamedTuple):
    """A rule that matched and waits: queued for a concurrency slot or gathered in a batch."""

    rule_id: str
    rule_version: str
    mode: str


class Failure(NamedTuple):
    """A rule that matched but whose actions could not be rendered."""

    rule_id: str
    rule_version: str
    error_code: str
    message: str


class Evaluation(NamedTuple):
    """What one event (or timer, or completion) did.

    Attributes:
        fired: rules firing now, in priority order.
        deferred: rules that matched and wait (queued or batched).
        skipped: candidates that did not act, and why.
        failed: rules that matched but could not render their actions.
        timers: timers to deliver back (`on_timer`) when due: batch windows, absences.
        changes: limit state changes, for `apply` and for the changelog.
        pattern_changes: pattern state changes, likewise.
        routed: matches of gated rules for their gate owners to decide (`RuleEngine.routed`).
    """

    fired: tuple[Firing, ...] = ()
    deferred: tuple[Deferred, ...] = ()
    skipped: tuple[Skip, ...] = ()
    failed: tuple[Failure, ...] = ()
    timers: tuple[Timer, ...] = ()
    changes: tuple[Change, ...] = ()
    pattern_changes: tuple[PatternChange, ...] = ()
    routed: tuple[Routed, ...] = ()


class Builder:
    __slots__ = ("changes", "deferred", "failed", "fired", "pattern_changes", "routed",
                 "skipped", "timers")

    def __init__(self) -> None:
        self.fired: list[Firing] = []
        self.deferred: list[Deferred] = []
        self.skipped: list[Skip] = []
        self.failed: list[Failure] = []
        self.timers: list[Timer] = []
        self.changes: list[Change] = []
        self.pattern_changes: list[PatternChange] = []
        self.routed: dict[str, list[Candidate]] = {}

    def route(self, definition: RuleDefinition, candidate: Candidate) -> None:
        self.routed.setdefault(gate_key(definition), []).append(candidate)

    def build(self) -> Evaluation:
        return Evaluation(
            tuple(self.fired),
            tuple(self.deferred),
            tuple(self.skipped),
            tuple(self.failed),
            tuple(self.timers),
            tuple(self.changes),
            tuple(self.pattern_changes),
            tuple(Routed(k, tuple(c)) for k, c in self.routed.items()),
        )


NOTHING = Evaluation()
"""What an event that meets no rule does."""
