"""Builders of event histories for the projection tests (no engine involved)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from schemas.commands import ErrorInfo
from schemas.definition_events import DefinitionPublished, DefinitionStatusChanged
from schemas.executions import (
    ExecutionCancelled,
    ExecutionCompleted,
    ExecutionEventBase,
    ExecutionFailed,
    ExecutionResumed,
    ExecutionStarted,
    RetryScheduled,
    StepCompleted,
    StepFailed,
    StepScheduled,
    StepStarted,
    VariablesUpdated,
)
from schemas.outcomes import ActionResult, RuleFailed, RuleMatched, RuleSkipped

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class Execution:
    """One execution's history, built event by event with a gap-free ``seq``."""

    execution_id: str
    workflow_id: str = "wf"
    version: str = "1.0.0"
    trigger_type: str = "manual"
    start: datetime = T0
    events: list[ExecutionEventBase] = field(default_factory=list)

    def add(self, cls: type[ExecutionEventBase], after_s: float = 1.0, **fields: Any) -> Execution:
        """Append an event ``after_s`` seconds after the previous one."""
        last = self.events[-1].time if self.events else self.start - timedelta(seconds=after_s)
        self.events.append(cls(execution_id=self.execution_id, seq=len(self.events) + 1,
                               time=last + timedelta(seconds=after_s),
                               command_id=f"c{len(self.events)}", **fields))
        return self

    def started(self, **variables: Any) -> Execution:
        return self.add(ExecutionStarted, workflow_id=self.workflow_id,
                        workflow_version=self.version, trigger_type=self.trigger_type,
                        input={"n": 1}, variables=variables)

    def step_ok(self, step: str, output: Any = None, *, scope: str = "") -> Execution:
        self.add(StepScheduled, step_id=step, scope=scope, step_type="action")
        self.add(StepStarted, step_id=step, scope=scope, attempt=1)
        return self.add(StepCompleted, step_id=step, scope=scope, output=output)

    def step_retried(self, step: str, code: str = "flaky") -> Execution:
        self.add(StepScheduled, step_id=step, step_type="action")
        self.add(StepStarted, step_id=step, attempt=1)
        self.add(RetryScheduled, step_id=step, attempt=1, delay=2, timer_id="t1",
                 error=ErrorInfo(code=code))
        self.add(StepStarted, step_id=step, attempt=2, after_s=2)
        return self.add(StepCompleted, step_id=step)

    def step_failed(self, step: str, code: str = "boom") -> Execution:
        self.add(StepScheduled, step_id=step, step_type="action")
        self.add(StepStarted, step_id=step, attempt=1)
        return self.add(StepFailed, step_id=step, error=ErrorInfo(code=code))

    def variables(self, **values: Any) -> Execution:
        return self.add(VariablesUpdated, values=values)

    def completed(self, after_s: float = 1.0) -> Execution:
        return self.add(ExecutionCompleted, after_s=after_s, output={"ok": True})

    def failed(self, step: str = "b", code: str = "boom") -> Execution:
        return self.add(ExecutionFailed, error=ErrorInfo(code=code), step_id=step)

    def cancelled(self) -> Execution:
        return self.add(ExecutionCancelled, reason="operator")

    def resumed(self) -> Execution:
        return self.add(ExecutionResumed, requested_by="ops")


def matched(rule: str, event_id: str, at_s: float = 0, *, us: int = 100,
            action_ok: bool = True) -> RuleMatched:
    action = ActionResult(index=0, action_type="start_workflow",
                          status="succeeded" if action_ok else "failed",
                          error=None if action_ok else "no such workflow")
    return RuleMatched(rule_id=rule, rule_version="1.0.0", event_id=event_id,
                       event_type="order.created", evaluated_at=T0 + timedelta(seconds=at_s),
                       evaluation_us=us, actions=(action,))


def skipped(rule: str, event_id: str, reason: str = "condition_false", us: int = 50) -> RuleSkipped:
    return RuleSkipped(rule_id=rule, rule_version="1.0.0", event_id=event_id, reason=reason,
                       evaluated_at=T0, evaluation_us=us)


def rule_failed(rule: str, event_id: str, code: str = "expression_error") -> RuleFailed:
    return RuleFailed(rule_id=rule, rule_version="1.0.0", event_id=event_id, stage="condition",
                      error_code=code, message="division by zero", evaluated_at=T0)


def published(kind: str, definition_id: str, version: str = "1.0.0",
              status: str = "active") -> DefinitionPublished:
    return DefinitionPublished(kind=kind, definition_id=definition_id, version=version,  # type: ignore[arg-type]
                               definition={"id": definition_id, "name": definition_id.title()},
                               status=status, published_at=T0)  # type: ignore[arg-type]


def status_changed(kind: str, definition_id: str, status: str,
                   version: str = "1.0.0") -> DefinitionStatusChanged:
    return DefinitionStatusChanged(kind=kind, definition_id=definition_id, version=version,  # type: ignore[arg-type]
                                   status=status, changed_at=T0 + timedelta(minutes=1))  # type: ignore[arg-type]


def everything(events: list[BaseModel]) -> list[BaseModel]:
    """Type helper: a list of events of any topic."""
    return events
