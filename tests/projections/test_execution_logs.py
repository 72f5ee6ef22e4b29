"""Execution logs: the lines of `log` steps, kept in the execution detail (pure, no Kafka)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pydantic import BaseModel

from projections.store import ViewStore
from projections.views import get_execution
from projections.views.executions import (
    MAX_LOG_LINES,
    MAX_LOG_MESSAGE_BYTES,
    TRUNCATED,
    ExecutionDetail,
    evolve_detail,
)
from schemas.executions import TaskRequested
from tests.projections.histories import T0
from tests.streams.machine.driver import Run, action, workflow

Folded = Callable[[Iterable[BaseModel]], ViewStore]


def _log(step_id: str, level: str, message: str) -> dict[str, object]:
    return action(step_id, "log", **{"with": {"level": level, "message": message}})


def test_only_lines_at_or_above_the_workflow_level_are_kept_in_order(folded: Folded) -> None:
    run = Run(workflow(_log("d", "debug", "dbg"), _log("i", "info", "hello ${ input.who }"),
                       _log("w", "warn", "careful"), _log("e", "error", "broken"),
                       monitoring={"log_level": "info"}))
    run.start({"who": "ada"})
    while run.live.tasks:
        run.complete(output={"message": "done"})
    assert run.status == "completed"
    # The debug step completed without a task: nothing below the level reaches a worker.
    assert [t.step_id for t in run.of_type("task_requested")] == ["i", "w", "e"]
    assert run.step("d").output == {"message": "dbg"}
    detail = get_execution(folded(run.events), run.execution_id)
    assert detail is not None
    assert [(x.step, x.level, x.message) for x in detail.detail.logs] == [
        ("i", "info", "hello ada"), ("w", "warning", "careful"), ("e", "error", "broken")]
    assert [x.seq for x in detail.detail.logs] == sorted(x.seq for x in detail.detail.logs)


def test_a_debug_workflow_keeps_debug_lines_and_an_error_workflow_only_errors() -> None:
    steps = (_log("d", "debug", "a"), _log("i", "info", "b"), _log("e", "error", "c"))
    for level, kept in (("debug", ["d", "i", "e"]), ("error", ["e"])):
        run = Run(workflow(*steps, monitoring={"log_level": level}))
        run.start()
        while run.live.tasks:
            run.complete()
        assert [t.step_id for t in run.of_type("task_requested")] == kept


def _requested(seq: int, message: str, attempt: int = 1) -> TaskRequested:
    return TaskRequested(execution_id="x", command_id="c", seq=seq, time=T0, step_id=f"s{seq}",
                         task_id=f"t{seq}",
                         attempt=attempt, task_type="log",
                         params={"level": "info", "message": message})


def test_lines_are_bounded_in_number_and_size() -> None:
    detail = ExecutionDetail()
    for seq in range(1, MAX_LOG_LINES + 6):
        detail = evolve_detail(detail, _requested(seq, "é" * 3000 if seq == 1 else "ok"))
    assert (len(detail.logs), detail.logs_dropped) == (MAX_LOG_LINES, 5)
    first = detail.logs[0].message
    assert first.endswith(TRUNCATED) and len(first.encode()) <= MAX_LOG_MESSAGE_BYTES
    assert first.startswith("é" * 100)
    assert detail.logs[-1].step == f"s{MAX_LOG_LINES}"


def test_a_retried_log_task_is_one_line_and_other_tasks_are_none() -> None:
    detail = evolve_detail(ExecutionDetail(), _requested(1, "once"))
    detail = evolve_detail(detail, _requested(2, "once", attempt=2).model_copy(
        update={"step_id": "s1"}))
    detail = evolve_detail(detail, _requested(3, "x").model_copy(update={"task_type": "http"}))
    assert [x.message for x in detail.logs] == ["once"]
