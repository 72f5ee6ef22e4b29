"""Ownership where the engine acts on behalf of a definition (see
``schemas.definitions.reach``): a rule's start or signal, and a subprocess step's child.

A refused rule start (or signal: nothing applies to the execution) becomes a ``RuleFailed`` outcome (stage ``action``, code
``not_permitted``) on ``hw.rule-outcomes`` and starts nothing; a refused child becomes a
``ChildFailed`` command to the parent (code ``not_permitted``, not retryable), so the step fails
with the reason as a failed child would.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from schemas.commands import ChildFailed, ErrorInfo, SignalReceived, StartExecution
from schemas.definitions import WorkflowDefinition
from schemas.definitions.reach import reach_refusal
from schemas.outcomes import RuleFailed
from streams.runtime.registry import DefinitionRegistry

__all__ = ["NOT_PERMITTED", "child_refusal", "rule_signal_refusal", "rule_start_refusal"]

NOT_PERMITTED = "not_permitted"


def rule_start_refusal(registry: DefinitionRegistry, start: StartExecution,
                       target: WorkflowDefinition) -> RuleFailed | None:
    """The outcome refusing a rule's start of ``target``; None if the rule's owner may."""
    if start.trigger_type != "rule" or not start.triggered_by:
        return None
    return _rule_refusal(registry, start.triggered_by, target, start.trigger_event or {},
                         start.time, "start")


def rule_signal_refusal(registry: DefinitionRegistry, signal: SignalReceived,
                        target: WorkflowDefinition) -> RuleFailed | None:
    """The outcome refusing a rule's signal to an execution of ``target``; None if it may."""
    if not signal.sent_by_rule:
        return None
    return _rule_refusal(registry, signal.sent_by_rule, target, {}, signal.time, "signal")


def _rule_refusal(registry: DefinitionRegistry, rule_id: str, target: WorkflowDefinition,
                  event: dict[str, Any], at: datetime, verb: str) -> RuleFailed | None:
    refusal = reach_refusal(f"rule {rule_id!r}", registry.owner("rule", rule_id), target, verb)
    if refusal is None:
        return None
    versions = [r.version for r in registry.rules() if r.id == rule_id]
    return RuleFailed(rule_id=rule_id, rule_version=versions[0] if versions else "",
                      event_id=str(event.get("id", "")), event_source=str(event.get("source", "")),
                      event_type=str(event.get("type", "")), evaluated_at=at,
                      stage="action", error_code=NOT_PERMITTED, message=refusal)


def child_refusal(registry: DefinitionRegistry, parent: WorkflowDefinition,
                  start: StartExecution) -> ChildFailed | None:
    """The command failing the parent's subprocess step when ``parent``'s owner may not start
    the child's workflow; None if it may (or the workflow is unknown: the child's start then
    fails as any start of an unknown workflow)."""
    if start.trigger_type != "subprocess" or not start.triggered_by:
        return None
    target = registry.workflow(start.workflow_id, start.version)
    if target is None:
        return None
    assert isinstance(target.definition, WorkflowDefinition)
    refusal = reach_refusal(f"workflow {parent.id!r}", parent.owner, target.definition)
    if refusal is None:
        return None
    return ChildFailed(command_id=f"{start.command_id}:refused", execution_id=start.triggered_by,
                       time=start.time, child_execution_id=start.execution_id,
                       error=ErrorInfo(code=NOT_PERMITTED, message=refusal, retryable=False))
