"""Explaining a condition as a tree, and trying a rule on an event (rules.explain, rules.trial)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.conditions import compile_condition
from rules.explain import ConditionNode, compile_explainer
from rules.trial import Observed, try_rule
from schemas.definitions import RuleDefinition
from schemas.validation import load_definition
from tests.rules.conftest import T0, RuleFactory
from tests.rules.test_differential import Generator

EXAMPLES = Path(__file__).parents[2] / "examples" / "rules"


def example(name: str) -> tuple[RuleDefinition, dict[str, Any]]:
    rule = load_definition(EXAMPLES / f"{name}.yaml")
    assert isinstance(rule, RuleDefinition)
    event = json.loads((EXAMPLES.parent / "events" / f"{name}.json").read_text())
    return rule, event


def shape(node: ConditionNode | None) -> Any:
    """(op, path, expected, actual, result) per node, children nested: what a user reads."""
    if node is None:
        return None
    here = (node.op, node.path, node.expected, node.actual, node.result)
    return (here, [shape(c) for c in node.children]) if node.children else here


# Each example rule with its sample event (examples/events/): the tree a user sees.
EXPECTED_TREES: dict[str, Any] = {
    "big-order": (("$and", None, None, None, True), [
        ("$gt", "data.total", 5000, 7200, True),
        ("$eq", "data.customer.tier", "standard", "standard", True)]),
    "cart-abandoned": (("absence", "subject",
                        {"kind": "absence", "timeout": 3600.0, "correlate_by": "subject"},
                        "cart-9", True), [
        (("$first", None, 1, None, True), [("$eq", "type", "cart.updated", "cart.updated", True)]),
        (("$then", None, 2, None, False),
         [("$eq", "type", "checkout.completed", "cart.updated", False)])]),
    "failed-logins": (("threshold", "data.user",
                       {"kind": "threshold", "count": 5, "within": 600.0,
                        "correlate_by": "data.user"}, "ada", True), [
        ("$neq", "data.user", "", "ada", True)]),
    "hourly-heartbeat": None,
    "incident-signal": (("$iany", "data.tags", {"$mt": {"$i": "prod-.*"}}, ["eu", "prod-db"],
                         True), [
        (("$item", "data.tags[0]", None, "eu", False), [("$mt", "$i", "prod-.*", "eu", False)]),
        (("$item", "data.tags[1]", None, "prod-db", True),
         [("$mt", "$i", "prod-.*", "prod-db", True)])]),
    "metrics-batch": ("$expr", None, "has(event.data.value) && event.data.value >= 0.0", True,
                      True),
    "priority-support": (("$or", None, None, None, True), [
        ("$eq", "data.plan", "enterprise", "team", False),
        (("$and", None, None, None, True), [
            ("$imt", "data.subject", ".*(outage|down).*", "Checkout is DOWN for EU", True),
            ("$lt", "data.age_minutes", 30, 4, True)])]),
    "signup-then-purchase": (("sequence", "data.account",
                              {"kind": "sequence", "within": 86400.0,
                               "correlate_by": "data.account"}, "acc-3", True), [
        (("$step", None, 1, None, True), [("$eq", "type", "account.created", "account.created",
                                            True)]),
        (("$step", None, 2, None, False), [(("$and", None, None, None, False), [
            ("$eq", "type", "order.placed", "account.created", False),
            ("$gte", "data.total", 20, None, False)])])]),
    "vip-order": ("$ex", "data.order_id", 1, True, True),
}

# What holds each example back from firing on its sample event, from a fresh state.
EXPECTED_HOLDS: dict[str, str | None] = {
    "big-order": None, "cart-abandoned": "pattern", "failed-logins": "pattern",
    "hourly-heartbeat": None, "incident-signal": None, "metrics-batch": "batch",
    "priority-support": None, "signup-then-purchase": "pattern", "vip-order": None,
}


def test_every_example_rule_has_a_sample_event_and_an_expected_tree() -> None:
    names = {p.stem for p in EXAMPLES.glob("*.yaml")}
    assert names == set(EXPECTED_TREES) == {p.stem for p in (EXAMPLES.parent / "events").glob("*.json")}


@pytest.mark.parametrize("name", sorted(EXPECTED_TREES))
def test_every_example_rule_explains_its_sample_event(name: str) -> None:
    rule, event = example(name)
    trial = try_rule(rule, event, T0)
    assert shape(trial.conditions) == EXPECTED_TREES[name]
    scheduled = rule.type == "scheduled"
    assert trial.trigger_matched is not scheduled
    assert trial.matched is not scheduled
    assert (trial.held_by.limit if trial.held_by else None) == EXPECTED_HOLDS[name]
    assert [a.error for a in trial.actions] == [None] * len(rule.actions)
    assert [a.type for a in trial.actions] == [a.type for a in rule.actions]


def test_the_rendered_actions_are_what_the_engine_would_send() -> None:
    rule, event = example("big-order")
    (action,) = try_rule(rule, event, T0).actions
    assert action.rendered == {"workflow_id": "expense-approval", "version": "^1",
                               "input": {"id": "order-77", "amount": 7200,
                                         "manager": "sales-lead"}}
    rule, event = example("incident-signal")
    (signal,) = try_rule(rule, event, T0).actions
    assert signal.rendered["execution_id"] == "x-incident-12"
    assert signal.rendered["payload"] == {"by": "grace"}


def test_an_event_that_fails_shows_which_leaf_failed_and_with_what_value() -> None:
    rule, event = example("big-order")
    event["data"]["total"] = 120
    del event["data"]["customer"]
    trial = try_rule(rule, event, T0)
    assert not trial.matched and trial.trigger_matched
    assert [(leaf.path, leaf.actual, leaf.result) for leaf in trial.conditions.leaves()] == [
        ("data.total", 120, False), ("data.customer.tier", None, False)]
    assert trial.held_by is None


def test_a_trigger_mismatch_is_not_a_match_even_when_the_conditions_hold() -> None:
    rule, event = example("big-order")
    trial = try_rule(rule, {**event, "source": "pos/store-4"}, T0)
    assert trial.conditions is not None and trial.conditions.result
    assert (trial.trigger_matched, trial.matched) == (False, False)
    any_event = rule.model_copy(update={"trigger": type(rule.trigger)()})  # "*" and "*"
    assert try_rule(any_event, event, T0).trigger_matched
    for kind in ("headwater.wait.opened", "headwater.rule.firing"):  # internal records
        assert not try_rule(any_event, {**event, "type": kind}, T0).trigger_matched


def test_an_action_that_does_not_render_reports_its_error_and_the_others_still_render(
        rule_factory: RuleFactory) -> None:
    rule = rule_factory("r", actions=[
        {"type": "start_workflow", "workflow_id": "wf", "input": {"x": "${ event.data.nope.deeper }"}},
        {"type": "publish_event", "event_type": "copied", "data": "${ event.data }"}])
    first, second = try_rule(rule, {"id": "1", "source": "s", "type": "t", "data": {}}, T0).actions
    assert first.error is not None and first.error[0] == "evaluation_error"
    assert first.rendered == {}
    assert (second.error, second.rendered["data"]) == (None, {})


EVENT = {"id": "1", "source": "s", "type": "t", "data": {"n": 1}}


@pytest.mark.parametrize(("fields", "observed", "limit"), [
    ({"max_executions": 3}, Observed(executions=3), "max_executions"),
    ({"max_executions": 3}, Observed(executions=2), None),
    ({"concurrency_limit": 2}, Observed(running=2), "concurrency_limit"),
    ({"concurrency_limit": 2, "execution_mode": "queued"}, Observed(running=2), "concurrency_limit"),
    ({"concurrency_limit": 2}, Observed(running=1), None),
    ({"execution_mode": "batch", "batch": {"size": 3}}, Observed(batched=1), "batch"),
    ({"execution_mode": "batch", "batch": {"size": 3}}, Observed(batched=2), None),
    ({"status": "paused"}, Observed(), "status"),
    ({"enabled": False}, Observed(), "status"),
])
def test_the_limit_that_holds_a_match_back(rule_factory: RuleFactory, fields: dict[str, Any],
                                           observed: Observed, limit: str | None) -> None:
    trial = try_rule(rule_factory("r", {"data.n": 1}, **fields), EVENT, T0, observed=observed)
    assert trial.matched
    assert (trial.held_by.limit if trial.held_by else None) == limit


def test_a_higher_priority_member_of_the_exclusive_group_holds_the_rule_back(
        rule_factory: RuleFactory) -> None:
    rule = rule_factory("low", {"data.n": 1}, exclusive_group="g", priority=1)
    high = rule_factory("high", {"$gte": {"data.n": 0}}, exclusive_group="g", priority=5)
    spent = rule_factory("spent", {"data.n": 1}, exclusive_group="g", priority=9,
                         max_executions=1)
    other = rule_factory("other-group", {"data.n": 1}, exclusive_group="h", priority=99)
    group = [(high, Observed()), (spent, Observed(executions=1)), (other, Observed())]
    held = try_rule(rule, EVENT, T0, group=group).held_by
    assert held is not None and held.limit == "exclusive_group" and "high" in held.detail
    # A member held back by its own limit does not claim the group (the engine's rule).
    assert try_rule(rule, {**EVENT, "data": {"n": 1}}, T0, group=group[1:]).held_by is None


def test_trying_a_rule_changes_nothing(rule_factory: RuleFactory) -> None:
    rule = rule_factory("r", {"data.n": 1}, max_executions=1)
    for _ in range(3):
        assert try_rule(rule, EVENT, T0).held_by is None


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_the_tree_agrees_with_the_compiled_condition_on_any_event(seed: int) -> None:
    gen = Generator(seed)
    condition = gen.condition()
    event = {"id": "1", **gen.event("t")}
    tree = compile_explainer(condition).explain(event)
    assert tree is not None
    assert tree.result == compile_condition(condition).test(event)


def test_a_condition_with_several_keys_is_an_and_of_them() -> None:
    tree = compile_explainer({"data.a": 1, "$gt": {"data.b": 2}}).explain(
        {"data": {"a": 1, "b": 1}})
    assert shape(tree) == (("$and", None, None, None, False), [
        ("$eq", "data.a", 1, 1, True), ("$gt", "data.b", 2, 1, False)])


def test_a_field_comparison_shows_the_other_fields_value() -> None:
    tree = compile_explainer({"$gt": {"data.a": {"$m": "data.b"}}}).explain(
        {"data": {"a": 3, "b": 2}})
    assert shape(tree) == ("$gt", "data.a", {"$m": "data.b", "value": 2}, 3, True)


def test_a_firing_outcome_stores_the_same_tree_the_test_shows(rule_factory: RuleFactory) -> None:
    from rules import RuleEngine, to_outcomes

    rule, event = example("priority-support")
    engine = RuleEngine()
    engine.put(rule)
    evaluation = engine.evaluate(event, T0)
    (outcome,) = to_outcomes(evaluation, event, T0, 5, explain=engine.explain)
    trial = try_rule(rule, event, T0)
    assert trial.conditions is not None
    assert outcome.condition_result == trial.conditions.as_json()
    # Without `explain` nothing is stored (and nothing is computed).
    (plain,) = to_outcomes(evaluation, event, T0, 5)
    assert plain.condition_result is None
    # A changed rule gets a new tree.
    engine.put(rule.model_copy(update={"conditions": {"data.plan": "team"}}))
    assert engine.explain(rule.id, event) == compile_explainer({"data.plan": "team"}).explain(
        event)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_a_known_match_gives_the_tree_a_full_evaluation_gives(seed: int) -> None:
    gen = Generator(seed)
    condition = gen.condition()
    explainer, test = compile_explainer(condition), compile_condition(condition).test
    for _ in range(20):
        event = {"id": "1", **gen.event("t")}
        if test(event):
            assert explainer.explain(event, matched=True) == explainer.explain(event)
