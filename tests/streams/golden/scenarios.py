"""Golden scenarios: one per step type and per error-handling mode.

Each scenario is a workflow and a script of commands. The recorded histories in
``histories/`` are the contract: a change to the core that alters any of them
fails the build. Regenerate deliberately with ``HEADWATER_REGEN_GOLDEN=1 pytest
tests/streams/golden`` and review the diff.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from schemas.commands import (
    CancelExecution,
    ChildCompleted,
    EventReceived,
    RetryExecution,
)
from tests.streams.machine.driver import Run, action


@dataclass(frozen=True)
class Scenario:
    """A workflow definition and the commands that drive it."""

    name: str
    definition: dict[str, Any]
    script: Callable[[Run], None]
    input: dict[str, Any] | None = None
    versions: tuple[dict[str, Any], ...] = ()
    """Other versions of the workflow the script may migrate the execution to."""


def _wf(*steps: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"id": "golden", "name": "golden", "steps": list(steps), **fields}


def _sequence(run: Run) -> None:
    run.complete("fetch", {"amount": 120})
    run.complete("charge", {"receipt": "r-1"})
    run.complete("notify")


def _condition(run: Run) -> None:
    run.complete("big")


def _for_each(run: Run) -> None:
    run.complete("each/1/ship", "b")
    run.complete("each/0/ship", "a")
    run.complete("each/2/ship", "c")


def _while(run: Run) -> None:
    run.complete("poll/0/check", {"done": False})
    run.complete("poll/1/check", {"done": True})


def _parallel_all(run: Run) -> None:
    run.complete("fan/1/r", "right")
    run.complete("fan/0/l1", "l1")
    run.complete("fan/0/l2", "l2")


def _parallel_fail_fast(run: Run) -> None:
    run.fail("fan/0/l1", "down", retryable=False)


def _parallel_collect(run: Run) -> None:
    run.fail("fan/0/l1", "down", retryable=False)
    run.complete("fan/1/r", "right")


def _subprocess(run: Run) -> None:
    child = next(iter(run.live.children))
    run.send(ChildCompleted, child_execution_id=child, output={"child": "done"})


def _wait_duration(run: Run) -> None:
    run.fire("wait")


def _wait_signal(run: Run) -> None:
    run.signal("approve", {"by": "ops"})


def _wait_event_timeout(run: Run) -> None:
    run.send(EventReceived, event={"type": "payment.done", "subject": "someone-else"})
    run.fire("step_timeout")


def _wait_event(run: Run) -> None:
    run.send(EventReceived, event={"type": "payment.done", "subject": "o-7", "data": {"ok": 1}})


def _retries(run: Run) -> None:
    run.fail("call")
    run.fire("retry")
    run.fire("step_timeout")
    run.fire("retry")
    run.complete("call", "finally")


def _fail(run: Run) -> None:
    run.fail("a", "boom", retryable=False)


def _fail_then_retry(run: Run) -> None:
    run.fail("b", "boom", retryable=False)
    run.send(RetryExecution, requested_by="ops")
    run.complete("b", "second time")
    run.complete("c")


def _workflow_timeout(run: Run) -> None:
    run.fire("workflow_timeout")


def _cancel(run: Run) -> None:
    run.send(CancelExecution, reason="user asked")


def _hybrid(run: Run) -> None:
    run.complete("a")
    run.complete("b")
    run.complete("c")


def _migrate(run: Run) -> None:
    run.complete("each/0/ship", "sent-x")
    run.migrate("2.0.0", {"each": "per_item", "ship": "send", "approve": "approval"})
    run.complete("per_item/1/send", "sent-y")
    run.fire("wait", "per_item/0/pause")
    run.fire("wait", "per_item/1/pause")
    run.signal("go", {"by": "ops"})
    run.complete("audit")


_MIGRATE_V1 = _wf(
    {"id": "each", "type": "loop", "for_each": "input.items", "parallelism": 2,
     "steps": [action("ship", "http"), {"id": "pause", "type": "wait", "duration": "1m"}]},
    {"id": "approve", "type": "wait", "signal": "go"}, version="1.0.0")
_MIGRATE_V2 = _wf(
    {"id": "per_item", "type": "loop", "for_each": "input.items", "parallelism": 2,
     "steps": [action("send", "http"), {"id": "pause", "type": "wait", "duration": "5s"}]},
    {"id": "approval", "type": "wait", "signal": "go", "output": {"by": "${ signal.by }"}},
    action("audit", **{"with": {"who": "${ vars.by }"}}), version="2.0.0")

PARALLEL = {"id": "fan", "type": "parallel", "branches": [
    {"name": "left", "steps": [action("l1"), action("l2")]},
    {"name": "right", "steps": [action("r")]}]}

SCENARIOS = [
    Scenario("action_sequence", _wf(
        action("fetch", "http", **{"with": {"url": "${ input.url }"}},
               output={"amount": "${ output.amount }"}),
        action("charge", **{"with": {"amount": "${ vars.amount }"}}),
        action("notify", "log"),
        outputs={"receipt": "${ steps.charge.output.receipt }"}), _sequence, {"url": "http://x"}),
    Scenario("condition", _wf(
        {"id": "route", "type": "condition",
         "branches": [{"when": "input.amount > 100", "next": "big"}], "default": "small"},
        action("big", next="$end"), action("small")), _condition, {"amount": 500}),
    Scenario("loop_for_each", _wf(
        {"id": "each", "type": "loop", "for_each": "input.items", "parallelism": 2,
         "steps": [action("ship", **{"with": {"item": "${ item }", "i": "${ index }"}})]}),
        _for_each, {"items": ["x", "y", "z"]}),
    Scenario("loop_while", _wf(
        {"id": "poll", "type": "loop", "while": "!has(vars.done) || !vars.done",
         "max_iterations": 5, "steps": [action("check", output={"done": "${ output.done }"})]}),
        _while),
    Scenario("parallel_join_all", _wf(PARALLEL), _parallel_all),
    Scenario("parallel_fail_fast", _wf(PARALLEL), _parallel_fail_fast),
    Scenario("parallel_collect_errors", _wf({**PARALLEL, "fail_fast": False}),
             _parallel_collect),
    Scenario("parallel_join_any", _wf({**PARALLEL, "join": "any"}),
             lambda run: run.complete("fan/1/r", "first")),
    Scenario("subprocess", _wf({"id": "sub", "type": "subprocess", "workflow_id": "billing",
                                "version": "^1.0", "input": {"order": "${ input.order }"}}),
             _subprocess, {"order": "o-1"}),
    Scenario("wait_duration", _wf({"id": "pause", "type": "wait", "duration": "1h30m"},
                                  action("after")), lambda run: (_wait_duration(run),
                                                                 run.complete("after"))[0]),
    Scenario("wait_until", _wf({"id": "pause", "type": "wait", "until": "2024-01-01T06:00:00Z"}),
             _wait_duration),
    Scenario("wait_signal", _wf({"id": "approval", "type": "wait", "signal": "approve",
                                 "timeout": "1d", "output": {"approved_by": "${ signal.by }"}}),
             _wait_signal),
    Scenario("wait_event", _wf({"id": "paid", "type": "wait", "event": {
        "type": "payment.*", "correlation": "input.order"}}), _wait_event, {"order": "o-7"}),
    Scenario("wait_event_timeout", _wf({"id": "paid", "type": "wait", "timeout": "10m", "event": {
        "type": "payment.*", "correlation": "input.order"}, "on_error": "continue"}),
        _wait_event_timeout, {"order": "o-7"}),
    Scenario("retry_backoff_jitter_cap", _wf(action("call", timeout="30s", retry={
        "max_attempts": 4, "initial_interval": "2s", "factor": 10, "max_interval": "1m",
        "jitter": 0.3})), _retries),
    Scenario("on_error_fail", _wf(action("a"), action("b")), _fail),
    Scenario("on_error_continue", _wf(action("a", on_error="continue"), action("b")),
             lambda run: (_fail(run), run.complete("b"))[0]),
    Scenario("on_error_goto", _wf(action("a", on_error={"action": "goto", "goto": "recover"}),
                                  action("b", next="$end"),
                                  action("recover", **{"with": {"why": "${ error.code }"}})),
             lambda run: (_fail(run), run.complete("recover"))[0]),
    Scenario("retry_from_failed_step", _wf(action("a"), action("b"), action("c")),
             lambda run: (run.complete("a"), _fail_then_retry(run))[0]),
    Scenario("workflow_timeout", _wf(action("slow"), timeout="5m"), _workflow_timeout),
    Scenario("cancel", _wf(action("a", timeout="1m")), _cancel),
    Scenario("hybrid_dag", _wf(action("a"), action("b"), action("c", depends_on=["a", "b"]),
                               execution_mode="hybrid"), _hybrid),
    Scenario("parallel_mode", _wf(action("a"), action("b"), action("c"),
                                  execution_mode="parallel"), _hybrid),
    Scenario("migration", _MIGRATE_V1, _migrate, {"items": ["x", "y"]}, (_MIGRATE_V2,)),
]
