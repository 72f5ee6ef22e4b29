"""Turn an `Evaluation` into the rule outcome events of `hw.rule-outcomes`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from rules.engine import Evaluation
from rules.explain import ConditionNode
from schemas.outcomes import ActionResult, RuleFailed, RuleMatched, RuleOutcome, RuleSkipped


def to_outcomes(
    evaluation: Evaluation,
    event: Mapping[str, Any],
    evaluated_at: dt.datetime,
    evaluation_us: int,
    *,
    explain: Callable[..., ConditionNode | None] | None = None,
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
        explain: gives a fired rule's condition tree for an event (`RuleEngine.explain`,
            called with `matched=True`);
            it is stored as `condition_result`, the tree `POST /rules/test` shows. For a
            batch or a pattern, the tree is of the event that completed it.
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
        tree = None
        if explain is not None:
            # Every event a firing carries passed the rule's conditions.
            node = explain(firing.rule_id, firing.events[-1] if firing.events else event,
                           matched=True)
            tree = None if node is None else node.as_json()
        out.append(
            RuleMatched(
                rule_id=firing.rule_id,
                rule_version=firing.rule_version,
                condition_result=tree,
                actions=actions,
                **common,
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
