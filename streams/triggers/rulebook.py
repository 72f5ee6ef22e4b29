"""The rules a worker evaluates, kept in step with the definitions registry.

Pure (no I/O): `Rulebook.sync` compares the registry's active rules and workflows with what it
holds and puts or removes only what changed, so a published, paused or re-published rule takes
effect on the next batch without recompiling the other rules or losing their pattern state.
A workflow's `event` triggers are rules too, in a second engine of their own: they start the
workflow and report no rule outcomes.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from rules import RuleEngine
from schemas.definitions import RuleDefinition, WorkflowDefinition
from schemas.definitions.triggers import EventTrigger, ScheduleTrigger
from streams.runtime.registry import DefinitionRegistry

__all__ = ["Rulebook", "Schedule", "trigger_rule"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Schedule:
    """One schedule to run: a workflow's `schedule` trigger or a scheduled rule.

    Attributes:
        key: Stable name, ``workflow:<id>:<index>`` or ``rule:<id>``.
        owner: The workflow or rule id.
        spec: The schedule (cron and time zone, or interval) and its misfire policy.
        workflow: The workflow to start (None for a rule).
        rule: The scheduled rule (None for a workflow).
    """

    key: str
    owner: str
    spec: ScheduleTrigger
    workflow: WorkflowDefinition | None = None
    rule: RuleDefinition | None = None


@dataclass
class Rulebook:
    """Automation rules and workflow event triggers, each in a `RuleEngine`.

    Attributes:
        rules: The active automation rules (their outcomes go to `hw.rule-outcomes`).
        triggers: One rule per workflow `event` trigger (rule id ``<workflow>.t<index>``).
        schedules: Every schedule of the active workflows and scheduled rules.
        refused: Rules (and trigger rules) that did not compile, with the reason: a record
            written to `hw.definitions` past the API's validation, or published before a
            stricter check (a regex RE2 cannot run). They are left out, never fatal: the
            agent re-reads the definitions on every start, so raising would crash it forever.
        limited: Whether any active rule has a `concurrency_limit` (only then is there a
            reason to read which executions ended).
    """

    rules: RuleEngine = field(default_factory=RuleEngine)
    triggers: RuleEngine = field(default_factory=RuleEngine)
    schedules: dict[str, Schedule] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    limited: bool = False
    _seen: int = -1
    _rule_defs: dict[str, RuleDefinition] = field(default_factory=dict)
    _trigger_defs: dict[str, RuleDefinition] = field(default_factory=dict)

    def sync(self, registry: DefinitionRegistry) -> bool:
        """Catch up with the registry; True when anything changed."""
        if registry.changes == self._seen:
            return False
        self._seen = registry.changes
        rules = {r.id: r for r in registry.rules()}
        workflows = registry.workflows()
        triggers = {r.id: r for w in workflows for r in _trigger_rules(w)}
        _update(self.rules, self._rule_defs, rules, self.refused)
        _update(self.triggers, self._trigger_defs, triggers, self.refused)
        self.schedules = _schedules(workflows, rules.values())
        self.limited = any(r.concurrency_limit is not None for r in rules.values())
        return True

    def windows(self) -> float:
        """The longest pattern window of the active rules, in seconds (0 without patterns)."""
        longest = 0.0
        for rule in self._rule_defs.values():
            pattern = rule.pattern
            if pattern is not None:
                longest = max(longest, getattr(pattern, "within", 0.0),
                              getattr(pattern, "timeout", 0.0))
        return longest


def _update(engine: RuleEngine, held: dict[str, RuleDefinition],
            wanted: dict[str, RuleDefinition], refused: dict[str, str]) -> None:
    for rule_id in [r for r in held if r not in wanted]:
        engine.remove(rule_id)
        del held[rule_id]
        refused.pop(rule_id, None)
    for rule_id, rule in wanted.items():
        if held.get(rule_id) == rule:
            continue
        held[rule_id] = rule
        try:
            engine.put(rule)
        except Exception as exc:  # a rule the compiler refuses must not stop the agent
            engine.remove(rule_id)  # an older version that compiled is no longer wanted
            refused[rule_id] = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("rule %s %s does not compile and is not applied: %s",
                        rule_id, rule.version, refused[rule_id])
        else:
            refused.pop(rule_id, None)


def trigger_rule(workflow: WorkflowDefinition, index: int, trigger: EventTrigger) -> RuleDefinition:
    """The rule that stands for a workflow's event trigger: start this workflow version."""
    return RuleDefinition.model_validate({
        "id": f"{workflow.id}.t{index}"[:128], "name": f"{workflow.name} (trigger {index})",
        "trigger": {"event_type": trigger.type_pattern, "source": trigger.source_pattern},
        "conditions": trigger.condition,
        "actions": [{"type": "start_workflow", "workflow_id": workflow.id,
                     "version": workflow.version, "input": trigger.input}],
    })


def _trigger_rules(workflow: WorkflowDefinition) -> list[RuleDefinition]:
    return [trigger_rule(workflow, i, t) for i, t in enumerate(workflow.triggers)
            if isinstance(t, EventTrigger)]


def _schedules(workflows: list[WorkflowDefinition],
               rules: Iterable[RuleDefinition]) -> dict[str, Schedule]:
    found: dict[str, Schedule] = {}
    for workflow in workflows:
        for i, trigger in enumerate(workflow.triggers):
            if isinstance(trigger, ScheduleTrigger):
                key = f"workflow:{workflow.id}:{i}"
                found[key] = Schedule(key, workflow.id, trigger, workflow=workflow)
    for rule in rules:
        if rule.type == "scheduled" and rule.enabled and rule.schedule is not None:
            spec = ScheduleTrigger.model_validate(
                {**rule.schedule.model_dump(), "type": "schedule"})
            key = f"rule:{rule.id}"
            found[key] = Schedule(key, rule.id, spec, rule=rule)
    return found
