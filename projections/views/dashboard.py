"""Dashboard counters: totals by status and an hourly trend (keys ``dash`` and ``dh/<hour>``).

The fold knows no clock. It counts by the events' own times, in UTC hours; "today" and "the
last hours" are cut out of the hourly buckets at read time from a clock the reader passes in,
so the same log always folds to the same counters.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo

from pydantic import BaseModel

from projections.views._tx import Reader, ScanReader, Tx
from projections.views.definitions import read_definitions
from projections.views.executions import ExecutionSummary
from projections.views.sketch import Sketch
from projections.views.workflow_stats import contribute, success_rate
from schemas.executions import TERMINAL_EVENT_TYPES, ExecutionEventBase, ExecutionStarted

__all__ = ["Dashboard", "HourBucket", "Totals", "apply_dashboard", "read_dashboard"]

_TOTALS = "dash"


class Totals(BaseModel):
    """Executions per current status, over every workflow."""

    by_status: dict[str, int] = {}


class HourBucket(BaseModel):
    """What happened in one UTC hour: executions started, and terminal events by status."""

    hour: datetime
    started: int = 0
    ended: dict[str, int] = {}


class Dashboard(BaseModel):
    """The dashboard as of ``now``.

    Attributes:
        active_workflows: Workflows with at least one active version.
        active_rules: Rules with at least one active version.
        running: Executions not yet finished.
        executions_today: Executions started since midnight in the reader's time zone.
        success_rate: Completed among finished executions, over all time.
        trend: One bucket per hour over the last hours, oldest first (empty hours included).
    """

    now: datetime
    active_workflows: int
    active_rules: int
    running: int
    executions_today: int
    success_rate: float | None
    by_status: dict[str, int]
    trend: list[HourBucket]


def _hour_key(moment: datetime) -> str:
    return "dh/" + moment.astimezone(UTC).strftime("%Y-%m-%dT%H")


def _hour_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def apply_dashboard(tx: Tx, before: ExecutionSummary | None, after: ExecutionSummary,
                    event: ExecutionEventBase) -> None:
    """Fold one applied execution event into the dashboard counters."""
    totals = tx.load(_TOTALS, Totals) or Totals()
    counts = totals.by_status
    if before is not None:
        counts, _ = contribute(counts, Sketch(), before, -1)
    counts, _ = contribute(counts, Sketch(), after, 1)
    tx.save(_TOTALS, Totals(by_status=counts))
    kind = event.type  # type: ignore[attr-defined]
    if not (isinstance(event, ExecutionStarted) or kind in TERMINAL_EVENT_TYPES):
        return
    key = _hour_key(event.time)
    bucket = tx.load(key, HourBucket) or HourBucket(hour=_hour_start(event.time))
    if isinstance(event, ExecutionStarted):
        bucket = bucket.model_copy(update={"started": bucket.started + 1})
    else:
        status = kind.removeprefix("execution_")
        bucket = bucket.model_copy(update={"ended": bucket.ended | {
            status: bucket.ended.get(status, 0) + 1}})
    tx.save(key, bucket)


def read_dashboard(reader: ScanReader, now: datetime, *, hours: int = 24,
                   tz: tzinfo = UTC) -> Dashboard:
    """The dashboard at ``now``: "today" is the calendar day of ``now`` in ``tz``.

    Args:
        reader: The view store.
        now: The reader's clock (timezone-aware).
        hours: How many hours of trend, ending with the hour of ``now``.
        tz: The time zone whose midnight starts "today".
    """
    totals_data = reader.get(_TOTALS)
    totals = Totals() if totals_data is None else Totals.model_validate_json(totals_data)
    current = _hour_start(now)
    trend = [_bucket(reader, current - timedelta(hours=h)) for h in range(hours - 1, -1, -1)]
    midnight = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    today, hour = 0, _hour_start(midnight)
    # Zones with half-hour offsets start "today" inside a UTC hour; that hour counts whole.
    while hour <= current:
        today += _bucket(reader, hour).started
        hour += timedelta(hours=1)
    return Dashboard(
        now=now, active_workflows=sum(d.active for d in read_definitions(reader, "workflow")),
        active_rules=sum(d.active for d in read_definitions(reader, "rule")),
        running=totals.by_status.get("running", 0) + totals.by_status.get("waiting", 0),
        executions_today=today, success_rate=success_rate(totals.by_status),
        by_status=totals.by_status, trend=trend)


def _bucket(reader: Reader, hour: datetime) -> HourBucket:
    data = reader.get(_hour_key(hour))
    return HourBucket(hour=hour) if data is None else HourBucket.model_validate_json(data)
