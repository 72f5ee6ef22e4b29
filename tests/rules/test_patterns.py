"""Stateful patterns keyed by a correlation field; state is a replay of its changes."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules.engine import Evaluation, RuleEngine
from rules.patterns import replay
from tests.rules.conftest import EventFactory, RuleFactory, at


def sequence_rule(rule_factory: RuleFactory) -> Any:
    return rule_factory(
        "seq",
        None,
        type="conditional",
        pattern={
            "kind": "sequence",
            "steps": [{"type": "cart.added"}, {"type": "order.paid"}],
            "within": "1m",
            "correlate_by": "subject",
        },
    )


def test_sequence_fires_when_b_follows_a_within_the_window_for_the_same_key(
    rule_factory: RuleFactory, event_factory: EventFactory
) -> None:
    engine = RuleEngine()
    engine.put(sequence_rule(rule_factory))
    engine.evaluate(event_factory("cart.added", subject="u1"), at(0))
    assert engine.evaluate(event_factory("order.paid", subject="u2"), at(5)).fired == ()
    done = engine.evaluate(event_factory("order.paid", subject="u1"), at(30))
    assert [f.rule_id for f in done.fired] == ["seq"]
    assert [e["type"] for e in done.fired[0].events] == ["cart.added", "order.paid"]
    assert engine.pattern_state == {}


def test_sequence_does_not_fire_after_the_window(
    rule_factory: RuleFactory, event_factory: EventFactory
) -> None:
    engine = RuleEngine()
    engine.put(sequence_rule(rule_factory))
    engine.evaluate(event_factory("cart.added", subject="u1"), at(0))
    late = engine.evaluate(event_factory("order.paid", subject="u1"), at(61))
    assert late.fired == ()
    assert late.skipped[0].reason == "pattern_pending"


def test_threshold_fires_at_the_nth_event_in_the_window(
    rule_factory: RuleFactory, event_factory: EventFactory
) -> None:
    engine = RuleEngine()
    engine.put(
        rule_factory(
            "3-fails",
            {"type": "login.failed"},
            type="conditional",
            pattern={"kind": "threshold", "count": 3, "within": "10s", "correlate_by": "data.user"},
        )
    )
    fail = lambda user: event_factory("login.failed", data={"user": user})  # noqa: E731
    times = [0, 4, 11, 12, 13]  # the first expires before the third comes
    results = [len(engine.evaluate(fail("ann"), at(t)).fired) for t in times]
    assert results == [0, 0, 0, 1, 0]
    assert engine.evaluate(fail("bob"), at(14)).fired == ()


def test_absence_fires_on_the_timer_unless_b_came_first(
    rule_factory: RuleFactory, event_factory: EventFactory
) -> None:
    engine = RuleEngine()
    engine.put(
        rule_factory(
            "unpaid",
            None,
            type="conditional",
            pattern={
                "kind": "absence",
                "first": {"type": "order.created"},
                "then": {"type": "order.paid"},
                "timeout": "15m",
                "correlate_by": "subject",
            },
        )
    )
    (timer_a,) = engine.evaluate(event_factory("order.created", subject="A"), at(0)).timers
    (timer_b,) = engine.evaluate(event_factory("order.created", subject="B"), at(0)).timers
    engine.evaluate(event_factory("order.paid", subject="A"), at(60))
    assert timer_a.due == at(900)
    assert engine.on_timer(timer_a, at(900)).fired == ()
    fired_b = engine.on_timer(timer_b, at(900))
    assert [f.events[0]["subject"] for f in fired_b.fired] == ["B"]
    engine.apply(fired_b)
    assert engine.pattern_state == {}


def test_events_without_the_correlation_field_wait_with_a_reason(
    rule_factory: RuleFactory, event_factory: EventFactory
) -> None:
    engine = RuleEngine()
    engine.put(sequence_rule(rule_factory))
    evaluation = engine.evaluate(event_factory("cart.added"), at(0))
    assert evaluation.skipped[0].detail == "no correlation key"


steps = st.lists(
    st.tuples(
        st.sampled_from(["cart.added", "order.paid", "order.created", "login.failed"]),
        st.sampled_from(["u1", "u2"]),
        st.integers(0, 40),
    ),
    max_size=30,
)


# The factories hold no state between examples, so sharing them is safe.
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(script=steps)
def test_pattern_state_is_rebuilt_exactly_by_replaying_its_changes(
    rule_factory: RuleFactory, event_factory: EventFactory, script: list[tuple[str, str, int]]
) -> None:
    engine = RuleEngine()
    engine.put(sequence_rule(rule_factory))
    engine.put(
        rule_factory(
            "thr",
            None,
            type="conditional",
            pattern={"kind": "threshold", "count": 3, "within": 20, "correlate_by": "subject"},
        )
    )
    engine.put(
        rule_factory(
            "abs",
            None,
            type="conditional",
            pattern={
                "kind": "absence",
                "first": {"type": "order.created"},
                "then": {"type": "order.paid"},
                "timeout": 15,
                "correlate_by": "subject",
            },
        )
    )
    log: list[Evaluation] = []
    clock = 0
    for kind, subject, gap in script:
        clock += gap
        evaluation = engine.evaluate(event_factory(kind, subject=subject), at(clock))
        log.append(evaluation)
        for timer in evaluation.timers:
            if timer.rule_id == "abs" and gap % 2:  # deliver some timers, in time order
                log.append(engine.on_timer(timer, timer.due))
                engine.apply(log[-1])
    assert replay(c for e in log for c in e.pattern_changes) == engine.pattern_state
