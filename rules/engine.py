"""The rule engine: which rules an event fires, with their actions rendered.

`RuleEngine.decide(event, now)` reads the index and the limit and pattern state and returns an
`Evaluation` (nothing is written); `apply(evaluation)` folds its changes into the state;
`evaluate` does both. Matches come in priority order (higher first, then rule id). All matching
rules fire; of an exclusive group only the first that can fire does. Rules are put, paused,
resumed and removed one at a time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rules import limits, patterns
from rules.actions import CompiledAction, compile_actions
from rules.conditions import CompiledCondition, compile_condition
from rules.evaluation import NOTHING, Builder, Deferred, Evaluation, Failure, Firing, Skip
from rules.explain import ConditionNode, Explainer, compile_explainer
from rules.index import Entry, RuleIndex
from rules.limits import EMPTY, Change, RuleCounters
from rules.patterns import CompiledPattern, PatternState, Timer
from rules.routing import Candidate, gated
from schemas.definitions import RuleDefinition
from schemas.expressions import ExpressionError

# The evaluation types were defined here; they stay importable from here.
__all__ = ["CompiledRule", "Deferred", "Evaluation", "Failure", "Firing", "RuleEngine", "Skip",
           "compile_rule"]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    """A rule definition with its condition, actions and pattern compiled.

    `plain` rules (immediate, no limits, no group, no pattern) keep no state and skip
    every check on the hot path.
    """

    definition: RuleDefinition
    condition: CompiledCondition
    actions: tuple[CompiledAction, ...]
    pattern: CompiledPattern | None
    plain: bool = False

    @property
    def id(self) -> str:
        """The rule id."""
        return self.definition.id


def compile_rule(definition: RuleDefinition) -> CompiledRule:
    """Compile a rule once.

    Raises:
        ConditionError: the condition does not compile.
        ExpressionError: an action mapping does not compile.
    """
    pattern = definition.pattern
    plain = (
        pattern is None
        and definition.exclusive_group is None
        and definition.execution_mode != "batch"
        and not _counted(definition)
    )
    return CompiledRule(
        definition,
        compile_condition(definition.conditions),
        compile_actions(definition.actions),
        CompiledPattern(definition.id, pattern) if pattern is not None else None,
        plain,
    )



class RuleEngine:
    """Active rules, their index, and the state their limits and patterns keep."""

    def __init__(self) -> None:
        self._index = RuleIndex()
        self._rules: dict[str, CompiledRule] = {}
        self._paused: set[str] = set()
        # Built on a rule's first firing that asks for its tree, dropped when it changes.
        self._explainers: dict[str, Explainer] = {}
        self.counters: dict[str, RuleCounters] = {}
        self.pattern_state: PatternState = {}
        # Set by a worker that shares its rules with others: gated rules' matches come out
        # as `Evaluation.routed` instead of being decided against `counters`.
        self.routed = False

    def __len__(self) -> int:
        return len(self._index)

    def put(self, definition: RuleDefinition) -> CompiledRule:
        """Add or change a rule; only `active`, `enabled`, event-triggered rules are filed."""
        rule = compile_rule(definition)
        self._rules[definition.id] = rule
        self._explainers.pop(definition.id, None)
        self._file(rule)
        return rule

    def remove(self, rule_id: str) -> None:
        """Forget a rule (its limit and pattern state are dropped too)."""
        self._explainers.pop(rule_id, None)
        self._rules.pop(rule_id, None)
        self._paused.discard(rule_id)
        self._index.remove(rule_id)
        self.counters.pop(rule_id, None)
        self.pattern_state = {k: v for k, v in self.pattern_state.items() if k[0] != rule_id}

    def pause(self, rule_id: str) -> None:
        """Stop matching a rule without forgetting it or its state."""
        self._paused.add(rule_id)
        self._index.remove(rule_id)

    def resume(self, rule_id: str) -> None:
        """Match a paused rule again (nothing is recompiled)."""
        self._paused.discard(rule_id)
        rule = self._rules.get(rule_id)
        if rule is not None:
            self._file(rule)

    def explain(self, rule_id: str, event: Mapping[str, Any], *, matched: bool = False
                ) -> ConditionNode | None:
        """The condition tree of a rule for an event (`rules.explain`), or None.

        `matched`: the rule's condition held for `event` (it fired), which spares
        evaluating its conjuncts again.
        """
        explainer = self._explainers.get(rule_id)
        if explainer is None:
            rule = self._rules.get(rule_id)
            if rule is None:
                return None
            explainer = self._explainers[rule_id] = compile_explainer(rule.definition.conditions)
        return explainer.explain(event, matched=matched)

    def rule(self, rule_id: str) -> CompiledRule | None:
        """The compiled rule under an id, filed or not."""
        return self._rules.get(rule_id)

    def _file(self, rule: CompiledRule) -> None:
        d = rule.definition
        active = d.status == "active" and d.enabled and d.type != "scheduled"
        if not active or d.id in self._paused:
            self._index.remove(d.id)
            return
        self._index.add(
            d.id,
            rule.condition,
            event_type=d.trigger.event_type,
            source=d.trigger.source,
            priority=d.priority,
            payload=rule,
        )

    def match(self, event: Mapping[str, Any]) -> list[Entry]:
        """The index's raw matches, in priority order (no limits, no rendering)."""
        return self._index.match(event)

    def decide(
        self, event: Mapping[str, Any], now: dt.datetime, *, explain: bool = False
    ) -> Evaluation:
        """What `event` (a CloudEvent as a JSON dict) does, without changing any state.

        Args:
            event: the trigger event as JSON (`TriggerEvent.model_dump(mode="json")`).
            now: the evaluation time (the worker passes the event's time for replay).
            explain: also list every trigger-matching candidate whose condition failed,
                with the reason (costs a pass over those candidates).
        """
        entries = self._index.match(event)
        if not entries and not explain:
            return NOTHING
        out = Builder()
        context: dict[str, Any] = {"event": event, "now": now, "events": (event,)}
        taken: set[str] = set()
        routing: set[str] = set()  # groups whose choice their gate owner makes
        for entry in entries:
            rule: CompiledRule = entry.payload
            if rule.plain:
                self._fire_one(rule, context, out)
                continue
            group = rule.definition.exclusive_group
            if group is not None and group in taken:
                out.skipped.append(_skip(rule, "exclusive_group", f"group {group!r} fired"))
            elif group is not None and group in routing:
                self._route(rule, event, now, out)
            else:
                activated = self._activate(rule, event, now, context, out)
                if group is not None and activated is not False:
                    (routing if activated is None else taken).add(group)
        if explain:
            self._explain(event, entries, out)
        return out.build()

    def _activate(
        self,
        rule: CompiledRule,
        event: Mapping[str, Any],
        now: dt.datetime,
        context: dict[str, Any],
        out: Builder,
    ) -> bool | None:
        """True: the rule acted (fired, queued, batched); False: it did not; None: routed to
        its gate owner, who decides."""
        events: tuple[Mapping[str, Any], ...] = (event,)
        if rule.pattern is not None:
            completed = self._advance_pattern(rule, rule.pattern, event, now, out)
            if not completed:
                return False
            events = completed
        d = rule.definition
        if self.routed and gated(d):
            out.route(d, Candidate(d.id, d.version, events))
            return None
        counters = self.counters.get(d.id, EMPTY)
        if d.max_executions is not None and counters.executions >= d.max_executions:
            out.skipped.append(_skip(rule, "max_executions", f"{d.max_executions} reached"))
            return False
        if d.execution_mode == "batch":
            return self._gather(rule, counters, event, now, context, out)
        limit = d.concurrency_limit
        if limit is not None and counters.running >= limit:
            if d.execution_mode == "queued":
                out.deferred.append(Deferred(d.id, d.version, "queued"))
                out.changes.append(Change("queued", d.id, event))
                return True
            out.skipped.append(_skip(rule, "concurrency_limit", f"{limit} running"))
            return False
        if self._fire(rule, events, context, out) and _counted(d):
            out.changes.append(Change("fired", d.id))
        return True

    def _route(self, rule: CompiledRule, event: Mapping[str, Any], now: dt.datetime,
               out: Builder) -> None:
        """A member of a group whose choice is routed: its gate owner tries it in turn."""
        events: tuple[Mapping[str, Any], ...] = (event,)
        if rule.pattern is not None:
            events = self._advance_pattern(rule, rule.pattern, event, now, out)
        if events:
            d = rule.definition
            out.route(d, Candidate(d.id, d.version, events))

    def render(self, rule_id: str, events: tuple[Mapping[str, Any], ...], now: dt.datetime
               ) -> Firing | Failure | None:
        """A rule's actions rendered for `events` (as a firing would), or None if the rule
        is unknown. Used by a gate owner once it let a routed match fire."""
        rule = self._rules.get(rule_id)
        if rule is None:
            return None
        out = Builder()
        self._fire(rule, events, {"now": now}, out)
        return out.fired[0] if out.fired else out.failed[0]

    def _fire_one(self, rule: CompiledRule, context: dict[str, Any], out: Builder) -> None:
        try:
            actions = tuple([a.render(context) for a in rule.actions])
        except ExpressionError as exc:
            d = rule.definition
            out.failed.append(Failure(d.id, d.version, exc.code, exc.message))
            return
        d = rule.definition
        out.fired.append(Firing(d.id, d.version, actions, context["events"]))

    def _fire(
        self,
        rule: CompiledRule,
        events: tuple[Mapping[str, Any], ...],
        context: dict[str, Any],
        out: Builder,
    ) -> bool:
        d = rule.definition
        scope = {**context, "event": events[-1], "events": events}
        try:
            actions = tuple(a.render(scope) for a in rule.actions)
        except ExpressionError as exc:
            out.failed.append(Failure(d.id, d.version, exc.code, exc.message))
            return False
        out.fired.append(Firing(d.id, d.version, actions, events))
        return True

    def _gather(
        self,
        rule: CompiledRule,
        counters: RuleCounters,
        event: Mapping[str, Any],
        now: dt.datetime,
        context: dict[str, Any],
        out: Builder,
    ) -> bool:
        d = rule.definition
        size = d.batch.size if d.batch is not None else 10
        window = d.batch.window if d.batch is not None else 60.0
        if len(counters.batch) + 1 >= size:
            # The batch is spent even if rendering fails; the failure is reported.
            self._fire(rule, (*counters.batch, event), context, out)
            out.changes.append(Change("flushed", d.id))
            return True
        out.deferred.append(Deferred(d.id, d.version, "batch"))
        out.changes.append(Change("batched", d.id, event, now))
        if not counters.batch:
            out.timers.append(Timer(d.id, "$batch", now + dt.timedelta(seconds=window)))
        return True

    def _advance_pattern(
        self,
        rule: CompiledRule,
        pattern: CompiledPattern,
        event: Mapping[str, Any],
        now: dt.datetime,
        out: Builder,
    ) -> tuple[Mapping[str, Any], ...]:
        key = pattern.key(event)
        if key is None:
            out.skipped.append(_skip(rule, "pattern_pending", "no correlation key"))
            return ()
        result = pattern.decide(self.pattern_state.get((rule.id, key)), key, event, now)
        if result.change is not None:
            out.pattern_changes.append(result.change)
        if result.timer is not None:
            out.timers.append(result.timer)
        if not result.completed:
            out.skipped.append(_skip(rule, "pattern_pending", result.reason))
        return result.completed

    def _explain(self, event: Mapping[str, Any], entries: list[Entry], out: Builder) -> None:
        matched = {e.rule_id for e in entries}
        for entry in self._index.candidates(event):
            if entry.rule_id not in matched:
                rule: CompiledRule = entry.payload
                reason = entry.condition.explain(event) or "condition false"
                out.skipped.append(_skip(rule, "condition_false", reason))

    def apply(self, evaluation: Evaluation) -> None:
        """Fold an evaluation's changes into the limit and pattern state."""
        for change in evaluation.changes:
            counters = self.counters.get(change.rule_id, EMPTY)
            self.counters[change.rule_id] = limits.step(counters, change)
        for pattern_change in evaluation.pattern_changes:
            self.pattern_state = patterns.evolve(self.pattern_state, pattern_change)

    def evaluate(
        self, event: Mapping[str, Any], now: dt.datetime, *, explain: bool = False
    ) -> Evaluation:
        """`decide` then `apply`."""
        evaluation = self.decide(event, now, explain=explain)
        if evaluation.changes or evaluation.pattern_changes:
            self.apply(evaluation)
        return evaluation

    def on_timer(self, timer: Timer, now: dt.datetime) -> Evaluation:
        """A timer came due: flush a batch window or fire an absence. Call `apply` after."""
        rule = self._rules.get(timer.rule_id)
        if rule is None:
            return NOTHING
        out = Builder()
        context: dict[str, Any] = {"now": now}
        if timer.key == "$batch":
            counters = self.counters.get(rule.id, EMPTY)
            if not counters.batch or counters.batch_opened is None:
                return NOTHING
            window = rule.definition.batch.window if rule.definition.batch else 60.0
            if counters.batch_opened + dt.timedelta(seconds=window) != timer.due:
                return NOTHING  # a stale timer: that batch was flushed by size
            self._fire(rule, counters.batch, context, out)
            out.changes.append(Change("flushed", rule.id))
            return out.build()
        if rule.pattern is None:
            return NOTHING
        current = self.pattern_state.get((rule.id, timer.key))
        result = rule.pattern.on_timer(current, timer.key, timer.due)
        if result.change is not None:
            out.pattern_changes.append(result.change)
        if result.completed and self.routed and gated(rule.definition):
            out.route(rule.definition, Candidate(rule.id, rule.definition.version,
                                                 result.completed))
            return out.build()
        fired = bool(result.completed) and self._fire(rule, result.completed, context, out)
        if fired and _counted(rule.definition):
            out.changes.append(Change("fired", rule.id))
        return out.build()

    def complete(self, rule_id: str, now: dt.datetime) -> Evaluation:
        """An execution of the rule ended: free its slot and start the oldest queued one."""
        rule = self._rules.get(rule_id)
        if rule is None or rule.definition.concurrency_limit is None:
            return NOTHING  # nothing counts its running executions
        out = Builder()
        out.changes.append(Change("completed", rule_id))
        queue = self.counters.get(rule_id, EMPTY).queue
        if queue:
            out.changes.append(Change("released", rule_id))
            if not self._fire(rule, (queue[0],), {"now": now}, out):
                out.changes.append(Change("completed", rule_id))  # it never ran
        return out.build()


def _counted(definition: RuleDefinition) -> bool:
    # Rules without limits keep no state, so the hot path allocates nothing for them.
    return definition.max_executions is not None or definition.concurrency_limit is not None


def _skip(rule: CompiledRule, reason: str, detail: str) -> Skip:
    return Skip(rule.definition.id, rule.definition.version, reason, detail)
