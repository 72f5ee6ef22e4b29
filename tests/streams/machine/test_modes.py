"""Execution modes: sequential follows `next`, parallel starts everything, hybrid is a DAG."""

from __future__ import annotations

from tests.streams.machine.driver import Run, action, workflow


def test_sequential_follows_next_links_and_start_at() -> None:
    run = Run(workflow(action("a", next="c"), action("b"), action("c"), start_at="b"))
    run.start()
    run.complete("b")
    run.complete("c")
    assert run.status == "completed"
    assert "a" not in run.live.scopes[""].steps


def test_parallel_mode_starts_every_top_level_step_at_once() -> None:
    run = Run(workflow(action("a"), action("b"), action("c"), execution_mode="parallel",
                       outputs={"n": "${ size(steps) }"}))
    run.start()
    assert sorted(run.live.tasks.values()) == ["a", "b", "c"]
    run.complete("c")
    run.complete("a")
    assert run.status == "running"
    run.complete("b")
    assert run.status == "completed" and run.live.output == {"n": 3}


def test_hybrid_mode_runs_a_dag_by_depends_on() -> None:
    run = Run(workflow(action("a"), action("b"),
                       action("c", depends_on=["a", "b"]), action("d", depends_on=["a"]),
                       execution_mode="hybrid"))
    run.start()
    assert sorted(run.live.tasks.values()) == ["a", "b"]
    run.complete("a")
    assert sorted(run.live.tasks.values()) == ["b", "d"]
    run.complete("b")
    assert sorted(run.live.tasks.values()) == ["c", "d"]
    run.complete("c")
    run.complete("d")
    assert run.status == "completed"


def test_hybrid_condition_skips_the_branch_not_taken_and_its_dependents() -> None:
    run = Run(workflow(
        {"id": "check", "type": "condition",
         "branches": [{"when": "input.ok", "next": "yes"}], "default": "no"},
        action("yes", depends_on=["check"]), action("no", depends_on=["check"]),
        action("after_no", depends_on=["no"]), action("join", depends_on=["yes", "no"]),
        execution_mode="hybrid"))
    run.start({"ok": True})
    assert list(run.live.tasks.values()) == ["yes"]
    assert run.step("no").status == "skipped" and run.step("after_no").status == "skipped"
    run.complete("yes")
    assert list(run.live.tasks.values()) == ["join"], "one completed dependency is enough"
    run.complete("join")
    assert run.status == "completed"


def test_a_failure_in_parallel_mode_cancels_the_other_steps() -> None:
    run = Run(workflow(action("a"), action("b"), execution_mode="parallel"))
    run.start()
    run.fail("a", retryable=False)
    assert run.status == "failed" and run.step("b").status == "cancelled"
    assert not run.live.tasks


def test_retry_after_a_parallel_failure_reruns_failed_and_cancelled_steps() -> None:
    from schemas.commands import RetryExecution

    run = Run(workflow(action("a"), action("b"), action("c"), execution_mode="parallel"))
    run.start()
    run.complete("c")
    run.fail("a", retryable=False)
    run.send(RetryExecution)
    assert sorted(run.live.tasks.values()) == ["a", "b"]
