"""The timer wheel fires each open timer of the states it holds once, at or after its time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from streams.executions.timers import TimerWheel, timer_command
from streams.machine import State, TimerState

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def state(execution_id: str, timers: dict[str, int]) -> State:
    return State(execution_id, "wf", "1.0.0", "running", {}, {}, T0,
                 timers={t: TimerState(T0 + timedelta(seconds=s), "wait") for t, s in timers.items()})


def test_due_timers_fire_once_in_time_order_and_cancelled_ones_never() -> None:
    wheel = TimerWheel()
    wheel.sync(state("a", {"a:x1": 5, "a:x2": 1}))
    wheel.sync(state("b", {"b:x1": 3}))
    wheel.sync(state("b", {}))  # b's timer was cancelled
    assert wheel.due(T0) == []
    assert wheel.due(T0 + timedelta(seconds=10)) == [("a", "a:x2"), ("a", "a:x1")]
    assert wheel.due(T0 + timedelta(seconds=20)) == []


@settings(max_examples=50)
@given(st.lists(st.dictionaries(st.sampled_from(["t1", "t2", "t3"]), st.integers(0, 100)),
                min_size=1, max_size=6))
def test_only_the_latest_timers_of_an_execution_fire(versions: list[dict[str, int]]) -> None:
    wheel = TimerWheel()
    for timers in versions:
        wheel.sync(state("e", timers))
    fired = wheel.due(T0 + timedelta(seconds=1000))
    assert sorted(t for _, t in fired) == sorted(versions[-1])
    assert len(wheel) == 0


def test_a_timer_fires_with_the_same_command_id_every_time() -> None:
    first = timer_command("e", "e:x4", T0)
    again = timer_command("e", "e:x4", T0 + timedelta(minutes=1))
    assert first.command_id == again.command_id and first.timer_id == "e:x4"
