"""Per-workflow statistics, derived from the executions view (key ``ws/<workflow id>``).

Each change of an execution's summary takes the old summary's contribution out and puts the
new one in, so an execution is counted once in its current status and its duration is in the
sketch only while it is finished (a failed execution retried to completion moves from
``failed`` to ``completed`` and its old duration is replaced).
"""

from __future__ import annotations

from pydantic import BaseModel

from projections.views._tx import Reader, Tx
from projections.views.executions import ExecutionSummary
from projections.views.sketch import Sketch
from schemas.executions import ExecutionEventBase, RetryScheduled, StepFailed

__all__ = ["WorkflowStats", "apply_workflow_stats", "read_workflow_stats", "success_rate"]

FINISHED = ("completed", "failed", "cancelled", "timed_out")


class WorkflowStats(BaseModel):
    """Counts, durations and per-step failures of one workflow's executions.

    Attributes:
        by_status: Executions per current status.
        durations_ms: Durations of finished executions (for p50/p95/p99).
        step_failures: Step path -> how many times it failed for good.
        step_retries: Step path -> how many retries it needed.
    """

    workflow_id: str
    by_status: dict[str, int] = {}
    durations_ms: Sketch = Sketch()
    step_failures: dict[str, int] = {}
    step_retries: dict[str, int] = {}


def stats_key(workflow_id: str) -> str:
    """The key of a workflow's statistics."""
    return f"ws/{workflow_id}"


def success_rate(by_status: dict[str, int]) -> float | None:
    """Completed executions among finished ones, or None before any finished."""
    finished = sum(by_status.get(status, 0) for status in FINISHED)
    return None if finished == 0 else by_status.get("completed", 0) / finished


def contribute(by_status: dict[str, int], durations: Sketch, summary: ExecutionSummary,
               sign: int) -> tuple[dict[str, int], Sketch]:
    """Add (``sign=1``) or take out (``sign=-1``) one summary's share of the counts."""
    counts = dict(by_status)
    counts[summary.status] = counts.get(summary.status, 0) + sign
    if counts[summary.status] == 0:
        del counts[summary.status]
    if summary.duration_ms is not None:
        durations = durations.add(summary.duration_ms, sign)
    return counts, durations


def apply_workflow_stats(tx: Tx, before: ExecutionSummary | None, after: ExecutionSummary,
                         event: ExecutionEventBase) -> None:
    """Fold one applied execution event into its workflow's statistics."""
    key = stats_key(after.workflow_id)
    stats = tx.load(key, WorkflowStats) or WorkflowStats(workflow_id=after.workflow_id)
    counts, durations = stats.by_status, stats.durations_ms
    if before is not None and before.workflow_id == after.workflow_id:
        counts, durations = contribute(counts, durations, before, -1)
    counts, durations = contribute(counts, durations, after, 1)
    update: dict[str, object] = {"by_status": counts, "durations_ms": durations}
    if isinstance(event, StepFailed | RetryScheduled):
        field = "step_failures" if isinstance(event, StepFailed) else "step_retries"
        path = f"{event.scope}/{event.step_id}" if event.scope else event.step_id
        current: dict[str, int] = getattr(stats, field)
        update[field] = current | {path: current.get(path, 0) + 1}
    tx.save(key, stats.model_copy(update=update))


def read_workflow_stats(reader: Reader, workflow_id: str) -> WorkflowStats | None:
    """The statistics of one workflow, or None if it never ran."""
    data = reader.get(stats_key(workflow_id))
    return None if data is None else WorkflowStats.model_validate_json(data)
