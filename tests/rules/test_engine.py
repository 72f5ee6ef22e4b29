"""The engine: priority order, exclusive groups, limits, modes, rendering, lifecycle."""

from __future__ import annotations

from rules.engine import RuleEngine
from rules.limits import replay
from rules.outcomes import to_outcomes
from tests.rules.conftest import T0, EventFactory, RuleFactory, at


def fired(engine: RuleEngine, event: dict[str, object]) -> list[str]:
    return [f.rule_id for f in engine.evaluate(event, T0).fired]


def test_all_matching_rules_fire_higher_priority_first_then_by_id(
    rule_factory: RuleFactory, event_factory: EventFactory
) -> None:
    engine = RuleEngine()
    engine.put(rule_factory("b-low", {"$gt": {"data.amount": 10}}, priority=1))
    engine.put(rule_factory("a-low", {"$gt": {"data.amount": 10}}, priority=1))
    engine.put(rule_factory("high", {"data.country": "FR"}, priority=5))
    engine.put(rule_factory("miss", {"data.country": "DE"}, priority=9))
    assert fired(engine, event_factory(data={"amount": 50, "country": "FR"})) == [
        "high",
        "a-low",
        "b-low",
    ]


def test_only_the_first_rule_of_an_exclusive_group_fires(
    rule_factory: RuleFactory, event_factory: EventFactory
) -> None:
    engine = RuleEngine()
    engine.put(rule_factory("vip", {"data.tier": "gold"}, priority=10, exclusive_group="discount"))
    engine.put(rule_factory("any", None, priority=1, exclusive_group="discount"))
    engine.put(rule_factory("audit", None))
    evaluation = engine.evaluate(event_factory(data={"tier": "gold"}), T0)
    assert [f.rule_id for f in evaluation.fired] == ["vip", "audit"]
    assert [(s.rule_id, s.reason) for s in evaluation.skipped] == [("any", "exclusive_group")]
    assert fired(engine, event_factory(data={"tier": "silver"})) == ["any", "audit"]


def test_a_rule_blocked_by_a_limit_leaves_its_group_to_the_next(
    rule_factory: RuleFactory, event_factory: EventFactory
) -> None:
    engine = RuleEngine()
    engine.put(rule_factory("first", None, priority=2, exclusive_group="g", max_executions=1))
    engine.put(rule_factory("second", None, priority=1, exclusive_group="g"))
    assert fired(engine, event_factory()) == ["first"]
    assert fired(engine, event_factory()) == ["second"]


def test_actions_are_rendered_from_the_event(
    rule_factory: RuleFactory, event_factory: EventFactory
) -> None:
    engine = RuleEngine()
    engine.put(
        rule_factory(
            "r",
            None,
            actions=[
                {"type": "start_workflow", "workflow_id": "wf"},
                {
                    "type": "publish_event",
                    "event_type": "alert",
                    "data": {"who": "${ event.data.user }", "n": "${ size(event.data.items) }"},
                },
                {
                    "type": "signal_execution",
                    "execution_id": "event.subject",
                    "signal": "go",
                    "payload": {"at": "${ now }"},
                },
            ],
        )
    )
    event = event_factory(data={"user": "ann", "items": [1, 2]}, subject="exec-1")
    (firing,) = engine.evaluate(event, T0).fired
    start, publish, signal = firing.actions
    assert start.params["input"] == {"user": "ann", "items": [1, 2]}
    assert publish.params["data"] == {"who": "ann", "n": 2}
    assert signal.params["execution_id"] == "exec-1"
    assert signal.params["payload"]["at"].startswith("2026-01-01T00:00:00")


def test_an_action_that_fails_to_render_fails_only_its_rule(
    rule_factory: RuleFactory, event_factory: EventFactory
) -> None:
    engine = RuleEngine()
    engine.put(
        rule_factory(
            "broken",
            None,
            actions=[
                {
                    "type": "publish_event",
                    "event_type": "x",
                    "data": "${ event.data.missing.deeper }",
                }
            ],
        )
    )
    engine.put(rule_factory("fine", None))
    evaluation = engine.evaluate(event_factory(data={}), T0)
    assert [f.rule_id for f in evaluation.fired] == ["fine"]
    assert [f.rule_id for f in evaluation.failed] == ["broken"]


def test_max_executions_stops_a_rule(
    rule_factory: RuleFactory, event_factory: EventFactory
) -> None:
    engine = RuleEngine()
    engine.put(rule_factory("twice", None, max_executions=2))
    results = [fired(engine, event_factory()) for _ in range(3)]
    assert results == [["twice"], ["twice"], []]
    assert engine.evaluate(event_factory(), T0).skipped[0].reason == "max_executions"


def test_concurrency_limit_skips_immediate_and_queues_queued(
    rule_factory: RuleFactory, event_factory: EventFactory
) -> None:
    engine = RuleEngine()
    engine.put(rule_factory("now", None, concurrency_limit=1))
    engine.put(rule_factory("later", None, concurrency_limit=1, execution_mode="queued"))
    first = engine.evaluate(event_factory(data=1), T0)
    assert [f.rule_id for f in first.fired] == ["later", "now"]
    second = engine.evaluate(event_factory(data=2), T0)
    assert second.fired == ()
    assert [(s.rule_id, s.reason) for s in second.skipped] == [("now", "concurrency_limit")]
    assert [(d.rule_id, d.mode) for d in second.deferred] == [("later", "queued")]
    released = engine.complete("later", at(1))
    engine.apply(released)
    assert [f.events[0]["data"] for f in released.fired] == [2]
    assert engine.counters["later"].running == 1 and engine.counters["later"].queue == ()


def test_batch_fires_when_full_or_when_the_window_closes(
    rule_factory: RuleFactory, event_factory: EventFactory
) -> None:
    engine = RuleEngine()
    engine.put(
        rule_factory(
            "b",
            None,
            execution_mode="batch",
            batch={"size": 3, "window": "10s"},
            actions=[
                {
                    "type": "publish_event",
                    "event_type": "digest",
                    "data": "${ events.map(e, e.data) }",
                }
            ],
        )
    )
    one = engine.evaluate(event_factory(data=1), T0)
    (timer,) = one.timers
    assert timer.due == at(10) and one.fired == ()
    engine.evaluate(event_factory(data=2), at(1))
    full = engine.evaluate(event_factory(data=3), at(2))
    assert full.fired[0].actions[0].params["data"] == [1, 2, 3]
    assert engine.on_timer(timer, at(10)).fired == ()  # that batch already went
    (late_timer,) = engine.evaluate(event_factory(data=4), at(11)).timers
    assert late_timer.due == at(21)
    window = engine.on_timer(late_timer, at(21))
    assert window.fired[0].actions[0].params["data"] == [4]
    engine.apply(window)
    assert engine.counters["b"].batch == ()


def test_limit_state_is_a_replay_of_the_changes(
    rule_factory: RuleFactory, event_factory: EventFactory
) -> None:
    engine = RuleEngine()
    engine.put(
        rule_factory("q", None, concurrency_limit=2, execution_mode="queued", max_executions=9)
    )
    engine.put(rule_factory("b", None, execution_mode="batch", batch={"size": 2, "window": 5}))
    log = []
    for i in range(7):
        log.append(engine.evaluate(event_factory(data=i), at(i)))
        if i % 3 == 0:
            log.append(engine.complete("q", at(i)))
            engine.apply(log[-1])
    assert replay(c for e in log for c in e.changes) == engine.counters


def test_paused_and_inactive_rules_do_not_match_and_resume_without_recompiling(
    rule_factory: RuleFactory, event_factory: EventFactory
) -> None:
    engine = RuleEngine()
    compiled = engine.put(rule_factory("r", None))
    engine.put(rule_factory("draft", None, status="draft"))
    engine.put(rule_factory("off", None, enabled=False))
    engine.pause("r")
    assert fired(engine, event_factory()) == []
    engine.resume("r")
    assert fired(engine, event_factory()) == ["r"]
    assert engine.rule("r") is compiled
    engine.remove("r")
    assert fired(engine, event_factory()) == [] and len(engine) == 0


def test_changing_a_rule_takes_effect_at_once(
    rule_factory: RuleFactory, event_factory: EventFactory
) -> None:
    engine = RuleEngine()
    engine.put(rule_factory("r", {"data.a": 1}))
    engine.put(rule_factory("r", {"data.a": 2}))
    assert fired(engine, event_factory(data={"a": 1})) == []
    assert fired(engine, event_factory(data={"a": 2})) == ["r"]


def test_trigger_patterns_filter_by_type_and_source(
    rule_factory: RuleFactory, event_factory: EventFactory
) -> None:
    engine = RuleEngine()
    engine.put(rule_factory("orders", None, event_type="order.*"))
    engine.put(rule_factory("shop-paid", None, event_type="order.paid", source="sho?"))
    assert fired(engine, event_factory("order.paid")) == ["orders", "shop-paid"]
    assert fired(engine, event_factory("order.created")) == ["orders"]
    assert fired(engine, event_factory("user.created")) == []


def test_explain_lists_candidates_that_did_not_match_and_why(
    rule_factory: RuleFactory, event_factory: EventFactory
) -> None:
    engine = RuleEngine()
    engine.put(rule_factory("big", {"$gt": {"data.amount": 100}}))
    engine.put(rule_factory("other-type", None, event_type="user.*"))
    evaluation = engine.evaluate(event_factory(data={"amount": 5}), T0, explain=True)
    assert [(s.rule_id, s.reason, s.detail) for s in evaluation.skipped] == [
        ("big", "condition_false", "$.data.amount: 5 is not > 100")
    ]


def test_outcomes_mirror_the_evaluation(
    rule_factory: RuleFactory, event_factory: EventFactory
) -> None:
    engine = RuleEngine()
    engine.put(rule_factory("yes", None, version="1.2.0"))
    engine.put(rule_factory("no", {"data.a": 1}))
    event = event_factory(data={"a": 2})
    outcomes = to_outcomes(engine.evaluate(event, T0, explain=True), event, T0, 12)
    assert [(o.type, o.rule_id) for o in outcomes] == [
        ("rule_matched", "yes"),
        ("rule_skipped", "no"),
    ]
    assert outcomes[0].rule_version == "1.2.0" and outcomes[0].evaluation_us == 12
    assert outcomes[0].actions[0].action_type == "start_workflow"


def test_decide_writes_nothing_and_evaluate_is_decide_then_apply(
    rule_factory: RuleFactory, event_factory: EventFactory
) -> None:
    engine = RuleEngine()
    engine.put(rule_factory("once", None, max_executions=1))
    event = event_factory()
    first, again = engine.decide(event, T0), engine.decide(event, T0)
    assert first == again and engine.counters == {}
    assert engine.evaluate(event, T0) == first
    assert engine.decide(event, T0).fired == ()
