"""The executions view: what lists and detail pages show for a history."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta

from pydantic import BaseModel

from projections.store import ViewStore
from projections.views import ExecutionFilter, get_execution, list_executions
from schemas.commands import GrantSlot
from tests.projections.histories import T0, Execution
from tests.streams.machine.driver import Run, action, workflow
from tests.streams.machine.test_migration import version

Folded = Callable[[Iterable[BaseModel]], ViewStore]


def test_detail_has_timeline_variables_attempts_and_errors(folded: Folded) -> None:
    run = (Execution("e1").started(region="eu").step_retried("a", code="flaky")
           .variables(total=3).step_failed("b", code="http_500").failed("b", code="http_500"))
    view = get_execution(folded(run.events), "e1")
    assert view is not None
    assert [e["seq"] for e in view.timeline] == list(range(1, len(run.events) + 1))
    assert view.timeline[0]["type"] == "execution_started"
    assert view.detail.variables == {"region": "eu", "total": 3}
    a, b = view.detail.steps["a"], view.detail.steps["b"]
    assert (a.status, [t.outcome for t in a.attempts]) == ("completed", ["failed", "completed"])
    assert [e.code for e in a.errors] == ["flaky"]
    assert (b.status, [e.code for e in b.errors]) == ("failed", ["http_500"])
    s = view.summary
    assert (s.status, s.failed_step, s.error and s.error.code) == ("failed", "b", "http_500")
    assert s.duration_ms == (run.events[-1].time - run.events[0].time).total_seconds() * 1000


def test_resume_reopens_a_failed_execution(folded: Folded) -> None:
    run = Execution("e1").started().step_failed("a").failed("a").resumed().step_ok("a").completed()
    view = get_execution(folded(run.events), "e1")
    assert view is not None
    assert (view.summary.status, view.summary.error) == ("completed", None)
    assert view.detail.steps["a"].status == "completed"
    assert [t.outcome for t in view.detail.steps["a"].attempts] == ["failed", "completed"]


def test_a_redelivered_event_changes_nothing(folded: Folded) -> None:
    run = Execution("e1").started().step_ok("a")
    once = folded(run.events)
    twice = folded([*run.events, run.events[1], run.events[0], *run.events])
    assert dict(once.scan("")) == dict(twice.scan(""))


def test_an_unknown_execution_has_no_view(folded: Folded) -> None:
    assert get_execution(folded([]), "nope") is None


def _histories() -> list[BaseModel]:
    events: list[BaseModel] = []
    for i in range(6):
        run = Execution(f"e{i}", workflow_id="wf-a" if i % 2 else "wf-b",
                        version="2.0.0" if i >= 4 else "1.0.0",
                        trigger_type="webhook" if i == 3 else "manual",
                        start=T0 + timedelta(minutes=i)).started()
        if i != 5:
            run.step_ok("a").completed() if i % 3 else run.failed()
        events += run.events
    return events


def test_lists_are_newest_first_and_filter_on_every_field(folded: Folded) -> None:
    store = folded(_histories())

    def ids(**where: object) -> list[str]:
        page = list_executions(store, ExecutionFilter.model_validate(where))
        return [s.execution_id for s in page.items]

    assert ids() == ["e5", "e4", "e3", "e2", "e1", "e0"]
    assert ids(workflow_id="wf-a") == ["e5", "e3", "e1"]
    assert ids(workflow_version="2.0.0") == ["e5", "e4"]
    assert ids(status="failed") == ["e3", "e0"]
    assert ids(status="running") == ["e5"]
    assert ids(trigger_type="webhook") == ["e3"]
    assert ids(started_after=T0 + timedelta(minutes=2),
               started_before=T0 + timedelta(minutes=4)) == ["e3", "e2"]
    assert ids(workflow_id="wf-b", status="completed") == ["e4", "e2"]


def test_pages_cover_every_match_exactly_once(folded: Folded) -> None:
    store = folded(_histories())
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        page = list_executions(store, ExecutionFilter(workflow_id="wf-b"), limit=2, cursor=cursor)
        seen += [s.execution_id for s in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == ["e4", "e2", "e0"]


def test_a_real_engine_history_folds_into_the_view(folded: Folded) -> None:
    run = Run(workflow(action("a", retry={"max_attempts": 2}), action("b")))
    run.start()
    run.fail("a")
    run.fire("retry")
    run.complete("a", output={"x": 1})
    run.complete("b")
    view = get_execution(folded(run.events), run.execution_id)
    assert view is not None
    assert view.summary.status == run.status == "completed"
    assert view.summary.workflow_id == "wf"
    assert [t.outcome for t in view.detail.steps["a"].attempts] == ["failed", "completed"]
    assert view.detail.steps["a"].output == {"x": 1}
    assert len(view.timeline) == len(run.events)


def _view_status(run: Run, folded: Folded) -> str:
    view = get_execution(folded(run.events), run.execution_id)
    assert view is not None
    return view.summary.status


def test_waiting_on_a_signal_a_delay_or_a_retry_backoff_is_waiting(folded: Folded) -> None:
    run = Run(workflow({"id": "gate", "type": "wait", "signal": "approve"},
                       {"id": "pause", "type": "wait", "duration": 30},
                       action("a", retry={"max_attempts": 2}), action("b")))
    run.start()
    assert _view_status(run, folded) == run.status == "waiting"  # on the signal
    run.signal("approve")
    assert _view_status(run, folded) == run.status == "waiting"  # on the delay
    run.fire("wait")
    assert _view_status(run, folded) == run.status == "running"  # task a in flight
    run.fail("a")
    assert _view_status(run, folded) == run.status == "waiting"  # on the retry backoff
    run.fire("retry")
    assert _view_status(run, folded) == "running"
    run.complete("a")
    run.complete("b")
    assert _view_status(run, folded) == "completed"
    view = get_execution(folded(run.events), run.execution_id)
    assert view is not None and view.detail.in_flight == {} and view.detail.waiting_on == {}


def test_what_a_waiting_execution_waits_for_is_in_its_detail(folded: Folded) -> None:
    run = Run(workflow({"id": "gate", "type": "wait", "signal": "approve"}))
    run.start()
    view = get_execution(folded(run.events), run.execution_id)
    assert view is not None
    assert view.detail.waiting_on == {"gate": "signal approve"}
    store = folded(run.events)
    assert [s.execution_id for s in list_executions(
        store, ExecutionFilter(status="waiting")).items] == [run.execution_id]
    assert list_executions(store, ExecutionFilter(status="running")).items == []


def test_a_running_execution_with_a_task_in_flight_is_not_waiting(folded: Folded) -> None:
    run = Run(workflow(action("a")))
    run.start()
    assert _view_status(run, folded) == run.status == "running"


def test_a_status_change_moves_the_execution_in_the_status_indexes(folded: Folded) -> None:
    run = Execution("e1", workflow_id="wf/a").started().step_failed("a").failed("a")
    failed = folded(run.events)
    assert [k for k, _ in failed.scan("xis/")] == [f"xis/failed/{_tail(run)}"]
    run.resumed().step_ok("a").completed()
    done = folded(run.events)
    assert [k for k, _ in done.scan("xis/")] == [f"xis/completed/{_tail(run)}"]
    assert [k for k, _ in done.scan("xiws/")] == [f"xiws/wf%2Fa/completed/{_tail(run)}"]
    assert [k for k, _ in done.scan("xiw/")] == [f"xiw/wf%2Fa/{_tail(run)}"]


def _tail(run: Execution) -> str:
    return f"{run.start.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}/{run.execution_id}"


def test_a_workflow_id_with_a_slash_does_not_list_under_another(folded: Folded) -> None:
    store = folded([*Execution("e1", workflow_id="a").started().events,
                    *Execution("e2", workflow_id="a/b").started().events])
    assert [s.execution_id for s in list_executions(
        store, ExecutionFilter(workflow_id="a")).items] == ["e1"]


def test_the_timeline_comes_in_pages_and_the_detail_stays_complete(folded: Folded) -> None:
    run = Execution("e1").started()
    for n in range(5):
        run.step_ok(f"s{n}")
    store = folded(run.events)
    seen: list[int] = []
    after = 0
    for _ in range(20):
        view = get_execution(store, "e1", timeline_after=after, timeline_limit=4)
        assert view is not None and len(view.detail.steps) == 5
        seen += [e["seq"] for e in view.timeline]
        if view.timeline_next is None:
            break
        after = view.timeline_next
    assert seen == list(range(1, len(run.events) + 1))


def test_a_queued_execution_lists_as_queued_under_its_workflow_then_runs(folded: Folded) -> None:
    run = Run(workflow(action("a"), concurrency_limit=1))
    run.start({"n": 1})
    queued = get_execution(folded(run.events), run.execution_id)
    assert queued is not None
    assert (queued.summary.status, queued.summary.workflow_id) == ("queued", "wf")
    assert queued.detail.input == {"n": 1}
    assert [s.execution_id for s in list_executions(folded(run.events), ExecutionFilter(
        workflow_id="wf", status="queued")).items] == [run.execution_id]
    run.send(GrantSlot, gate_id="gate:wf", ticket=f"{run.execution_id}:slot1")
    started = get_execution(folded(run.events), run.execution_id)
    assert started is not None and started.summary.status == "running"


def test_a_gate_is_not_an_execution(folded: Folded) -> None:
    gate = Run(workflow(action("a")), execution_id="gate:wf")
    gate.start()  # events of the id `gate:wf`, whatever they are, never show as an execution
    store = folded(gate.events)
    assert get_execution(store, "gate:wf") is None
    assert list_executions(store, ExecutionFilter()).items == []


def test_a_migration_moves_the_version_and_renames_steps_in_flight_and_waits(
        folded: Folded) -> None:
    body = [action("ship", "http"), {"id": "pause", "type": "wait", "duration": 60}]
    loop = {"id": "each", "type": "loop", "for_each": "input.items", "parallelism": 2}
    run = Run(version("1.0.0", {**loop, "steps": body}))
    run.add_version(version("2.0.0", {**loop, "id": "per_item", "steps": [
        action("send", "http"), {"id": "pause", "type": "wait", "duration": 5}]}))
    run.start({"items": ["x", "y"]})
    run.complete("each/0/ship", "sent-x")
    run.migrate("2.0.0", {"each": "per_item", "ship": "send"})

    view = get_execution(folded(run.events), "exec-1")
    assert view is not None
    assert view.summary.workflow_version == "2.0.0" and view.summary.status == "running"
    steps = view.detail.steps
    assert set(steps) == {"per_item", "per_item/0/send", "per_item/0/pause", "per_item/1/send"}
    assert steps["per_item/0/send"].output == "sent-x"
    assert steps["per_item/0/send"].path == "per_item/0/send"
    assert view.detail.in_flight == {"per_item/1/send": run.task("per_item/1/send")}
    assert list(view.detail.waiting_on) == [f"timer:{run.timer('wait', 'per_item/0/pause')}"]
