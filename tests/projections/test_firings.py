"""Rule firings joined to how their actions ended, whichever side the projector reads first."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from datetime import timedelta

from pydantic import BaseModel

from projections.store import MemoryStore, ViewStore
from projections.views import fold, read_rule_stats
from projections.views.firings import FiringView, firing_prefix, result_prefix
from schemas.commands import ErrorInfo
from schemas.executions import CommandRejected, ExecutionCompleted, ExecutionFailed, SignalBuffered
from schemas.outcomes import ActionResult, RuleMatched
from tests.projections.histories import T0

Folded = Callable[[Iterable[BaseModel]], ViewStore]
TAG = "0123456789abcdef0123"


def completed(execution_id: str, at_s: float, output: object = None) -> ExecutionCompleted:
    return ExecutionCompleted(execution_id=execution_id, seq=9, command_id="c",
                              time=T0 + timedelta(seconds=at_s), output=output)


def failed(execution_id: str, at_s: float, code: str) -> ExecutionFailed:
    return ExecutionFailed(execution_id=execution_id, seq=9, command_id="c",
                           time=T0 + timedelta(seconds=at_s),
                           error=ErrorInfo(code=code, message="no"))


def _refs() -> dict[str, str]:
    # The tag is 20 hex digits: the fixtures' event ids are one hex digit, replacing the last.
    return {e: f"r:{TAG[:-1]}{e}" for e in "abc"}


def events() -> list[BaseModel]:
    r = _refs()
    matches = [
        _match("a", 0, "start_workflow", "call_webhook", "publish_event"),
        _match("b", 1, "start_workflow", "call_webhook"),
        _match("c", 2, "start_workflow", "signal_execution"),
    ]
    ends: list[BaseModel] = [
        completed(f"{r['a']}:0", 4),
        completed(f"{r['a']}:1", 3, {"status": 200, "headers": {}, "body": None}),
        failed(f"{r['b']}:0", 6, "http_422"),
        failed(f"{r['b']}:1", 5, "http_500"),
        completed(f"{r['c']}:0", 4),
        CommandRejected(execution_id="x", seq=1, command_id=f"{r['c']}:1:signal",
                        time=T0 + timedelta(seconds=3), command_type="signal_received",
                        code="unknown_signal", message="not waiting"),
    ]
    return [*matches, *ends]


def _match(event_id: str, at_s: float, *types: str) -> RuleMatched:
    base = _refs()[event_id]
    actions = tuple(ActionResult(index=i, action_type=t, status="queued",
                                 ref=f"{base}:{i}" + (":signal" if t == "signal_execution" else ""))
                    for i, t in enumerate(types))
    return RuleMatched(rule_id="r", rule_version="1.0.0", event_id=event_id, event_type="t",
                       evaluated_at=T0 + timedelta(seconds=at_s), actions=actions,
                       condition_result={"op": "$gt", "result": True})


def _firings(store: ViewStore, prefix: str) -> list[FiringView]:
    return [FiringView.model_validate_json(store.get(firing_prefix("r") + k[len(prefix):]) or b"")
            for k, _ in store.scan(prefix)]


def test_each_action_ends_with_its_execution_and_the_stats_count_them(folded: Folded) -> None:
    store = folded(events())
    stats = read_rule_stats(store, "r")
    assert stats is not None
    assert (stats.fired, stats.firings_succeeded, stats.firings_failed, stats.firings_pending) \
        == (3, 1, 2, 0)
    assert (stats.actions_succeeded, stats.actions_failed, stats.actions_pending) == (4, 3, 0)
    assert stats.action_success_rate == 4 / 7
    assert stats.errors == {"action_failed:start_workflow": 1, "action_failed:call_webhook": 1,
                            "action_failed:signal_execution": 1}
    assert stats.failed == 2 and stats.action_ms.count == 7
    newest_first = _firings(store, firing_prefix("r"))
    assert [f.event_id for f in newest_first] == ["c", "b", "a"]
    a = newest_first[2]
    assert [x.status for x in a.actions] == ["succeeded", "succeeded", "succeeded"]
    assert a.actions[1].http_status == 200 and a.actions[1].duration_ms == 3000
    b = newest_first[1]
    assert b.actions[1].http_status == 500 and b.actions[1].code == "http_500"
    assert a.condition_result == {"op": "$gt", "result": True}
    assert [f.event_id for f in _firings(store, result_prefix("r", "failed"))] == ["c", "b"]
    assert [f.event_id for f in _firings(store, result_prefix("r", "succeeded"))] == ["a"]
    assert list(store.scan(result_prefix("r", "pending"))) == []


def test_any_order_of_outcomes_and_ends_folds_to_the_same_views() -> None:
    everything = events()
    expected = _store(everything)
    for n, order in enumerate(itertools.permutations(range(len(everything)))):
        if n % 997:  # a spread of the 9! orders
            continue
        store = _store([everything[i] for i in order])
        assert dict(store.scan("r")) == dict(expected.scan("r")), order
        assert dict(store.scan("rf")) == dict(expected.scan("rf")), order


def test_a_pending_action_keeps_its_firing_pending_and_redeliveries_count_once() -> None:
    r = _refs()
    first = _match("a", 0, "start_workflow", "call_webhook")
    store = _store([first, first, completed(f"{r['a']}:0", 2), completed(f"{r['a']}:0", 2),
                    SignalBuffered(execution_id="e", seq=2, command_id="other", time=T0,
                                   name="s")])
    stats = read_rule_stats(store, "r")
    assert stats is not None
    assert (stats.fired, stats.firings_pending, stats.actions_pending) == (1, 1, 1)
    assert [f.result for f in _firings(store, result_prefix("r", "pending"))] == ["pending"]


def _store(events: list[BaseModel]) -> ViewStore:
    store = MemoryStore()
    store.write(fold(store, events))
    return store
