"""Schedules without a broker: fire times in time zones across DST, interval alignment, the
misfire policy, and ids that make a fire time start at most one execution."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.commands import StartExecution
from schemas.definitions import WorkflowDefinition
from schemas.definitions.triggers import ScheduleTrigger
from streams.triggers.rulebook import Rulebook, Schedule
from streams.triggers.schedules import MAX_CATCH_UP, fire_times, schedule_records, to_fire

GRACE = timedelta(seconds=5)


def cron(expr: str, zone: str = "UTC", catch_up: bool = False) -> ScheduleTrigger:
    return ScheduleTrigger(type="schedule", cron=expr, timezone=zone, catch_up=catch_up)


def every(seconds: float, catch_up: bool = False) -> ScheduleTrigger:
    return ScheduleTrigger(type="schedule", interval=seconds, catch_up=catch_up)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_a_daily_cron_fires_at_local_time_and_once_on_both_dst_days() -> None:
    daily = cron("30 2 * * *", "Europe/Paris")
    spring = fire_times(daily, utc(2026, 3, 27, 12), utc(2026, 3, 31, 12))
    # 02:30 does not exist on 29 March in Paris: it fires once, an hour of offset later.
    assert spring == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 30),
                      utc(2026, 3, 30, 0, 30), utc(2026, 3, 31, 0, 30)]
    # 02:30 happens twice on 25 October: it fires once, the first time; the next day is CET.
    autumn = fire_times(daily, utc(2026, 10, 24, 12), utc(2026, 10, 27, 12))
    assert autumn == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30), utc(2026, 10, 27, 1, 30)]
    half_hourly = fire_times(cron("*/30 * * * *", "Europe/Paris"), utc(2026, 10, 24, 23, 50),
                             utc(2026, 10, 25, 2, 10))
    assert half_hourly == sorted(set(half_hourly))


def test_interval_fire_times_are_aligned_to_the_epoch_so_every_worker_computes_the_same() -> None:
    times = fire_times(every(15), utc(2026, 1, 1, 0, 0, 7), utc(2026, 1, 1, 0, 1, 0))
    assert times == [utc(2026, 1, 1, 0, 0, 15), utc(2026, 1, 1, 0, 0, 30),
                     utc(2026, 1, 1, 0, 0, 45), utc(2026, 1, 1, 0, 1, 0)]


@settings(max_examples=60, deadline=None)
@given(start=st.integers(0, 10**6), cuts=st.lists(st.integers(1, 400), min_size=1, max_size=8),
       seconds=st.sampled_from([1, 7, 60]))
def test_handling_a_span_in_pieces_fires_the_same_times_as_in_one_go(
    start: int, cuts: list[int], seconds: int,
) -> None:
    # Whatever the tick rhythm, each fire time comes up exactly once.
    spec = every(seconds)
    origin = utc(2026, 1, 1) + timedelta(seconds=start)
    bounds = [origin]
    for cut in cuts:
        bounds.append(bounds[-1] + timedelta(seconds=cut))
    pieces = [t for a, b in pairwise(bounds) for t in fire_times(spec, a, b)]
    assert pieces == fire_times(spec, bounds[0], bounds[-1])


def test_without_catch_up_missed_runs_are_skipped_and_a_recent_one_fires() -> None:
    hourly = cron("0 * * * *")
    now = utc(2026, 1, 1, 12, 0, 2)
    assert to_fire(hourly, utc(2026, 1, 1, 6), now, GRACE) == [utc(2026, 1, 1, 12)]
    assert to_fire(hourly, utc(2026, 1, 1, 6), now + timedelta(minutes=1), GRACE) == []


def test_with_catch_up_each_missed_run_fires_once_up_to_a_bound() -> None:
    hourly = cron("0 * * * *", catch_up=True)
    assert len(to_fire(hourly, utc(2026, 1, 1, 6, 30), utc(2026, 1, 1, 12, 30), GRACE)) == 6
    many = to_fire(every(1, catch_up=True), utc(2026, 1, 1), utc(2026, 1, 2), GRACE)
    assert len(many) == MAX_CATCH_UP and many[-1] == utc(2026, 1, 2)


def test_a_fire_time_always_gives_the_same_start_and_different_times_differ() -> None:
    workflow = WorkflowDefinition.model_validate({
        "id": "nightly", "name": "Nightly",
        "triggers": [{"type": "schedule", "cron": "0 3 * * *", "input": {"at": "${ now }"}}],
        "steps": [{"id": "n", "action": "log", "with": {"message": "x"}}],
    })
    schedule = Schedule("workflow:nightly:0", "nightly", workflow.triggers[0],  # type: ignore[arg-type]
                        workflow=workflow)
    at = utc(2026, 5, 1, 3)
    first = schedule_records(schedule, at, None, utc(2026, 5, 1, 3, 0, 1))
    again = schedule_records(schedule, at, None, utc(2026, 5, 1, 3, 0, 9))
    other = schedule_records(schedule, at + timedelta(days=1), None, at)
    assert first == again
    start = first[0].value
    assert isinstance(start, StartExecution)
    assert start.trigger_type == "schedule" and start.input == {"at": "2026-05-01T03:00:00Z"}
    assert first[0].key != other[0].key


def test_the_rulebook_lists_workflow_schedules_and_scheduled_rules() -> None:
    from schemas.definition_events import DefinitionPublished
    from schemas.definitions import RuleDefinition
    from streams.runtime.registry import DefinitionRegistry

    registry = DefinitionRegistry()
    rule = RuleDefinition.model_validate({
        "id": "report", "name": "Report", "type": "scheduled",
        "schedule": {"cron": "0 8 * * 1", "timezone": "Asia/Tokyo"},
        "actions": [{"type": "publish_event", "event_type": "report.due"}]})
    registry.apply(DefinitionPublished(kind="rule", definition_id="report", version="1.0.0",
                                       definition=rule.model_dump(mode="json"),
                                       published_at=utc(2026, 1, 1)))
    book = Rulebook()
    assert book.sync(registry)
    assert list(book.schedules) == ["rule:report"]
    assert book.schedules["rule:report"].spec.timezone == "Asia/Tokyo"
    assert not book.sync(registry)  # nothing moved, nothing redone
    compiled = book.rules.rule("report")
    records = schedule_records(book.schedules["rule:report"], utc(2026, 1, 5), compiled,
                               utc(2026, 1, 5))
    assert [r.role for r in records] == ["rule-outcomes", "triggers"]
