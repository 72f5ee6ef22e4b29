"""Workflow statistics, rule statistics and the dashboard."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import BaseModel

from projections.store import ViewStore
from projections.views import read_dashboard, read_rule_stats, read_workflow_stats, success_rate
from tests.projections.histories import (
    T0,
    Execution,
    matched,
    published,
    rule_failed,
    skipped,
    status_changed,
)

Folded = Callable[[Iterable[BaseModel]], ViewStore]


def _runs() -> list[BaseModel]:
    events: list[BaseModel] = []
    for i in range(10):
        run = Execution(f"e{i}", start=T0 + timedelta(minutes=i)).started().step_ok("a")
        if i < 7:
            run.completed(after_s=10 * (i + 1))  # durations 13 s, 23 s, .. 73 s
        elif i < 9:
            run.step_failed("b").failed("b")  # 7 s
        events += run.events  # e9 still running
    return events


def test_workflow_stats_count_statuses_rate_and_percentiles(folded: Folded) -> None:
    stats = read_workflow_stats(folded(_runs()), "wf")
    assert stats is not None
    assert stats.by_status == {"completed": 7, "failed": 2, "running": 1}
    assert success_rate(stats.by_status) == 7 / 9
    assert stats.step_failures == {"b": 2}
    p50 = stats.durations_ms.quantile(0.5)
    # finished: 7, 7, 13, 23, 33, 43, 53, 63, 73 s
    assert p50 is not None and abs(p50 - 33_000) <= 330
    p99 = stats.durations_ms.quantile(0.99)
    assert p99 is not None and abs(p99 - 63_000) <= 630  # floor(0.99 * 8) = rank 7
    assert stats.durations_ms.count == 9


def test_a_retried_execution_moves_from_failed_to_completed(folded: Folded) -> None:
    run = Execution("e1").started().step_failed("a").failed("a").resumed().step_ok("a").completed()
    stats = read_workflow_stats(folded(run.events), "wf")
    assert stats is not None
    assert stats.by_status == {"completed": 1}
    assert stats.durations_ms.count == 1
    assert stats.step_failures == {"a": 1}


def test_no_stats_for_a_workflow_that_never_ran(folded: Folded) -> None:
    assert read_workflow_stats(folded(_runs()), "other") is None


def test_rule_stats_count_outcomes_errors_and_last_match(folded: Folded) -> None:
    outcomes = [matched("r1", "ev1", at_s=5, us=100), matched("r1", "ev2", at_s=1, us=300),
                matched("r1", "ev3", at_s=2, action_ok=False), skipped("r1", "ev4"),
                skipped("r1", "ev5", reason="disabled"), rule_failed("r1", "ev6"),
                matched("r2", "ev1")]
    stats = read_rule_stats(folded([*outcomes, outcomes[0], outcomes[5]]), "r1")
    assert stats is not None
    assert (stats.evaluations, stats.matched, stats.skipped, stats.failed) == (6, 3, 2, 2)
    assert stats.success_rate == pytest.approx(4 / 6)
    assert stats.skip_reasons == {"condition_false": 1, "disabled": 1}
    assert stats.errors == {"action_failed:start_workflow": 1, "expression_error": 1}
    assert stats.last_match is not None and stats.last_match.event_id == "ev1"  # latest time wins
    assert stats.last_error is not None and stats.last_error.code in stats.errors
    assert stats.evaluation_us_total == 100 + 300 + 100 + 50 + 50 + 0


def test_dashboard_counts_today_from_the_readers_clock(folded: Folded) -> None:
    defs = [published("workflow", "wf"), published("workflow", "old"),
            status_changed("workflow", "old", "deprecated"), published("rule", "r1"),
            published("rule", "r2", status="paused")]
    yesterday = Execution("y", start=T0 - timedelta(days=1)).started().completed()
    store = folded([*defs, *yesterday.events, *_runs()])
    now = T0 + timedelta(hours=2, minutes=30)
    board = read_dashboard(store, now, hours=4)
    assert (board.active_workflows, board.active_rules) == (1, 1)
    assert board.executions_today == 10
    assert board.running == 1
    assert board.success_rate == 8 / 10
    assert [b.hour for b in board.trend] == [T0 - timedelta(hours=1) + timedelta(hours=h)
                                             for h in range(4)]
    assert [b.started for b in board.trend] == [0, 10, 0, 0]
    assert board.trend[1].ended == {"completed": 7, "failed": 2}
    # the same log, read a day later, has nothing "today"
    assert read_dashboard(store, now + timedelta(days=1)).executions_today == 0


def test_today_starts_at_midnight_in_the_given_zone(folded: Folded) -> None:
    # 09:00 UTC on 2 March is 20:00 in Sydney; the runs of the previous UTC day at 14:00 UTC
    # are already "today" there (01:00 local).
    early = Execution("early", start=T0 - timedelta(hours=19)).started()
    store = folded([*early.events, *_runs()])
    now = T0 + timedelta(hours=1)
    assert read_dashboard(store, now).executions_today == 10
    assert read_dashboard(store, now, tz=ZoneInfo("Australia/Sydney")).executions_today == 11
