"""Try a rule on a sample event, without side effects: does it match, why, what would it send.

`try_rule` runs the real engine (`RuleEngine.decide`, which writes nothing) on a throwaway
engine holding the rule and the other rules of its exclusive group, with limit state the
caller supplies (`Observed`), and adds what `decide` does not say: the condition tree
(`rules.explain`), every action rendered on its own (one failing mapping does not hide the
others), and which limit would hold the firing back. Pure: `now` comes in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from rules.actions import compile_actions
from rules.engine import Evaluation, RuleEngine
from rules.explain import ConditionNode, compile_explainer
from rules.limits import RuleCounters
from schemas.definitions import AbsencePattern, RuleDefinition, SequencePattern
from schemas.expressions import ExpressionError

__all__ = ["ActionTrial", "Hold", "Observed", "Trial", "try_rule"]

# The trigger agent keeps these internal records (wait subscriptions, rule gates) away from
# every rule.
_INTERNAL_PREFIX = ("headwater.wait.", "headwater.rule.")


@dataclass(frozen=True, slots=True)
class Observed:
    """The limit state to try the rule against (zero: a rule that has never fired).

    Attributes:
        executions: activations so far, for `max_executions`.
        running: firings not yet completed, for `concurrency_limit`.
        batched: events already gathered in the open batch.
    """

    executions: int = 0
    running: int = 0
    batched: int = 0


@dataclass(frozen=True, slots=True)
class ActionTrial:
    """One action rendered against the event (`error` set and `rendered` empty if it failed)."""

    index: int
    type: str
    rendered: Mapping[str, Any]
    error: tuple[str, str] | None = None

    def as_json(self) -> dict[str, Any]:
        error = None if self.error is None else {"code": self.error[0], "message": self.error[1]}
        return {"index": self.index, "type": self.type, "rendered": dict(self.rendered),
                "error": error}


@dataclass(frozen=True, slots=True)
class Hold:
    """What keeps a matching event from firing the rule now.

    `limit`: `status` (not active or disabled), `exclusive_group`, `max_executions`,
    `concurrency_limit` (skipped, or queued in queued mode), `batch` (gathered),
    `pattern` (the pattern has not completed).
    """

    limit: str
    detail: str

    def as_json(self) -> dict[str, str]:
        return {"limit": self.limit, "detail": self.detail}


@dataclass(frozen=True, slots=True)
class Trial:
    """What one event does to one rule."""

    matched: bool
    trigger_matched: bool
    conditions: ConditionNode | None
    actions: tuple[ActionTrial, ...]
    held_by: Hold | None

    def as_json(self) -> dict[str, Any]:
        """The `POST /rules/test` answer."""
        return {"matched": self.matched, "trigger_matched": self.trigger_matched,
                "conditions": None if self.conditions is None else self.conditions.as_json(),
                "actions": [a.as_json() for a in self.actions],
                "held_by": None if self.held_by is None else self.held_by.as_json()}


def try_rule(
    rule: RuleDefinition,
    event: Mapping[str, Any],
    now: dt.datetime,
    *,
    observed: Observed | None = None,
    group: Iterable[tuple[RuleDefinition, Observed]] = (),
) -> Trial:
    """Evaluate `rule` on `event` as the engine would, and explain it.

    Args:
        rule: the rule, in whatever status (a paused one is tried as if active and
            reported held by `status`).
        event: the CloudEvent as JSON (`TriggerEvent.model_dump(mode="json")`).
        now: the evaluation time.
        observed: the rule's limit state.
        group: the other active rules of its exclusive group with their limit state;
            one of them that fires first holds this one back.

    Raises:
        ConditionError, ExpressionError: the rule does not compile (validate it first).
    """
    trigger = _trigger_matches(rule, event)
    tree = _tree(rule, event)
    matched = trigger and (tree is None or tree.result)
    actions = _render(rule, event, now)
    held: Hold | None = None
    if matched:
        held = _status_hold(rule) or _engine_hold(rule, event, now, observed or Observed(),
                                                  group)
    return Trial(matched, trigger, tree, actions, held)


def _trigger_matches(rule: RuleDefinition, event: Mapping[str, Any]) -> bool:
    kind, source = event.get("type"), event.get("source")
    if rule.type == "scheduled" or type(kind) is not str or type(source) is not str:
        return False
    if kind.startswith(_INTERNAL_PREFIX):
        return False
    return fnmatchcase(kind, rule.trigger.event_type) and fnmatchcase(source,
                                                                      rule.trigger.source)


def _tree(rule: RuleDefinition, event: Mapping[str, Any]) -> ConditionNode | None:
    conditions = compile_explainer(rule.conditions).explain(event)
    pattern = rule.pattern
    if pattern is None:
        return conditions
    steps: list[tuple[str, Any]] = []
    if isinstance(pattern, SequencePattern):
        steps = [("$step", s) for s in pattern.steps]
    elif isinstance(pattern, AbsencePattern):
        steps = [("$first", pattern.first), ("$then", pattern.then)]
    kids = [conditions] if conditions is not None else []
    for i, (op, step) in enumerate(steps):
        node = compile_explainer(step).explain(event)
        if node is not None:
            kids.append(ConditionNode(op, None, i + 1, None, node.result, (node,)))
    passes = conditions is None or conditions.result
    # From a fresh state the event counts if it starts the pattern (or, for a threshold,
    # passes the conditions): that is the engine's order too.
    starts = kids[1 if conditions is not None else 0].result if steps else True
    key = _read(event, pattern.correlate_by)
    summary = pattern.model_dump(mode="json", exclude={"steps", "first", "then"})
    return ConditionNode(pattern.kind, pattern.correlate_by, summary, key,
                         passes and starts and key is not None, tuple(kids))


def _read(event: Mapping[str, Any], path: str) -> Any:
    value: Any = event
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _render(rule: RuleDefinition, event: Mapping[str, Any], now: dt.datetime
            ) -> tuple[ActionTrial, ...]:
    context = {"event": event, "events": (event,), "now": now}
    out = []
    for action in compile_actions(rule.actions):
        try:
            rendered = action.render(context)
            out.append(ActionTrial(action.index, action.type, rendered.params))
        except ExpressionError as exc:
            out.append(ActionTrial(action.index, action.type, {}, (exc.code, exc.message)))
    return tuple(out)


def _status_hold(rule: RuleDefinition) -> Hold | None:
    if rule.status != "active":
        return Hold("status", f"version {rule.version} is {rule.status}: it does not run")
    if not rule.enabled:
        return Hold("status", "the rule is disabled (enabled: false)")
    return None


def _engine_hold(rule: RuleDefinition, event: Mapping[str, Any], now: dt.datetime,
                 observed: Observed, group: Iterable[tuple[RuleDefinition, Observed]]
                 ) -> Hold | None:
    engine = RuleEngine()
    members = [(rule, observed)]
    if rule.exclusive_group is not None:
        members += [(r, o) for r, o in group
                    if r.id != rule.id and r.exclusive_group == rule.exclusive_group]
    for definition, state in members:
        engine.put(definition.model_copy(update={"status": "active", "enabled": True}))
        engine.counters[definition.id] = _counters(state, event, now)
    return _hold_of(engine.decide(event, now), rule)


def _counters(state: Observed, event: Mapping[str, Any], now: dt.datetime) -> RuleCounters:
    batch = (event,) * state.batched
    return RuleCounters(state.executions, state.running, (), batch, now if batch else None)


def _hold_of(evaluation: Evaluation, rule: RuleDefinition) -> Hold | None:
    for skip in evaluation.skipped:
        if skip.rule_id != rule.id or skip.reason == "condition_false":
            continue
        if skip.reason == "exclusive_group":
            first = next((f.rule_id for f in evaluation.fired), "another rule")
            return Hold("exclusive_group", f"{first} fires first in group "
                                           f"{rule.exclusive_group!r}")
        if skip.reason == "pattern_pending":
            return Hold("pattern", f"{rule.pattern.kind if rule.pattern else 'pattern'}: "
                                   f"{skip.detail}")
        return Hold(skip.reason, skip.detail)
    for deferred in evaluation.deferred:
        if deferred.rule_id == rule.id:
            if deferred.mode == "queued":
                return Hold("concurrency_limit", f"queued: {rule.concurrency_limit} running "
                                                 "(queued mode waits for a slot)")
            size = rule.batch.size if rule.batch else 10
            window = rule.batch.window if rule.batch else 60.0
            return Hold("batch", f"gathered into a batch: fires at {size} events or "
                                 f"{window:g}s after the first")
    return None
