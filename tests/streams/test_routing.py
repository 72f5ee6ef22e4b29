"""New execution events become tasks and commands with ids derived from the events."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas import tasks
from schemas.commands import ChildCompleted, StartExecution
from schemas.executions import ChildStarted, ExecutionCompleted, StepCompleted, TaskRequested
from streams.routing import follow_ups

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_tasks_children_and_parents_are_told_with_stable_ids() -> None:
    events = [
        TaskRequested(execution_id="p", seq=4, time=T0, command_id="c", step_id="a",
                      task_id="p:t4", attempt=1, task_type="http", params={"url": "u"}, timeout=5),
        StepCompleted(execution_id="p", seq=5, time=T0, command_id="c", step_id="x"),
        ChildStarted(execution_id="p", seq=6, time=T0, command_id="c", scope="loop/2",
                     step_id="sub", child_execution_id="p:c6", workflow_id="child", input={"n": 1}),
        ExecutionCompleted(execution_id="p", seq=7, time=T0, command_id="c", output=3,
                           parent_execution_id="gp", parent_step="s"),
    ]
    out = follow_ups(events, "wf", "1.0.0")
    assert [(o.role, o.key) for o in out] == [("tasks", "p"), ("commands", "p:c6"),
                                              ("commands", "gp")]
    task, child, parent = (o.value for o in out)
    assert isinstance(task, tasks.TaskRequested)
    assert task.idempotency_key == "p:t4" and task.workflow_id == "wf"
    assert task.deadline is not None and (task.deadline - T0).total_seconds() == 5
    assert isinstance(child, StartExecution)
    assert child.parent_execution_id == "p" and child.parent_step == "loop/2/sub"
    assert child.version is None and child.input == {"n": 1}
    assert isinstance(parent, ChildCompleted) and parent.output == 3
    assert follow_ups(events, "wf", "1.0.0") == out  # the same events, the same records
