"""Every step type does what its definition says (given a workflow, when commands, then events)."""

from __future__ import annotations

from datetime import timedelta

from schemas.commands import (
    ChildCompleted,
    ChildFailed,
    ErrorInfo,
    EventReceived,
)
from tests.streams.machine.driver import T0, Run, action, types, workflow


def test_sequential_actions_run_in_order_and_outputs_render_at_the_end() -> None:
    run = Run(workflow(action("a"), action("b"), action("c"),
                       outputs={"total": "${ steps.a.output + steps.b.output + steps.c.output }"}))
    run.start()
    assert run.live.tasks == {run.task("a"): "a"}
    run.complete("a", 1)
    run.complete("b", 2)
    assert run.status == "running"
    events = run.complete("c", 3)
    assert events[-1].type == "execution_completed"
    assert run.status == "completed" and run.live.output == {"total": 6}


def test_action_task_carries_rendered_params_and_input() -> None:
    run = Run(workflow(action("a", "http", **{"with": {"url": "${ input.base + '/x' }"},
                                             "input": {"n": "${ vars.n }"}}),
                       variables={"n": "${ input.n * 2 }"}))
    events = run.start({"base": "http://h", "n": 21})
    task = next(e for e in events if e.type == "task_requested")
    assert task.task_type == "http"
    assert task.params == {"url": "http://h/x"}
    assert task.input == {"n": 42}
    assert task.task_id == f"exec-1:t{task.seq}"


def test_output_mapping_sets_step_output_and_merges_object_keys_into_vars() -> None:
    run = Run(workflow(action("a", output={"user": "${ output.name }"}),
                       action("b", **{"with": {"who": "${ vars.user }"}})))
    run.start()
    run.complete("a", {"name": "ada", "noise": 1})
    assert run.step("a").output == {"user": "ada"}
    assert run.live.vars == {"user": "ada"}
    assert run.of_type("task_requested")[-1].params == {"who": "ada"}


def test_raw_output_is_kept_when_no_output_mapping() -> None:
    run = Run(workflow(action("a"), outputs={"x": "${ steps.a.output }"}))
    run.start()
    run.complete("a", [1, 2])
    assert run.live.output == {"x": [1, 2]}


def test_condition_takes_first_true_branch() -> None:
    run = Run(workflow(
        {"id": "c", "type": "condition", "branches": [
            {"when": "input.n > 10", "next": "big"}, {"when": "input.n > 0", "next": "small"}],
         "default": "none"},
        action("big", next="$end"), action("small", next="$end"), action("none")))
    run.start({"n": 5})
    assert run.step("c").output == {"branch": 1, "next": "small"}
    assert list(run.live.tasks.values()) == ["small"]


def test_condition_default_and_fall_through() -> None:
    cond = {"id": "c", "type": "condition", "branches": [{"when": "false", "next": "x"}]}
    run = Run(workflow(cond, action("y", next="$end"), action("x")))
    run.start()
    assert list(run.live.tasks.values()) == ["y"]  # no default: the step's next
    cond["default"] = "$end"
    run = Run(workflow(cond, action("y", next="$end"), action("x")))
    run.start()
    assert run.status == "completed"


def test_condition_that_is_not_boolean_fails_the_step() -> None:
    run = Run(workflow({"id": "c", "type": "condition",
                        "branches": [{"when": "input.n", "next": "$end"}]}))
    run.start({"n": 3})
    assert run.status == "failed"
    assert run.live.error is not None and run.live.error["code"] == "not_boolean"


def test_for_each_loop_runs_body_per_item_and_collects_outputs() -> None:
    body = [action("b", **{"with": {"i": "${ index }", "v": "${ item }"}})]
    run = Run(workflow({"id": "l", "type": "loop", "for_each": "input.xs", "steps": body}))
    run.start({"xs": ["p", "q", "r"]})
    for i in range(3):
        task = run.of_type("task_requested")[-1]
        assert task.params == {"i": i, "v": "pqr"[i]} and task.scope == f"l/{i}"
        run.complete(f"l/{i}/b", i * 10)
    assert run.step("l").output == [0, 10, 20]
    assert run.status == "completed"
    assert set(run.live.scopes) == {""}, "finished iterations leave no state behind"


def test_for_each_parallelism_bounds_concurrent_iterations() -> None:
    run = Run(workflow({"id": "l", "type": "loop", "for_each": "[1,2,3,4,5]", "parallelism": 2,
                        "steps": [action("b")]}))
    run.start()
    assert sorted(run.live.tasks.values()) == ["l/0/b", "l/1/b"]
    run.complete("l/1/b", "one")
    assert sorted(run.live.tasks.values()) == ["l/0/b", "l/2/b"]
    for path in ["l/0/b", "l/2/b", "l/3/b", "l/4/b"]:
        run.complete(path, path)
    assert run.step("l").output == ["l/0/b", "one", "l/2/b", "l/3/b", "l/4/b"]


def test_empty_for_each_completes_at_once() -> None:
    run = Run(workflow({"id": "l", "type": "loop", "for_each": "[]", "steps": [action("b")]}))
    run.start()
    assert run.status == "completed" and run.step("l").output == []


def test_for_each_over_the_bound_or_not_a_list_fails() -> None:
    for source, code in [("[1,2,3]", "max_iterations_exceeded"), ("'abc'", "invalid_items")]:
        run = Run(workflow({"id": "l", "type": "loop", "for_each": source, "max_iterations": 2,
                            "steps": [action("b")]}))
        run.start()
        assert run.status == "failed" and run.live.error["code"] == code  # type: ignore[index]


def test_while_loop_checks_before_each_iteration() -> None:
    body = [action("b", output={"count": "${ vars.count + 1 }"})]
    run = Run(workflow({"id": "l", "type": "loop", "while": "vars.count < 3", "steps": body},
                       variables={"count": 0}))
    run.start()
    for i in range(3):
        run.complete(f"l/{i}/b")
    assert run.status == "completed"
    assert run.live.vars == {"count": 3}
    assert len(run.step("l").output) == 3


def test_while_loop_is_bounded_by_max_iterations() -> None:
    run = Run(workflow({"id": "l", "type": "loop", "while": "true", "max_iterations": 2,
                        "steps": [action("b")]}))
    run.start()
    run.complete("l/0/b")
    run.complete("l/1/b")
    assert run.status == "failed"
    assert run.live.error["code"] == "max_iterations_exceeded"  # type: ignore[index]


def _parallel(**fields: object) -> dict[str, object]:
    return {"id": "p", "type": "parallel", "branches": [
        {"name": "left", "steps": [action("l1"), action("l2")]},
        {"name": "right", "steps": [action("r1")]}], **fields}


def test_parallel_join_all_waits_for_every_branch() -> None:
    run = Run(workflow(_parallel(), action("after")))
    run.start()
    assert sorted(run.live.tasks.values()) == ["p/0/l1", "p/1/r1"]
    run.complete("p/1/r1", "R")
    run.complete("p/0/l1", "L1")
    assert "after" not in run.live.tasks.values()
    run.complete("p/0/l2", "L2")
    assert run.step("p").output == {"left": "L2", "right": "R"}
    assert list(run.live.tasks.values()) == ["after"]


def test_parallel_join_any_takes_the_first_branch_and_cancels_the_rest() -> None:
    run = Run(workflow(_parallel(join="any")))
    run.start()
    events = run.complete("p/1/r1", "R")
    assert run.step("p").output == {"right": "R"}
    cancelled = [e for e in events if e.type == "task_cancelled"]
    assert [e.scope + "/" + e.step_id for e in cancelled] == ["p/0/l1"]
    assert run.status == "completed" and not run.live.tasks


def test_parallel_fail_fast_cancels_other_branches() -> None:
    run = Run(workflow(_parallel()))
    run.start()
    events = run.fail("p/0/l1", retryable=False)
    assert "task_cancelled" in types(events)
    assert run.status == "failed" and not run.live.tasks


def test_parallel_collect_errors_waits_then_fails_with_all_errors() -> None:
    run = Run(workflow(_parallel(fail_fast=False)))
    run.start()
    run.fail("p/0/l1", "first", retryable=False)
    assert run.status == "running"
    run.complete("p/1/r1")
    assert run.status == "failed"
    error = run.live.error
    assert error is not None and error["code"] == "branches_failed"
    assert [e["code"] for e in error["details"]["errors"]] == ["first"]


def test_subprocess_starts_a_child_and_waits_for_it() -> None:
    run = Run(workflow({"id": "s", "type": "subprocess", "workflow_id": "child",
                        "version": "^1.2", "input": {"x": "${ input.x }"}}))
    events = run.start({"x": 7})
    child = next(e for e in events if e.type == "child_started")
    assert (child.workflow_id, child.version, child.input) == ("child", "^1.2", {"x": 7})
    assert run.live.children == {child.child_execution_id: "s"}
    run.send(ChildCompleted, child_execution_id=child.child_execution_id, output={"ok": True})
    assert run.status == "completed" and run.step("s").output == {"ok": True}


def test_subprocess_failure_is_retried_with_a_new_child() -> None:
    run = Run(workflow({"id": "s", "type": "subprocess", "workflow_id": "child",
                        "retry": {"max_attempts": 2}}))
    run.start()
    first = next(iter(run.live.children))
    run.send(ChildFailed, child_execution_id=first, error=ErrorInfo(code="x"))
    run.fire("retry")
    second = next(iter(run.live.children))
    assert second != first
    run.send(ChildFailed, child_execution_id=second, error=ErrorInfo(code="x"))
    assert run.status == "failed"


def test_subprocess_without_wait_completes_with_the_child_id() -> None:
    run = Run(workflow({"id": "s", "type": "subprocess", "workflow_id": "child", "wait": False}))
    events = run.start()
    child = next(e for e in events if e.type == "child_started")
    assert run.status == "completed"
    assert run.step("s").output == {"execution_id": child.child_execution_id}


def test_wait_duration_sets_a_timer_and_continues_when_it_fires() -> None:
    run = Run(workflow({"id": "w", "type": "wait", "duration": "5m"}, action("a")))
    run.start()
    timer = run.live.timers[run.timer("wait")]
    assert timer.fire_at == T0 + timedelta(seconds=1 + 300)
    assert run.status == "waiting"
    run.fire("wait")
    assert list(run.live.tasks.values()) == ["a"]


def test_wait_until_a_literal_or_computed_time() -> None:
    run = Run(workflow({"id": "w", "type": "wait", "until": "2024-01-02T00:00:00Z"}))
    run.start()
    assert run.live.timers[run.timer("wait")].fire_at == T0 + timedelta(days=1)
    run = Run(workflow({"id": "w", "type": "wait", "until": "now + duration('90s')"}))
    run.start()
    assert run.live.timers[run.timer("wait")].fire_at == T0 + timedelta(seconds=91)
    run = Run(workflow({"id": "w", "type": "wait", "until": "2020-01-01T00:00:00Z"}))
    run.start()
    assert run.status == "completed", "a time already past does not wait"


def test_wait_signal_takes_the_payload_and_buffers_early_signals() -> None:
    wait = {"id": "w", "type": "wait", "signal": "approve", "output": {"by": "${ signal.who }"}}
    run = Run(workflow(action("a"), wait))
    run.start()
    run.signal("approve", {"who": "early"})
    assert run.live.signals == [["approve", {"who": "early"}]]
    run.complete("a")
    assert run.status == "completed" and run.live.vars == {"by": "early"}
    assert run.live.signals == []


def test_wait_signal_delivered_while_waiting() -> None:
    run = Run(workflow({"id": "w", "type": "wait", "signal": "go"}))
    run.start()
    run.signal("other")
    assert run.status == "waiting"
    run.signal("go", 42)
    assert run.status == "completed" and run.step("w").output == 42


def test_wait_event_matches_type_and_correlated_subject() -> None:
    run = Run(workflow({"id": "w", "type": "wait",
                        "event": {"type": "payment.*", "correlation": "input.order"}}))
    run.start({"order": "o-1"})
    events = run.send(EventReceived, event={"type": "payment.done", "subject": "o-2"})
    assert types(events) == ["command_rejected"] and events[0].code == "no_waiter"
    run.send(EventReceived, event={"type": "payment.done", "subject": "o-1", "data": {"a": 1}})
    assert run.status == "completed"
    assert run.step("w").output["data"] == {"a": 1}


def test_wait_timeout_fails_the_wait_step() -> None:
    run = Run(workflow({"id": "w", "type": "wait", "signal": "go", "timeout": "1h",
                        "on_error": "continue"}, action("next")))
    run.start()
    run.fire("step_timeout")
    assert run.step("w").status == "failed"
    assert run.step("w").error["code"] == "timeout"
    assert list(run.live.tasks.values()) == ["next"]
    assert run.signal("go")[0].type == "signal_buffered", "the wait is over"
