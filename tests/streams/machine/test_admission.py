"""An execution of a limited workflow: queued first, started by its grant, gives back the rest."""

from __future__ import annotations

from typing import Any

from schemas.commands import CancelExecution, GrantSlot, ReleaseSlot, RetryExecution
from tests.streams.machine.driver import Run, action, types, workflow

LIMITED = workflow(action("a"), concurrency_limit=2, timeout=60)


def grant(run: Run, ticket: str | None = None, **fields: Any) -> list[Any]:
    return run.send(GrantSlot, gate_id="gate:wf", ticket=ticket or run.live.slot, **fields)


def test_a_start_of_a_limited_workflow_queues_with_a_ticket_and_starts_nothing() -> None:
    run = Run(LIMITED)
    events = run.start({"n": 1})
    assert types(events) == ["execution_queued"]
    queued = events[0]
    assert (queued.gate_id, queued.ticket, queued.limit) == ("gate:wf", "exec-1:slot1", 2)
    assert (run.status, run.live.slot, run.live.tasks, run.live.timers) == (
        "queued", "exec-1:slot1", {}, {})


def test_its_grant_starts_it_normally_and_a_second_grant_is_a_no_op() -> None:
    run = Run(LIMITED)
    run.start({"n": 1})
    events = grant(run)
    assert types(events)[:2] == ["execution_started", "timer_scheduled"]
    assert "task_requested" in types(events)
    assert run.status == "running" and run.live.input == {"n": 1}
    assert grant(run, command_id="another-grant") == []  # the same ticket, already running


def test_a_workflow_without_a_limit_starts_at_once() -> None:
    run = Run(workflow(action("a")))
    assert types(run.start())[0] == "execution_started"
    assert run.live.slot is None


def test_a_queued_execution_can_be_cancelled_and_then_gives_a_late_grant_back() -> None:
    run = Run(LIMITED)
    run.start()
    assert types(run.send(CancelExecution, reason="no")) == ["execution_cancelled"]
    assert run.live.slot == "exec-1:slot1"  # what the engine releases at the gate
    assert types(grant(run)) == ["slot_returned"]


def test_a_grant_for_another_ticket_is_given_back_and_the_execution_keeps_waiting() -> None:
    run = Run(LIMITED)
    run.start()
    assert types(grant(run, "exec-1:slot99")) == ["slot_returned"]
    assert run.status == "queued"


def test_a_finished_execution_gives_back_a_grant_it_gets_again() -> None:
    run = Run(LIMITED)
    run.start()
    grant(run)
    run.complete("a")
    assert run.status == "completed"
    assert types(grant(run, command_id="late-duplicate")) == ["slot_returned"]


def test_a_retry_waits_for_a_new_slot_then_resumes_the_failed_step() -> None:
    run = Run(LIMITED)
    run.start()
    grant(run)
    run.fail("a", retryable=False)
    assert run.status == "failed"
    events = run.send(RetryExecution)
    assert types(events) == ["execution_queued"]
    assert run.status == "queued" and run.live.slot != "exec-1:slot1"
    resumed = grant(run)
    assert types(resumed)[0] == "execution_resumed"
    assert run.status == "running"
    run.complete("a")
    assert run.status == "completed"


def test_a_slot_command_sent_to_an_execution_instead_of_its_gate_is_rejected() -> None:
    run = Run(LIMITED)
    run.start()
    events = run.send(ReleaseSlot, holder="exec-1", ticket="exec-1:slot1")
    assert [(e.type, e.code) for e in events] == [("command_rejected", "not_a_gate")]
    assert run.status == "queued"
