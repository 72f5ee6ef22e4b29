"""Rule outcomes on ``hw.rule-outcomes``: what happened when an event met a rule.

Keyed by rule id. One outcome per (rule, event) pair that the rule index let through: the
rule matched and ran its actions, was skipped (and why), or failed. This is what analytics
consumers and the per-rule statistics read.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.avro import UtcDatetime

__all__ = [
    "RULE_OUTCOME_TYPES",
    "ActionResult",
    "RuleFailed",
    "RuleMatched",
    "RuleOutcome",
    "RuleSkipped",
]

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class ActionResult(BaseModel):
    """The result of one action of a matched rule.

    Attributes:
        index: The action's position in the rule's ``actions``.
        action_type: ``start_workflow``, ``publish_event``, ``call_webhook`` or
            ``signal_execution``.
        status: ``succeeded``, ``failed``, or ``queued`` (queued and batch execution modes).
        result: What the action produced, as JSON (e.g. the started execution id).
        error: Why it failed, if it did.
        duration_us: How long it took, in microseconds.
        ref: The id of what the action produced, to join its end to it: the execution id
            (``start_workflow``, ``call_webhook``), the signal's command id, or the published
            event's id. None for outcomes written before refs existed.
    """

    model_config = _FROZEN

    index: int = Field(ge=0)
    action_type: str
    status: Literal["succeeded", "failed", "queued"]
    result: Any = None
    error: str | None = None
    duration_us: int = Field(default=0, ge=0)
    ref: str | None = None


class _OutcomeBase(BaseModel):
    """Fields every rule outcome carries.

    Attributes:
        rule_id: The rule (the Kafka key).
        rule_version: The rule's version.
        event_id: The trigger event's CloudEvents ``id``.
        event_source: The trigger event's ``source``.
        event_type: The trigger event's ``type``.
        evaluated_at: When the rule was evaluated.
        evaluation_us: Condition evaluation time, in microseconds.
    """

    model_config = _FROZEN

    rule_id: str = Field(min_length=1)
    rule_version: str
    event_id: str
    event_source: str = ""
    event_type: str = ""
    evaluated_at: UtcDatetime
    evaluation_us: int = Field(default=0, ge=0)


class RuleMatched(_OutcomeBase):
    """The rule's conditions held and its actions ran (or were queued).

    Attributes:
        condition_result: What the condition matched on, as JSON (e.g. the matched fields
            or the events of a sequence pattern).
        actions: One result per action, in order.
    """

    type: Literal["rule_matched"] = "rule_matched"
    condition_result: Any = None
    actions: tuple[ActionResult, ...] = ()


class RuleSkipped(_OutcomeBase):
    """The rule did not act on the event.

    Attributes:
        reason: ``condition_false``, ``disabled``, ``not_active``, ``max_executions``,
            ``concurrency_limit``, ``exclusive_group`` (a higher-priority rule of the group
            fired) or ``pattern_pending`` (a stateful pattern is waiting for more events).
        detail: Free-text explanation.
    """

    type: Literal["rule_skipped"] = "rule_skipped"
    reason: str = Field(min_length=1)
    detail: str = ""


class RuleFailed(_OutcomeBase):
    """Evaluating the rule or running its actions raised an error.

    Attributes:
        stage: ``condition`` or ``action``.
        error_code: A machine-readable code, e.g. ``"expression_error"``.
        message: A human-readable explanation.
        actions: Results of the actions that ran before the failure.
    """

    type: Literal["rule_failed"] = "rule_failed"
    stage: Literal["condition", "action"]
    error_code: str
    message: str = ""
    actions: tuple[ActionResult, ...] = ()


RuleOutcome = RuleMatched | RuleSkipped | RuleFailed
RULE_OUTCOME_TYPES: tuple[type[BaseModel], ...] = (RuleMatched, RuleSkipped, RuleFailed)
