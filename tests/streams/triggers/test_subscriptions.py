"""Wait subscriptions (pure): a wait for a correlated event opens one on `hw.triggers`, keyed by
its subject; an event of that subject and type takes it once and becomes one command; an event
that came a moment before the wait is kept for it a while."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from schemas.definitions import WorkflowDefinition
from schemas.executions import StepStarted, TimerScheduled
from schemas.triggers import TriggerEvent
from schemas.waits import (
    WAIT_OPENED,
    InvalidSubscription,
    Subscription,
    is_internal,
    subscription_of,
)
from streams.executions.routing import follow_ups
from streams.triggers.correlation import Subscriptions, received_command
from streams.triggers.early_events import EarlyEvents, WaitTypes
from streams.triggers.rule_state import RuleStateStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _sub(sid: str = "x:e3", subject: str = "inv-1", event_type: str = "payment.received",
         expires: datetime | None = None, execution_id: str = "x") -> Subscription:
    return Subscription(id=sid, execution_id=execution_id, step_id="wait_payment",
                        event_type=event_type, subject=subject, expires=expires)


def _event(subject: str | None = "inv-1", event_type: str = "payment.received",
           eid: str = "p-1") -> dict[str, Any]:
    return {"id": eid, "source": "bank", "type": event_type, "subject": subject}


def test_an_event_wait_opens_a_subscription_keyed_by_its_subject_with_the_timeout() -> None:
    started = StepStarted(execution_id="x", seq=3, time=T0, command_id="c", scope="reminders/1",
                          step_id="wait_payment", attempt=1,
                          waiting_for={"event_type": "payment.*", "subject": "inv-1"})
    timeout = TimerScheduled(execution_id="x", seq=4, time=T0, command_id="c", timer_id="x:w4",
                             fire_at=T0 + timedelta(days=7), purpose="step_timeout",
                             scope="reminders/1", step_id="wait_payment")
    (out,) = follow_ups([started, timeout], "wf", "1.0.0")
    assert (out.role, out.key) == ("triggers", "inv-1")
    assert isinstance(out.value, TriggerEvent) and out.value.type == WAIT_OPENED
    assert out.value.id == "x:e3" and out.value.subject == "inv-1"
    assert subscription_of(out.value.as_dict()) == Subscription(
        id="x:e3", execution_id="x", scope="reminders/1", step_id="wait_payment",
        event_type="payment.*", subject="inv-1", expires=T0 + timedelta(days=7))
    assert follow_ups([started, timeout], "wf", "1.0.0") == [out]  # redelivery: the same id


def test_signal_waits_and_null_correlations_open_nothing() -> None:
    def started(wait: dict[str, Any]) -> StepStarted:
        return StepStarted(execution_id="x", seq=3, time=T0, command_id="c", step_id="w",
                           attempt=1, waiting_for=wait)
    assert follow_ups([started({"signal": "go"}),
                       started({"event_type": "t", "subject": None})], "wf", "1") == []


def test_an_event_takes_the_subscriptions_of_its_subject_and_type_once() -> None:
    table = Subscriptions()
    assert table.open(_sub("a:e1", execution_id="a"), T0)
    assert table.open(_sub("b:e1", execution_id="b", event_type="payment.*"), T0)
    assert table.open(_sub("c:e1", execution_id="c", subject="inv-2"), T0)
    assert table.open(_sub("d:e1", execution_id="d", event_type="refund.issued"), T0)
    assert not table.open(_sub("a:e1", execution_id="a"), T0)  # a redelivered wait record
    taken = table.take(_event(), T0)
    assert [s.execution_id for s in taken] == ["a", "b"]
    assert table.take(_event(eid="p-1-again"), T0) == []  # one-shot
    assert table.take(_event(subject=None), T0) == []
    assert sorted(s.execution_id for s in table) == ["c", "d"]


def test_expired_subscriptions_are_dropped_and_never_taken() -> None:
    table = Subscriptions()
    table.open(_sub("a:e1", expires=T0 + timedelta(minutes=1)), T0)
    table.open(_sub("b:e1", subject="inv-9", expires=T0 + timedelta(minutes=1)), T0)
    assert not table.open(_sub("c:e1", expires=T0), T0 + timedelta(seconds=1))
    assert table.take(_event(), T0 + timedelta(minutes=2)) == []
    assert [s.id for s in table] == ["b:e1"]
    assert [s.id for s in table.expire(T0 + timedelta(minutes=2))] == ["b:e1"]
    assert len(table) == 0


def test_changes_say_what_to_store_and_a_reloaded_table_matches_the_same() -> None:
    table = Subscriptions()
    table.open(_sub("a:e1"), T0)
    table.open(_sub("b:e1", subject="inv-2"), T0)
    table.take(_event(), T0)
    changes = table.changes()
    assert changes == {"a:e1": None, "b:e1": _sub("b:e1", subject="inv-2")}
    assert table.changes() == {}
    stored = [s for s in changes.values() if s is not None]
    assert [s.id for s in Subscriptions(stored).take(_event(subject="inv-2"), T0)] == ["b:e1"]


def test_internal_types_are_never_taken_as_events() -> None:
    table = Subscriptions()
    table.open(_sub(event_type="*"), T0)
    assert is_internal(WAIT_OPENED) and not is_internal("payment.received")
    assert table.take(_event(event_type=WAIT_OPENED), T0) == []
    assert len(table) == 1


def test_the_command_id_derives_from_the_event_and_the_subscription() -> None:
    one = received_command(_sub("a:e1"), _event(), T0)
    assert one == received_command(_sub("a:e1"), _event(), T0 + timedelta(seconds=5)).model_copy(
        update={"time": T0})
    assert one.execution_id == "x" and one.event == _event()
    assert received_command(_sub("a:e7"), _event(), T0).command_id != one.command_id
    assert received_command(_sub("a:e1"), _event(eid="p-2"), T0).command_id != one.command_id


@pytest.mark.parametrize(("data", "field"), [
    ({"execution_id": "x", "event_type": "t"}, "data.step_id"),
    ({"execution_id": "x", "step_id": "s", "event_type": "t", "expires": "soon"}, "data.expires"),
    ({"execution_id": "x", "step_id": "s", "event_type": "t", "extra": 1}, "data.extra"),
    ("not an object", "data"),
])
def test_a_malformed_wait_record_names_the_field_at_fault(data: Any, field: str) -> None:
    with pytest.raises(InvalidSubscription) as caught:
        subscription_of({"id": "x:e1", "type": WAIT_OPENED, "subject": "s", "data": data})
    assert caught.value.field == field


def test_a_wait_record_without_a_subject_is_refused() -> None:
    data = {"execution_id": "x", "step_id": "s", "event_type": "t"}
    with pytest.raises(InvalidSubscription) as caught:
        subscription_of({"id": "x:e1", "type": WAIT_OPENED, "data": data})
    assert caught.value.field == "subject"


_names = st.sampled_from(["s1", "s2", "s3"])


@given(st.lists(st.tuples(st.booleans(), _names, st.sampled_from(["a", "b"])), max_size=40))
def test_every_opened_subscription_is_taken_at_most_once(ops: list[tuple[bool, str, str]]) -> None:
    table, taken, opened = Subscriptions(), [], set()
    for n, (is_open, subject, kind) in enumerate(ops):
        if is_open:
            sub = _sub(f"x:e{n}", subject=subject, event_type=kind)
            table.open(sub, T0)
            opened.add(sub.id)
        else:
            taken += [s.id for s in table.take(_event(subject, kind, f"ev{n}"), T0)]
    assert len(taken) == len(set(taken)) and set(taken) <= opened
    assert len(table) == len(opened) - len(taken) == len(list(table))


def test_an_early_event_is_taken_by_a_wait_opening_within_its_time_to_live_once() -> None:
    early = EarlyEvents(ttl=timedelta(seconds=60))
    early.keep(_event(eid="p-1"), T0, ())
    early.keep(_event(eid="p-2"), T0 + timedelta(seconds=1), ())
    assert early.claim(_sub("x:e1", event_type="refund.*"), T0) is None
    assert early.claim(_sub("x:e1"), T0 + timedelta(seconds=30)) == _event(eid="p-1")
    # The same execution's next wait (a loop's next round) does not get p-1 again ...
    assert early.claim(_sub("x:e5"), T0 + timedelta(seconds=30)) == _event(eid="p-2")
    assert early.claim(_sub("x:e9"), T0 + timedelta(seconds=30)) is None
    # ... another execution may, but not after the time to live.
    assert early.claim(_sub("y:e1", execution_id="y"), T0 + timedelta(seconds=59)) == _event(
        eid="p-1")
    assert early.claim(_sub("z:e1", execution_id="z"), T0 + timedelta(seconds=62)) is None
    assert len(early) == 0


def test_an_event_that_resumed_an_execution_is_not_kept_for_it_again() -> None:
    early = EarlyEvents()
    early.keep(_event(), T0, ["x"])
    early.keep(_event(), T0 + timedelta(seconds=5), ["y"])  # redelivered: keeps its first time
    assert early.claim(_sub("x:e4"), T0) is None
    assert early.claim(_sub("y:e4", execution_id="y"), T0) is None
    changes = early.changes()
    assert [c.delivered for c in changes.values() if c is not None] == [frozenset({"x", "y"})]
    reloaded = EarlyEvents([c for c in changes.values() if c is not None])
    assert reloaded.claim(_sub("z:e1", execution_id="z"), T0 + timedelta(seconds=1)) == _event()


def test_wait_types_are_found_however_deeply_nested() -> None:
    flow = WorkflowDefinition.model_validate({"id": "w", "name": "w", "steps": [
        {"id": "l", "type": "loop", "while": "true", "max_iterations": 2, "steps": [
            {"id": "p", "type": "parallel", "branches": [{"name": "n", "steps": [
                {"id": "a", "type": "wait", "event": {"type": "pay.*", "correlation": "1"}}]}]},
            {"id": "b", "type": "wait", "event": {"type": "ship.done", "correlation": "1"}}]},
        {"id": "c", "type": "wait", "signal": "go"}]})
    wanted = WaitTypes([flow])
    assert "pay.received" in wanted and "ship.done" in wanted
    assert "ship.started" not in wanted and None not in wanted and "go" not in wanted


def test_the_store_gives_back_what_was_written_per_partition(tmp_path: Path) -> None:
    store = RuleStateStore(tmp_path)
    sub = _sub("a:e1", expires=T0 + timedelta(hours=1))
    kept = EarlyEvents()
    kept.keep(_event(), T0, ["x"])
    store.write_waits(3, {"a:e1": sub, "gone:e1": None})
    store.write_early(3, kept.changes())
    store.write(3, {}, 42)
    store.forget(3)  # pattern state and checkpoint only: waits replay from their own start
    assert list(store.waits(3)) == [sub] and list(store.waits(4)) == []
    (early,) = store.early(3)
    assert early.event == _event() and early.delivered == {"x"} and early.at == T0
    store.write_waits(3, {"a:e1": None})
    assert list(store.waits(3)) == []
    store.close()
