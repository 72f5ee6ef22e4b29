"""Cron and interval schedules: workflow `schedule` triggers and scheduled rules.

`fire_times` and `to_fire` are pure (time comes in). The `Scheduler` runs on the worker that
owns partition 0 of `hw.triggers` (the trigger agent calls it in each `tick`), so one worker
fires at a time and a rebalance hands the duty over with the partition. Each fire's ids derive
from the schedule and the fire time: when two workers overlap during a handover, or a restart
fires a time again, the execution processor starts it once.

Interval schedules are aligned to the Unix epoch (every 60 s fires at :00 of each minute), so
every worker computes the same fire times without shared state. Cron schedules are read in
their IANA time zone: a time that a DST change skips fires at the same offset an hour later,
a time that repeats fires once (its first occurrence).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from croniter import croniter

from rules import Evaluation, Failure, Firing, RenderedAction, to_outcomes
from schemas.definitions.triggers import ScheduleTrigger
from schemas.expressions import ExpressionError, compile_mapping
from streams.runtime.outgoing import Outgoing
from streams.triggers.effects import Occasion, action_records, occasion_of
from streams.triggers.rule_state import RuleStateStore
from streams.triggers.rulebook import Rulebook, Schedule

__all__ = ["MAX_CATCH_UP", "Scheduler", "fire_times", "schedule_records", "to_fire"]

log = logging.getLogger(__name__)

MAX_CATCH_UP = 100
"""At most this many missed runs are fired on catch-up (the latest ones)."""


def fire_times(spec: ScheduleTrigger, after: datetime, until: datetime,
               limit: int = 10_000) -> list[datetime]:
    """The fire times `t` with `after < t <= until`, in UTC, oldest first (at most `limit`)."""
    if spec.interval is not None:
        step = max(1, round(spec.interval * 1000))
        first = int(after.timestamp() * 1000) // step + 1
        last = int(until.timestamp() * 1000) // step
        first = max(first, last - limit + 1)
        return [datetime.fromtimestamp(k * step / 1000, UTC) for k in range(first, last + 1)]
    assert spec.cron is not None
    zone = ZoneInfo(spec.timezone)
    # Walk local wall-clock time without a zone (croniter's own zone arithmetic drifts by an
    # hour after a DST change), then place each time in the zone: fold=0 puts a skipped time
    # at the offset before the change and takes the first of a repeated one.
    times = croniter(spec.cron, after.astimezone(zone).replace(tzinfo=None))
    found: list[datetime] = []
    while True:
        at = times.get_next(datetime).replace(tzinfo=zone).astimezone(UTC)
        if at > until:
            return found[-limit:]
        if at > after and (not found or at > found[-1]):
            found.append(at)


def to_fire(spec: ScheduleTrigger, cursor: datetime, now: datetime,
            grace: timedelta) -> list[datetime]:
    """What to fire now, given that the schedule was handled up to `cursor`.

    The misfire policy: with `catch_up`, every run missed since `cursor` fires once (the
    latest `MAX_CATCH_UP`); without it, only a run at most `grace` old fires, the rest are
    skipped.
    """
    times = fire_times(spec, cursor, now, limit=MAX_CATCH_UP)
    if spec.catch_up:
        return times
    return [t for t in times[-1:] if now - t <= grace]


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%S") + f".{at.microsecond // 1000:03d}Z"


def schedule_records(schedule: Schedule, at: datetime, book_rule: Any,
                     evaluated_at: datetime) -> list[Outgoing]:
    """The records one fire of a schedule produces (a start, or a rule's outcome and actions).

    Args:
        schedule: The schedule.
        at: The fire time (the commands' clock and part of every id).
        book_rule: The compiled rule (`RuleEngine.rule`) for a scheduled rule, else None.
        evaluated_at: The wall clock, for the rule outcome.
    """
    iso = at.isoformat().replace("+00:00", "Z")
    if schedule.workflow is not None:
        index = schedule.key.rsplit(":", 1)[-1]
        try:
            data = compile_mapping(schedule.spec.input).render({"now": iso})
        except ExpressionError as exc:
            log.error("schedule %s: input does not render: %s", schedule.key, exc)
            data = {}
        occasion = Occasion(schedule.owner, f"s{index}-{_stamp(at)}", at,
                            trigger_type="schedule")
        start = RenderedAction(0, "start_workflow", {"workflow_id": schedule.owner,
                                                     "version": None, "input": data})
        return action_records(occasion, [start])
    event = {"specversion": "1.0", "id": f"{schedule.key}@{iso}", "source": "headwater/schedules",
             "type": "headwater.schedule.fired", "time": iso, "data": {"scheduled_for": iso}}
    rule = book_rule.definition
    try:
        actions = tuple(a.render({"event": event, "events": (event,), "now": at})
                        for a in book_rule.actions)
    except ExpressionError as exc:
        failed = Evaluation(failed=(Failure(rule.id, rule.version, exc.code, exc.message),))
        return [Outgoing("rule-outcomes", rule.id, o)
                for o in to_outcomes(failed, event, evaluated_at, 0)]
    fired = Evaluation(fired=(Firing(rule.id, rule.version, actions, (event,)),))
    out = [Outgoing("rule-outcomes", rule.id, o) for o in to_outcomes(fired, event, evaluated_at, 0)]
    return out + action_records(occasion_of(rule.id, event, at, "schedule"), actions)


class Scheduler:
    """Fires the schedules of a rulebook while its agent owns partition 0.

    The agent calls `tick` in its own `tick` (the records go through its outbox) and `save`
    once they are acknowledged, so a cursor never moves past a fire the broker does not have.

    Args:
        book: The rules and schedules.
        store: Where the cursors are kept (a restarted worker catches up from them).
        grace: Without `catch_up`, a run this late still fires.
    """

    def __init__(self, book: Rulebook, store: RuleStateStore,
                 grace: timedelta = timedelta(seconds=5)) -> None:
        self._book, self._store, self._grace = book, store, grace
        self._cursors: dict[str, datetime] = {}
        self._fired: dict[str, datetime] = {}

    def tick(self, now: datetime, emit: Callable[[Outgoing], None]) -> None:
        """Emit the records of what is due at `now` (call it often: its resolution is the
        call interval)."""
        for key, schedule in self._book.schedules.items():
            cursor = self._cursors.get(key) or self._store.cursor(key) or now - self._grace
            self._cursors[key] = max(cursor, now)
            times = to_fire(schedule.spec, cursor, now, self._grace)
            rule = self._book.rules.rule(schedule.owner) if schedule.rule else None
            for at in times:
                for out in schedule_records(schedule, at, rule, now):
                    emit(out)
            if times:
                self._fired[key] = now
                log.info("schedule %s fired %d run(s), last %s", key, len(times), times[-1])

    def release(self) -> None:
        """Another worker has the duty: forget the cursors (read the store when back)."""
        self._cursors.clear()
        self._fired.clear()

    def save(self) -> None:
        """Store the cursors of what fired (call once its records are acknowledged)."""
        for key, at in self._fired.items():
            self._store.set_cursor(key, at)
        self._fired.clear()
