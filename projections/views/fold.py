"""One entry point for the folds: any event of the source topics, into every view it feeds."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel

from projections.views._tx import Reader, Tx
from projections.views.action_types import apply_action_types
from projections.views.bodies import apply_body_event
from projections.views.dashboard import apply_dashboard
from projections.views.dead_letters import apply_dead_letter_event
from projections.views.definitions import apply_definition_event
from projections.views.executions import apply_execution_event
from projections.views.firings import apply_action_end, apply_firing, end_of
from projections.views.history import apply_history_event
from projections.views.indexes import update_indexes
from projections.views.pinned_mocks import apply_mocks_event
from projections.views.rule_stats import apply_rule_outcome
from projections.views.templates import apply_template_event
from projections.views.workflow_stats import apply_workflow_stats
from schemas.commands import GATE_PREFIX
from schemas.dead_letters import DeadLetter, DeadLetterRedriven
from schemas.definition_events import (
    DefinitionCommented,
    DefinitionPublished,
    DefinitionStatusChanged,
)
from schemas.executions import ExecutionEventBase, TaskRequested
from schemas.outcomes import RuleFailed, RuleMatched, RuleSkipped
from schemas.pinned_mocks import MocksPinned
from schemas.template_events import TemplateDeleted, TemplateSaved

__all__ = ["apply_event", "fold"]


def apply_event(tx: Tx, event: BaseModel) -> bool:
    """Fold one event into the views; False when it was a duplicate or not a view's concern."""
    if isinstance(event, ExecutionEventBase):
        if event.execution_id.startswith(GATE_PREFIX):
            return False  # a workflow's concurrency gate: its own aggregate, not an execution
        signal = end_of(event) if event.command_id.endswith(":signal") else None
        if signal is not None:
            apply_action_end(tx, *signal)  # a rule's signal was accepted or rejected
        changed = apply_execution_event(tx, event)  # type: ignore[arg-type]
        if changed is None:
            return False
        before, after = changed
        if isinstance(event, TaskRequested):
            apply_action_types(tx, event)
        if after.trigger_type == "rule" and signal is None:
            ended = end_of(event)
            if ended is not None:
                apply_action_end(tx, *ended)  # an execution a rule started ended
        update_indexes(tx, before, after)
        apply_workflow_stats(tx, before, after, event)
        apply_dashboard(tx, before, after, event)
        return True
    if isinstance(event, RuleMatched | RuleSkipped | RuleFailed):
        if not apply_rule_outcome(tx, event):
            return False  # a redelivery
        if isinstance(event, RuleMatched):
            apply_firing(tx, event)
        return True
    if isinstance(event, TemplateSaved | TemplateDeleted):
        return apply_template_event(tx, event)
    if isinstance(event, MocksPinned):
        return apply_mocks_event(tx, event)
    if isinstance(event, DefinitionCommented):
        apply_history_event(tx, event)
        return True
    if isinstance(event, DefinitionPublished | DefinitionStatusChanged):
        apply_history_event(tx, event)
        record = apply_definition_event(tx, event)
        if record is not None:
            apply_body_event(tx, event, record)
            apply_action_types(tx, event)
        return True
    if isinstance(event, DeadLetter | DeadLetterRedriven):
        return apply_dead_letter_event(tx, event)
    return False


def fold(reader: Reader, events: Iterable[BaseModel]) -> dict[str, bytes | None]:
    """The writes that fold ``events`` (in order) into the views held by ``reader``."""
    tx = Tx(reader)
    for event in events:
        apply_event(tx, event)
    return tx.changes()
