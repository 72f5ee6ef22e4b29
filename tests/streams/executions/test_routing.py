"""New execution events become tasks and commands with ids derived from the events."""

from __future__ import annotations

from datetime import UTC, datetime

from schemas import tasks
from schemas.commands import AcquireSlot, ChildCompleted, GrantSlot, ReleaseSlot, StartExecution
from schemas.executions import ChildStarted, ExecutionCompleted, StepCompleted, TaskRequested
from schemas.gates import ExecutionQueued, SlotGranted, SlotReturned
from streams.executions.routing import follow_ups, grants

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
    assert task.idempotency_key == "p:a" and task.workflow_id == "wf"  # per step, not attempt
    assert task.deadline is not None and (task.deadline - T0).total_seconds() == 5
    assert isinstance(child, StartExecution)
    assert child.parent_execution_id == "p" and child.parent_step == "loop/2/sub"
    assert child.version is None and child.input == {"n": 1}
    assert isinstance(parent, ChildCompleted) and parent.output == 3
    assert follow_ups(events, "wf", "1.0.0") == out  # the same events, the same records


def test_a_limited_execution_asks_its_gate_and_releases_its_ticket_when_it_ends() -> None:
    common = {"execution_id": "e", "time": T0, "command_id": "c"}
    queued = ExecutionQueued(**common, seq=1, workflow_id="wf", workflow_version="1",
                             gate_id="gate:wf", ticket="e:slot1", limit=3)
    [ask] = follow_ups([queued], "wf", "1", "e:slot1")
    assert ask.key == "gate:wf" and isinstance(ask.value, AcquireSlot)
    assert (ask.value.command_id, ask.value.holder, ask.value.limit) == ("e:slot1:acquire", "e", 3)
    done = ExecutionCompleted(**common, seq=9, parent_execution_id="gp", parent_step="s")
    parent, free = follow_ups([done], "wf", "1", "e:slot1")
    assert parent.key == "gp" and free.key == "gate:wf" and isinstance(free.value, ReleaseSlot)
    assert (free.value.ticket, free.value.command_id) == ("e:slot1", "e:slot1:release")
    assert follow_ups([done], "wf", "1") == [parent]  # not limited: no gate
    back = SlotReturned(**common, seq=10, gate_id="gate:wf", ticket="e:slot1")
    [again] = follow_ups([back], "wf", "1", "e:slot1")
    assert again.value == free.value.model_copy(update={"time": back.time})
    granted = SlotGranted(execution_id="gate:wf", seq=4, time=T0, command_id="c", ticket="e:slot1",
                          holder="e", limit=3)
    [grant] = grants([granted])
    assert grant.key == "e" and isinstance(grant.value, GrantSlot)
    assert (grant.value.command_id, grant.value.gate_id) == ("gate:wf:e4", "gate:wf")
