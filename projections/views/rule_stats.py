"""Per-rule statistics from ``hw.rule-outcomes`` (key ``rs/<rule id>``).

One outcome exists per (rule, trigger event); a second record for the same pair is a
redelivery and is dropped (``rseen/<rule>/<event>`` remembers the pairs seen).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from projections.views._tx import Reader, Tx
from projections.views.sketch import Sketch
from schemas.outcomes import RuleFailed, RuleMatched, RuleOutcome, RuleSkipped

__all__ = ["LastError", "LastMatch", "RuleStats", "TypeSeen", "apply_rule_outcome",
           "count_actions", "read_rule_stats"]

MAX_TYPES = 64
"""Event types counted per rule (a rule on ``*`` must not grow without bound)."""


class TypeSeen(BaseModel):
    """Outcomes of a rule for one event type: how many, and the latest evaluation."""

    events: int = 0
    last: datetime | None = None


class LastMatch(BaseModel):
    """The latest match of a rule."""

    at: datetime
    event_id: str
    event_type: str = ""
    rule_version: str = ""


class LastError(BaseModel):
    """The latest failure of a rule (a failed evaluation or a failed action)."""

    at: datetime
    code: str
    message: str = ""
    event_id: str = ""


class RuleStats(BaseModel):
    """What happened when events met one rule.

    Attributes:
        evaluations: Outcomes of any kind.
        failed: Evaluations that raised, or matched but had an action fail.
        skip_reasons: Why skipped evaluations were skipped, with counts.
        errors: Error code -> count, over failed evaluations and failed actions.
        evaluation_us: Condition evaluation times (for p50/p95/p99).
        evaluation_us_total: Their sum, for the mean.
        deferred: Matches without actions yet (queued for a slot or gathered in a batch).
        event_types: Outcomes per event type (the insights read the traffic from them).
        fired: Firings with actions (``views.firings`` joins each action to its end).
        firings_succeeded: Firings whose every action succeeded.
        firings_failed: Firings with an action that failed.
        actions_succeeded, actions_failed, actions_pending: Actions by how they ended.
        action_ms: Time from the rule's evaluation to each action's end (p50/p95/p99).
    """

    rule_id: str
    evaluations: int = 0
    matched: int = 0
    skipped: int = 0
    failed: int = 0
    skip_reasons: dict[str, int] = {}
    errors: dict[str, int] = {}
    evaluation_us: Sketch = Sketch()
    evaluation_us_total: int = 0
    last_match: LastMatch | None = None
    last_error: LastError | None = None
    deferred: int = 0
    event_types: dict[str, TypeSeen] = {}
    fired: int = 0
    firings_succeeded: int = 0
    firings_failed: int = 0
    actions_succeeded: int = 0
    actions_failed: int = 0
    actions_pending: int = 0
    action_ms: Sketch = Sketch()

    @property
    def success_rate(self) -> float | None:
        """Evaluations that did not fail, among all; None before the first."""
        return None if self.evaluations == 0 else 1 - self.failed / self.evaluations

    @property
    def firings_pending(self) -> int:
        """Firings with an action not ended yet (and none failed)."""
        return self.fired - self.firings_succeeded - self.firings_failed

    @property
    def action_success_rate(self) -> float | None:
        """Actions that succeeded among those that ended; None before the first end."""
        ended = self.actions_succeeded + self.actions_failed
        return None if ended == 0 else self.actions_succeeded / ended


def stats_key(rule_id: str) -> str:
    """The key of a rule's statistics."""
    return f"rs/{rule_id}"


def apply_rule_outcome(tx: Tx, outcome: RuleOutcome) -> bool:
    """Fold one rule outcome into its rule's statistics.

    Returns:
        False when the outcome was a redelivery and nothing changed.
    """
    seen = f"rseen/{outcome.rule_id}/{outcome.event_id}"
    if tx.exists(seen):
        return False
    tx.put(seen, b"")
    stats = tx.load(stats_key(outcome.rule_id), RuleStats) or RuleStats(rule_id=outcome.rule_id)
    update: dict[str, object] = {
        "evaluations": stats.evaluations + 1,
        "evaluation_us": stats.evaluation_us.add(outcome.evaluation_us),
        "evaluation_us_total": stats.evaluation_us_total + outcome.evaluation_us,
    }
    errors = dict(stats.errors)
    failure: LastError | None = None
    update["event_types"] = _seen(stats.event_types, outcome)
    if isinstance(outcome, RuleMatched):
        update["matched"] = stats.matched + 1
        update["deferred"] = stats.deferred + (not outcome.actions)
        update["last_match"] = _later_match(stats.last_match, outcome)
        for action in outcome.actions:
            if action.status == "failed":
                code = f"action_failed:{action.action_type}"
                errors[code] = errors.get(code, 0) + 1
                failure = LastError(at=outcome.evaluated_at, code=code,
                                    message=action.error or "", event_id=outcome.event_id)
    elif isinstance(outcome, RuleSkipped):
        update["skipped"] = stats.skipped + 1
        update["skip_reasons"] = stats.skip_reasons | {
            outcome.reason: stats.skip_reasons.get(outcome.reason, 0) + 1}
    elif isinstance(outcome, RuleFailed):
        errors[outcome.error_code] = errors.get(outcome.error_code, 0) + 1
        failure = LastError(at=outcome.evaluated_at, code=outcome.error_code,
                            message=outcome.message, event_id=outcome.event_id)
    if failure is not None:
        update["failed"] = stats.failed + 1
        update["last_error"] = _later(stats.last_error, failure)
    update["errors"] = errors
    tx.save(stats_key(outcome.rule_id), stats.model_copy(update=update))
    return True


def count_actions(tx: Tx, rule_id: str, *, fired: int = 0, pending: int = 0,
                  succeeded: bool = False, failed: bool = False,
                  duration_ms: float | None = None, firing_result: str | None = None,
                  error: tuple[str, Any, str] | None = None, counted: bool = False) -> None:
    """Count a firing or an action's end (`views.firings` calls it; it only adds).

    `counted`: the failure was reported in the outcome itself, and `apply_rule_outcome`
    counted it in `failed` and `errors` already."""
    stats = tx.load(stats_key(rule_id), RuleStats) or RuleStats(rule_id=rule_id)
    update: dict[str, object] = {
        "fired": stats.fired + fired,
        "actions_pending": stats.actions_pending + pending,
        "actions_succeeded": stats.actions_succeeded + succeeded,
        "actions_failed": stats.actions_failed + failed,
        "firings_succeeded": stats.firings_succeeded + (firing_result == "succeeded"),
        "firings_failed": stats.firings_failed + (firing_result == "failed"),
    }
    if duration_ms is not None:
        update["action_ms"] = stats.action_ms.add(duration_ms)
    if firing_result == "failed" and not counted:
        update["failed"] = stats.failed + 1  # a match whose action failed is a failure
    if error is not None and not counted:
        action_type, end, event_id = error
        code = f"action_failed:{action_type}"
        update["errors"] = stats.errors | {code: stats.errors.get(code, 0) + 1}
        update["last_error"] = _later(stats.last_error, LastError(
            at=end.at, code=code, message=f"{end.code}: {end.message}" if end.code else "",
            event_id=event_id))
    tx.save(stats_key(rule_id), stats.model_copy(update=update))


def _seen(types: dict[str, TypeSeen], outcome: RuleOutcome) -> dict[str, TypeSeen]:
    current = types.get(outcome.event_type)
    if current is None and len(types) >= MAX_TYPES:
        return types
    current = current or TypeSeen()
    last = current.last if current.last and current.last >= outcome.evaluated_at \
        else outcome.evaluated_at
    return types | {outcome.event_type: TypeSeen(events=current.events + 1, last=last)}


def _later_match(current: LastMatch | None, outcome: RuleMatched) -> LastMatch:
    candidate = LastMatch(at=outcome.evaluated_at, event_id=outcome.event_id,
                          event_type=outcome.event_type, rule_version=outcome.rule_version)
    # Outcomes of one rule can come from several workers; the latest evaluation wins, not
    # the last record read, so a rebuild agrees with the live view.
    if current is None or (candidate.at, candidate.event_id) >= (current.at, current.event_id):
        return candidate
    return current


def _later(current: LastError | None, candidate: LastError) -> LastError:
    if current is None or (candidate.at, candidate.event_id) >= (current.at, current.event_id):
        return candidate
    return current


def read_rule_stats(reader: Reader, rule_id: str) -> RuleStats | None:
    """The statistics of one rule, or None if no outcome of it was seen."""
    data = reader.get(stats_key(rule_id))
    return None if data is None else RuleStats.model_validate_json(data)
