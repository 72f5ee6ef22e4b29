"""Turn an `Evaluation` into the rule outcome events of `hw.rule-outcomes`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from rules.engine import Evaluation
from schemas.outcomes import ActionResult, RuleFailed, RuleMatched, RuleOutcome, RuleSkipped


def to_outcomes(
    evaluation: Evaluation,
    event: Mapping[str, Any],
    evaluated_at: dt.datetime,
    evaluation_us: int,
) -> list[RuleOutcome]:
    """One outcome per rule the evaluation touched: matched, skipped or failed.

    Fired actions are reported `queued`: the engine renders them, the worker runs them and
    reports their results. Rules queued for a concurrency slot or gathered into a batch are
    `rule_matched` with every action `queued`.

    Args:
        evaluation: what the engine decided.
        event: the trigger event as JSON (for its id, source and type).
        evaluated_at: when (the caller's clock).
        evaluation_us: how long `decide` took, measured by the caller.
    """
    common: dict[str, Any] = {
        "event_id": str(event.get("id", "")),
        "event_source": str(event.get("source", "")),
        "event_type": str(event.get("type", "")),
        "evaluated_at": evaluated_at,
        "evaluation_us": max(0, evaluation_us),
    }
    out: list[RuleOutcome] = []
    for firing in evaluation.fired:
        actions = tuple(
            ActionResult(
                index=a.position, action_type=a.type, status="queued", result=dict(a.params)
            )
            for a in firing.actions
        )
        out.append(
            RuleMatched(
                rule_id=firing.rule_id, rule_version=firing.rule_version, actions=actions, **common
            )
        )
    for deferred in evaluation.deferred:
        out.append(
            RuleMatched(rule_id=deferred.rule_id, rule_version=deferred.rule_version, **common)
        )
    for skip in evaluation.skipped:
        out.append(
            RuleSkipped(
                rule_id=skip.rule_id,
                rule_version=skip.rule_version,
                reason=skip.reason,
                detail=skip.detail,
                **common,
            )
        )
    for failure in evaluation.failed:
        out.append(
            RuleFailed(
                rule_id=failure.rule_id,
                rule_version=failure.rule_version,
                stage="action",
                error_code=failure.error_code,
                message=failure.message,
                **common,
            )
        )
    return out
