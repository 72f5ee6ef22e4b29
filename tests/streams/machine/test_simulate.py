"""Test runs through the pure state machine: mocked answers, instant timers, the path taken."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from streams.machine import replay
from streams.machine.simulate import Mock, simulate
from tests.streams.machine.driver import T0, action, workflow


def _approval_flow() -> Any:
    return workflow(
        action("fetch", "http", **{"with": {"url": "https://example.com/${ input.n }"}}),
        {"id": "check", "type": "condition", "default": "reject",
         "branches": [{"when": "steps.fetch.output.ok == true", "next": "fan"}]},
        {"id": "fan", "type": "parallel", "next": "approve", "branches": [
            {"name": "a", "steps": [action("a1", "transform", **{"with": {"x": "${ input.n }"}})]},
            {"name": "b", "steps": [{"id": "b1", "type": "wait", "duration": "1h"}]}]},
        {"id": "approve", "type": "wait", "signal": "go", "timeout": "1d", "next": "$end"},
        action("reject", "log", **{"with": {"message": "no"}}),
        outputs={"approved": "${ steps.approve.output.yes }", "x": "${ steps.fan.output.a.x }"},
    )


def test_a_mocked_run_takes_the_branch_the_mock_decides_and_ends_with_the_outputs() -> None:
    run = simulate(_approval_flow(), {"n": 3}, now=T0,
                   mocks={"fetch": Mock.returning({"ok": True})}, signals={"go": {"yes": True}})
    assert run.status == "completed" and run.stopped is None
    assert run.path == ["fetch", "check", "fan", "a1", "b1", "approve"]
    assert "reject" not in run.steps
    assert run.output == {"approved": True, "x": 3}
    assert run.steps["fetch"].params == {"url": "https://example.com/3"}
    assert run.steps["fetch"].mocked and not run.steps["a1"].mocked
    assert run.steps["a1"].output == {"x": 3}  # the default echo: the rendered `with`
    assert run.steps["check"].output == {"branch": 0, "next": "fan"}
    assert run.steps["approve"].output == {"yes": True}
    assert any("fired at once" in note for note in run.notes)  # the 1 h wait did not wait


def test_the_other_branch_and_a_signal_nobody_gave() -> None:
    run = simulate(_approval_flow(), {"n": 1}, now=T0, mocks={"fetch": Mock.returning({"ok": 0})})
    assert run.path == ["fetch", "check", "reject"]
    assert run.steps["reject"].output == {"message": "no"}
    flow = workflow({"id": "w", "type": "wait", "signal": "go"}, action("after"))
    waited = simulate(flow, {}, now=T0)
    assert waited.status == "completed" and waited.steps["w"].output is None
    assert any("signal 'go' given a null payload" in note for note in waited.notes)


def test_a_failing_mock_is_retried_with_the_timers_advanced_and_fails_the_execution() -> None:
    flow = workflow(action("call", retry={"max_attempts": 3, "initial_interval": "2m"}),
                    action("never"))
    run = simulate(flow, {}, now=T0, mocks={"call": Mock.failing("down", "no answer")})
    assert run.status == "failed"
    assert run.path == ["call"]
    assert run.steps["call"].attempts == 3 and run.steps["call"].status == "failed"
    assert run.steps["call"].error is not None and run.steps["call"].error["code"] == "down"
    assert run.error is not None and run.error["code"] == "down"
    fired = [e for e in run.events if e.type == "timer_fired"]
    assert len(fired) == 2 and run.events[-1].time >= T0 + timedelta(minutes=2)


def test_a_failure_takes_the_catch_path() -> None:
    flow = workflow(action("call", on_error={"action": "goto", "goto": "apologise"}, next="$end"),
                    action("apologise", "transform", **{"with": {"why": "${ error.code }"}}))
    run = simulate(flow, {}, now=T0, mocks={"call": Mock.failing("nope", retryable=False)})
    assert run.status == "completed"
    assert run.path == ["call", "apologise"]
    assert run.steps["apologise"].output == {"why": "nope"}


def test_a_wait_mocked_with_an_error_times_out_and_an_event_wait_gets_its_event() -> None:
    flow = workflow({"id": "w", "type": "wait", "signal": "go", "timeout": "5m",
                     "on_error": "continue"},
                    {"id": "paid", "type": "wait", "timeout": "1h",
                     "event": {"type": "payment.*", "correlation": "input.order"}})
    run = simulate(flow, {"order": "o-7"}, now=T0,
                   mocks={"w": Mock.failing("ignored"), "paid": Mock.returning({"amount": 5})})
    assert run.status == "completed"
    assert run.steps["w"].status == "failed" and run.steps["w"].error["code"] == "timeout"
    event = run.steps["paid"].output
    assert event["subject"] == "o-7" and event["data"] == {"amount": 5}
    assert event["type"] == "payment.x"


def test_loops_subprocesses_and_concurrency_limits() -> None:
    flow = workflow(
        {"id": "each", "type": "loop", "for_each": "input.items",
         "steps": [action("work", "transform", **{"with": {"i": "${ item }"}})]},
        {"id": "child", "type": "subprocess", "workflow_id": "other",
         "input": {"n": "${ size(input.items) }"}},
        concurrency_limit=1,
    )
    run = simulate(flow, {"items": [1, 2, 3]}, now=T0)
    assert run.status == "completed"
    assert run.steps["each"].output == [{"i": 1}, {"i": 2}, {"i": 3}]
    assert run.steps["work"].runs == 3
    assert run.steps["child"].output == {"n": 3}  # the default echo: the child's input
    assert run.events[0].type == "execution_queued"


def test_a_run_is_bounded_and_stops_with_the_reason() -> None:
    flow = workflow({"id": "each", "type": "loop", "for_each": "input.items",
                     "steps": [action("work")]})
    run = simulate(flow, {"items": list(range(50))}, now=T0, max_commands=10)
    assert run.stopped == "max_commands" and run.status == "running"
    assert run.commands == 11  # the start and 10 answers
    assert run.steps["work"].runs == 11  # the 11th iteration started and waits


def test_runs_are_deterministic_and_their_history_replays_to_the_state() -> None:
    first = simulate(_approval_flow(), {"n": 2}, now=T0, mocks={"fetch": Mock.returning({"ok": True})})
    again = simulate(_approval_flow(), {"n": 2}, now=T0, mocks={"fetch": Mock.returning({"ok": True})})
    assert first.events == again.events
    state = replay(first.events)
    assert state is not None and state.status == first.status and state.output == first.output
