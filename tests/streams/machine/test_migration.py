"""Migrating an execution to another version: clean mappings move, the rest is refused by name.

Every command goes through the driver, so each test also checks the replay laws (replay of
the history equals the live state, `decide` equals `apply_command`, the input state is
untouched) across the version change.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import event as note_event
from hypothesis import strategies as st

from schemas.commands import GrantSlot
from schemas.definitions import WorkflowDefinition
from streams.machine import State, compile_plan, replay
from streams.machine.migration import migration_problems
from tests.streams.machine.driver import Run, action, types, workflow
from tests.streams.machine.test_properties import (
    EXAMPLES,
    _drain_command,
    _random_command,
    workflows,
)


def version(number: str, *steps: dict[str, Any], **fields: Any) -> WorkflowDefinition:
    """Version ``number`` of the workflow ``wf``."""
    data = workflow(*steps, **fields).model_dump(by_alias=True, exclude_none=True)
    return WorkflowDefinition.model_validate({**data, "version": number})


def signal_wait(step_id: str, name: str = "go") -> dict[str, Any]:
    return {"id": step_id, "type": "wait", "signal": name}


def codes(run: Run) -> str:
    rejected = run.of_type("command_rejected")
    assert rejected, "expected a refusal"
    return rejected[-1].message


def test_a_waiting_execution_moves_and_finishes_on_the_new_version() -> None:
    v1 = version("1.0.0", action("a"), signal_wait("approve"), action("old_end"))
    v2 = version("2.0.0", action("a"), signal_wait("approval"), action("check"),
                 action("new_end"), outputs={"who": "${ steps.approval.output.by }"})
    run = Run(v1)
    run.add_version(v2)
    run.start()
    run.complete("a", {"n": 1})
    assert run.status == "waiting"

    events = run.migrate("2.0.0", {"approve": "approval"})

    assert types(events) == ["execution_migrated"]
    migrated = events[0]
    assert (migrated.from_version, migrated.to_version) == ("1.0.0", "2.0.0")
    assert migrated.mapping == {"approve": "approval"}
    assert run.live.workflow_version == "2.0.0"
    assert run.step("approval").wait == {"signal": "go"}
    assert run.step("a").output == {"n": 1}  # finished steps keep their outputs
    run.signal("go", {"by": "ada"})
    run.complete("check")  # the new version's steps run from here on
    run.complete("new_end")
    assert run.status == "completed" and run.live.output == {"who": "ada"}


def test_open_tasks_timers_and_loop_iterations_follow_the_renamed_steps() -> None:
    body = [action("ship", "http"), {"id": "pause", "type": "wait", "duration": 60}]
    v1 = version("1.0.0", {"id": "each", "type": "loop", "for_each": "input.items",
                           "parallelism": 2, "steps": body}, action("done"))
    v2 = version("2.0.0", {"id": "per_item", "type": "loop", "for_each": "input.items",
                           "parallelism": 2, "steps": [
                               action("send", "http"),
                               {"id": "pause", "type": "wait", "duration": 5}]},
                 action("done"))
    run = Run(v1)
    run.add_version(v2)
    run.start({"items": ["x", "y"]})
    run.complete("each/0/ship", "sent-x")  # iteration 0 waits on its timer, 1 on its task
    due = run.live.timers[run.timer("wait", "each/0/pause")].fire_at

    run.migrate("2.0.0", {"each": "per_item", "ship": "send"})

    assert set(run.live.scopes) == {"", "per_item/0", "per_item/1"}
    assert run.live.scopes["per_item/0"].plan == "per_item"
    assert run.live.tasks == {run.task("per_item/1/send"): "per_item/1/send"}
    timer = run.live.timers[run.timer("wait", "per_item/0/pause")]
    assert timer.fire_at == due  # a timer keeps its due time
    run.complete("per_item/1/send", "sent-y")
    run.fire("wait", "per_item/0/pause")
    run.fire("wait", "per_item/1/pause")
    run.complete("done")
    assert run.status == "completed"
    assert run.step("per_item").output == [None, None]


def test_parallel_branches_and_a_nested_scope_rename() -> None:
    fan = {"id": "fan", "type": "parallel", "branches": [
        {"name": "l", "steps": [signal_wait("left", "l")]},
        {"name": "r", "steps": [action("right")]}]}
    fan2 = {"id": "fan2", "type": "parallel", "branches": [
        {"name": "l", "steps": [signal_wait("left2", "l")]},
        {"name": "r", "steps": [action("right")]}]}
    run = Run(version("1.0.0", fan))
    run.add_version(version("2.0.0", fan2))
    run.start()
    run.migrate("2.0.0", {"fan": "fan2", "left": "left2"})
    assert run.live.scopes["fan2/1"].plan == "fan2/1"
    run.complete("fan2/1/right", "R")
    run.signal("l", "L")
    assert run.status == "completed"
    assert run.step("fan2").output == {"l": "L", "r": "R"}


def test_what_does_not_map_is_refused_with_every_reason_and_nothing_changes() -> None:
    v1 = version("1.0.0", action("a", "http"), signal_wait("approve"))
    v2 = version("2.0.0", action("a", "smtp"), action("approve"))
    run = Run(v1)
    run.add_version(v2)
    run.start()
    before = run.live.to_bytes()

    events = run.migrate("2.0.0", {"ghost": "nowhere"})

    assert types(events) == ["command_rejected"]
    assert events[0].code == "migration_refused"
    message = codes(run)
    assert "unknown_step" in message and "unknown_target_step" in message
    assert "action_changed: a: its open task runs 'http'" in message
    assert run.live.workflow_version == "1.0.0"
    state = run.live
    assert replay(run.events) == state
    assert before != state.to_bytes()  # only its seq and command ids moved
    assert state.tasks and state.scopes[""].steps["a"].status == "running"


REFUSALS: list[tuple[str, list[dict[str, Any]], list[dict[str, Any]], dict[str, str],
                     dict[str, Any]]] = [
    # (reason, running version's steps, target's steps, mapping, workflow fields)
    ("step_missing", [signal_wait("s")], [action("a")], {}, {}),
    ("wait_changed", [signal_wait("s")], [signal_wait("s", "other")], {}, {}),
    ("wait_changed", [signal_wait("s")], [{"id": "s", "type": "wait", "duration": 5}], {}, {}),
    ("step_type_changed", [signal_wait("s")], [action("s")], {}, {}),
    ("mapping_collision", [signal_wait("w", "a"), signal_wait("s", "b")],
     [signal_wait("w", "a")], {"s": "w"}, {"execution_mode": "parallel"}),
    ("branches_changed", [{"id": "p", "type": "parallel", "branches": [
        {"name": "x", "steps": [signal_wait("s")]}]}],
     [{"id": "p", "type": "parallel", "branches": [
         {"name": "x", "steps": [signal_wait("s")]}, {"name": "y", "steps": [action("y")]}]}],
     {}, {}),
]


def test_each_named_reason() -> None:
    for reason, running, target, mapping, fields in REFUSALS:
        run = Run(version("1.0.0", *running, **fields))
        run.add_version(version("2.0.0", *target, **fields))
        run.start()
        run.migrate("2.0.0", mapping)
        assert f"{reason}:" in codes(run), (reason, codes(run))
        assert run.live.workflow_version == "1.0.0"


def test_a_changed_execution_mode_is_refused() -> None:
    run = Run(version("1.0.0", signal_wait("s")))
    run.add_version(version("2.0.0", signal_wait("s"), execution_mode="parallel"))
    run.start()
    run.migrate("2.0.0")
    assert "execution_mode_changed: execution_mode sequential -> parallel" in codes(run)


def test_finished_executions_and_the_same_version_are_refused() -> None:
    run = Run(version("1.0.0", action("a")))
    run.add_version(version("2.0.0", action("a")))
    run.start()
    run.migrate("1.0.0")
    assert "same_version" in codes(run)
    run.migrate("3.0.0")
    assert "unknown_version" in codes(run)
    run.complete("a")
    run.migrate("2.0.0")
    assert "not_running: the execution is completed" in codes(run)


def test_a_queued_execution_moves_and_starts_on_the_new_version() -> None:
    v1 = version("1.0.0", action("a"), concurrency_limit=1)
    v2 = version("2.0.0", action("b"), concurrency_limit=1)
    run = Run(v1)
    run.add_version(v2)
    run.start()
    assert run.status == "queued"
    run.migrate("2.0.0")
    assert run.live.workflow_version == "2.0.0"
    run.send(GrantSlot, gate_id="gate:wf", ticket=run.live.slot)
    assert run.live.tasks == {run.task("b"): "b"}


def test_the_dry_run_check_is_the_decision() -> None:
    v1 = version("1.0.0", action("a"), signal_wait("approve"))
    v2 = version("2.0.0", action("a"), action("approve"))
    run = Run(v1)
    run.add_version(v2)
    run.start()
    problems = migration_problems(run.live, compile_plan(v1), compile_plan(v2), {})
    assert [p.code for p in problems] == []  # `a` is the active step; `approve` not reached
    run.complete("a")
    problems = migration_problems(run.live, compile_plan(v1), compile_plan(v2), {})
    assert [(p.code, p.step) for p in problems] == [("step_type_changed", "approve")]
    run.migrate("2.0.0")
    assert codes(run) == "; ".join(f"{p.code}: {p.message}" for p in problems)


def renamed(definition: WorkflowDefinition, mapping: dict[str, str],
            number: str) -> WorkflowDefinition:
    """The same workflow with every step id renamed by ``mapping``, as version ``number``."""

    def walk(value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, key) for v in value]
        if key in ("id", "next", "default", "goto", "start_at", "depends_on") and isinstance(
                value, str):
            return mapping.get(value, value)
        return value

    data = walk(definition.model_dump(mode="json", by_alias=True, exclude_none=True))
    return WorkflowDefinition.model_validate({**data, "version": number})


def _all_ids(definition: WorkflowDefinition) -> list[str]:
    return sorted(step_id for scope in compile_plan(definition).scopes.values()
                  for step_id in scope.order)


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(definition=workflows(), data=st.data())
def test_a_rename_there_and_back_is_accepted_anywhere_and_changes_nothing(
        definition: WorkflowDefinition, data: st.DataObject) -> None:
    mapping = {step_id: f"n{step_id}" for step_id in _all_ids(definition)}
    back = {new: old for old, new in mapping.items()}
    run = Run(definition)
    run.add_version(renamed(definition, mapping, "2.0.0"))
    run.add_version(renamed(definition, {}, "3.0.0"))
    run.start({"flag": data.draw(st.booleans()), "items": [1, 2][: data.draw(st.integers(0, 2))],
               "key": "k"})
    for _ in range(data.draw(st.integers(0, 20))):
        command = _random_command(run, data)
        if command is not None:
            run.apply(command)
    before = run.live
    there = run.migrate("2.0.0", mapping)
    if before.status not in ("running", "waiting", "queued"):
        assert types(there) == ["command_rejected"] and "not_running" in there[0].message
        return
    note_event(f"migrated from {before.status}")
    assert types(there) == ["execution_migrated"], there
    assert types(run.migrate("3.0.0", back)) == ["execution_migrated"]
    after = run.live
    same = {"workflow_version": "1.0.0", "seq": before.seq, "recent": before.recent}
    assert State.from_dict({**after.to_dict(), **same}) == before
    for _ in range(300):  # and it still runs to its end on the version it came back to
        if run.live.finished:
            break
        run.apply(_drain_command(run))
    assert run.live.finished
