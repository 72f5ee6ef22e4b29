"""The rule engine: compiled conditions, an index, limits, stateful patterns, statistics.

Pure: no Kafka, no clock, no I/O. Time comes in as `now`; timers go out as data.

Example:
    >>> from schemas.definitions import RuleDefinition
    >>> engine = RuleEngine()
    >>> _ = engine.put(RuleDefinition.model_validate({
    ...     "id": "big-order", "name": "Big order",
    ...     "trigger": {"event_type": "order.*"},
    ...     "conditions": {"$gt": {"data.amount": 100}},
    ...     "actions": [{"type": "start_workflow", "workflow_id": "review"}],
    ... }))
    >>> import datetime as dt
    >>> now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    >>> event = {"id": "1", "source": "shop", "type": "order.created", "data": {"amount": 250}}
    >>> [f.rule_id for f in engine.evaluate(event, now).fired]
    ['big-order']
"""

from rules.actions import CompiledAction, RenderedAction, compile_actions
from rules.conditions import CompiledCondition, compile_condition, field_getter
from rules.engine import (
    CompiledRule,
    Deferred,
    Evaluation,
    Failure,
    Firing,
    RuleEngine,
    Skip,
    compile_rule,
)
from rules.index import Entry, PatternMap, RuleIndex
from rules.limits import Change, RuleCounters
from rules.outcomes import to_outcomes
from rules.patterns import CompiledPattern, Partial, PatternChange, PatternOutcome, Timer
from rules.routing import Candidate, Routed, gate_key, gated
from rules.stats import RuleStats, fold, fold_all, merge
from rules.values import MISSING, equality_key, json_equal
from schemas.definitions.conditions import ConditionError

__all__ = [
    "MISSING",
    "Candidate",
    "Change",
    "CompiledAction",
    "CompiledCondition",
    "CompiledPattern",
    "CompiledRule",
    "ConditionError",
    "Deferred",
    "Entry",
    "Evaluation",
    "Failure",
    "Firing",
    "Partial",
    "PatternChange",
    "PatternMap",
    "PatternOutcome",
    "RenderedAction",
    "Routed",
    "RuleCounters",
    "RuleEngine",
    "RuleIndex",
    "RuleStats",
    "Skip",
    "Timer",
    "compile_actions",
    "compile_condition",
    "compile_rule",
    "equality_key",
    "field_getter",
    "fold",
    "fold_all",
    "gate_key",
    "gated",
    "json_equal",
    "merge",
    "to_outcomes",
]
