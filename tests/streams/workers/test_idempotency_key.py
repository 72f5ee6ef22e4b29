"""The `Idempotency-Key` a task carries is one per step instance: the same on every retry
attempt of a step (the far side can recognise the retried request, the point of the key),
different between steps, loop iterations and executions (issue: a new key on every retry)."""

from __future__ import annotations

from schemas.executions import TaskRequested as RequestedEvent
from schemas.tasks import TaskRequested
from tests.streams.machine.driver import Run, action, workflow

RETRY = {"max_attempts": 3, "initial_interval": "1s"}


def _keys(run: Run) -> list[tuple[str, int, str]]:
    """(step path, attempt, key) of every task requested so far, as workers receive it."""
    out = []
    for event in run.events:
        if isinstance(event, RequestedEvent):
            task = TaskRequested.from_execution_event(event, workflow_id="wf")
            path = f"{event.scope}/{event.step_id}" if event.scope else event.step_id
            out.append((path, task.attempt, task.idempotency_key))
    return out


def _run(execution_id: str) -> Run:
    definition = workflow(action("a", "http", retry=RETRY), action("b", "http", retry=RETRY))
    run = Run(definition, execution_id)
    run.start()
    for _ in range(2):  # two failed attempts of a, then it succeeds
        run.fail("a")
        run.fire("retry")
    run.complete("a")
    run.fail("b")
    run.fire("retry")
    run.complete("b")
    return run


def test_retries_keep_the_key_and_steps_and_executions_do_not() -> None:
    first = _keys(_run("exec-1"))
    assert [(path, attempt) for path, attempt, _ in first] == [
        ("a", 1), ("a", 2), ("a", 3), ("b", 1), ("b", 2)]
    keys_a = {key for path, _, key in first if path == "a"}
    keys_b = {key for path, _, key in first if path == "b"}
    assert len(keys_a) == 1 and len(keys_b) == 1 and keys_a != keys_b
    other = _keys(_run("exec-2"))
    assert not {key for *_, key in first} & {key for *_, key in other}


def test_loop_iterations_have_keys_of_their_own() -> None:
    definition = workflow({"id": "each", "type": "loop", "for_each": "input.items",
                           "steps": [action("call", "http", retry=RETRY)]})
    run = Run(definition)
    run.start({"items": [1, 2]})
    for _ in range(2):  # one iteration after the other: a retry, then success
        (path,) = run.live.tasks.values()
        run.fail(path)
        run.fire("retry", path)
        run.complete(path)
    keys = _keys(run)
    by_path: dict[str, set[str]] = {}
    for path, _, key in keys:
        by_path.setdefault(path, set()).add(key)
    assert len(by_path) == 2 and all(len(found) == 1 for found in by_path.values())
    assert len(set().union(*by_path.values())) == 2
