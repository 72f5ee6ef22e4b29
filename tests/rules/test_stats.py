"""Rule statistics: a fold over outcomes, mergeable, with p95 to within a bucket."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.stats import RuleStats, fold, fold_all, merge
from schemas.outcomes import ActionResult, RuleFailed, RuleMatched, RuleOutcome, RuleSkipped
from tests.rules.conftest import at


def outcome(kind: str, us: int, when: dt.datetime, rule: str = "r") -> RuleOutcome:
    common = {
        "rule_id": rule,
        "rule_version": "1.0.0",
        "event_id": "e",
        "evaluated_at": when,
        "evaluation_us": us,
    }
    if kind == "matched":
        return RuleMatched(
            **common, actions=(ActionResult(index=0, action_type="x", status="succeeded"),)
        )
    if kind == "action_failed":
        return RuleMatched(
            **common, actions=(ActionResult(index=0, action_type="x", status="failed"),)
        )
    if kind == "failed":
        return RuleFailed(**common, stage="action", error_code="expression_error")
    return RuleSkipped(**common, reason="condition_false")


def test_counts_rates_and_last_match() -> None:
    log = [
        outcome("matched", 10, at(1)),
        outcome("matched", 20, at(3)),
        outcome("action_failed", 30, at(2)),
        outcome("failed", 40, at(4)),
        outcome("skipped", 50, at(5)),
    ]
    stats = fold_all(log)["r"]
    assert (stats.evaluations, stats.matches, stats.skipped, stats.errors) == (5, 3, 1, 2)
    assert stats.success_rate == 2 / 4
    assert stats.avg_evaluation_us == 30
    assert stats.last_match == at(3)


def test_p95_is_within_ten_percent() -> None:
    stats = fold_all(outcome("skipped", us, at(0)) for us in range(1, 1001))["r"]
    p95 = stats.p95_evaluation_us
    assert p95 is not None and 950 <= p95 <= 950 * 1.1


def test_empty_stats_have_no_rates() -> None:
    assert RuleStats().success_rate is None and RuleStats().p95_evaluation_us is None


kinds = st.sampled_from(["matched", "action_failed", "failed", "skipped"])
logs = st.lists(st.tuples(kinds, st.integers(0, 10**6), st.integers(0, 100)), max_size=40)


@settings(max_examples=100, deadline=None)
@given(left=logs, right=logs)
def test_merging_two_folds_equals_folding_everything(left: list, right: list) -> None:
    def run(items: list) -> RuleStats:
        stats = RuleStats()
        for kind, us, t in items:
            stats = fold(stats, outcome(kind, us, at(t)))
        return stats

    assert merge(run(left), run(right)) == run(left + right)
