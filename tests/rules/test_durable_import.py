"""`rules.durable_import`: durable_rules rulesets become headwater rules that match the same
events; what cannot be carried is reported per rule; meaning changes are warnings."""

from __future__ import annotations

from typing import Any

from rules.durable_import import import_ruleset
from rules.engine import RuleEngine
from schemas.definitions import RuleDefinition
from tests.rules.conftest import T0
from tests.rules.test_differential import Generator, run_durable

RULESET = {
    "orders": {
        "approve": {"all": [{"m": {"$and": [{"subject": "approve"},
                                            {"$gt": {"amount": 1000}}]}}], "pri": 2},
        "flat": {"all": [{"m": {"subject": "flat", "channel": "web"}}]},
        "either": {"any": [{"m": {"subject": "a"}}, {"m": {"subject": "b"}}]},
        "own-field": {"all": [{"m": {"$gt": {"amount": {"$m": "limit"}}}}]},
        "tagged": {"all": [{"m": {"$iany": {"tags": {"$i": "vip"}}}}]},
        "state": {"all": [{"m": {"$gt": {"amount": {"$s": "threshold"}}}}]},
        "sum": {"all": [{"m": {"$gt": {"amount": {"$add": {"$l": {"$m": "a"},
                                                         "$r": 1}}}}}]},
        "pair": {"all": [{"first": {"subject": "go"}}, {"second": {"subject": "stop"}}]},
        "other-event": {"all": [{"first": {"$gt": {"amount": {"first": "limit"}}}}]},
        "counted": {"count": 3, "all": [{"m": {"subject": "tick"}}]},
        "texty": {"all": [{"m": {"$mt": {"code": "4.."}}}]},
        "flagged": {"all": [{"m": {"urgent": True}}]},
    }
}


def by_name() -> dict[str, Any]:
    return {i.name: i for i in import_ruleset(RULESET)}


def test_single_event_rules_carry_over_with_fields_under_data() -> None:
    found = by_name()
    approve = found["approve"].rule
    assert approve is not None and approve["id"] == "orders-approve"
    assert approve["trigger"] == {"event_type": "orders"}
    assert approve["conditions"] == {"$and": [{"data.subject": "approve"},
                                              {"$gt": {"data.amount": 1000}}]}
    assert approve["priority"] == -2
    assert approve["actions"] == [{"type": "start_workflow", "workflow_id": "approve",
                                   "input": "${ event.data }"}]
    assert found["flat"].rule["conditions"] == {"$and": [{"data.subject": "flat"},
                                                         {"data.channel": "web"}]}
    assert found["either"].rule["conditions"] == {"$or": [{"data.subject": "a"},
                                                          {"data.subject": "b"}]}
    assert found["own-field"].rule["conditions"] == {"$gt": {"data.amount": {"$m": "data.limit"}}}
    assert found["tagged"].rule["conditions"] == {"$iany": {"data.tags": {"$i": "vip"}}}
    for imported in found.values():
        if imported.rule is not None:
            assert RuleDefinition.model_validate(imported.rule)


def test_what_cannot_be_carried_is_reported_per_rule() -> None:
    found = by_name()
    refused = {name: i.problems for name, i in found.items() if i.rule is None}
    assert set(refused) == {"state", "sum", "pair", "other-event", "counted"}
    assert "`$s`" in refused["state"][0]
    assert any("`$add`" in p for p in refused["sum"])
    assert "join" in refused["pair"][0] and "join" in refused["other-event"][0]
    assert "`count`" in refused["counted"][0]


def test_rules_whose_meaning_changes_carry_a_warning() -> None:
    found = by_name()
    assert any("`$mt`" in w for w in found["texty"].warnings)
    assert any("booleans and strings" in w for w in found["flagged"].warnings)
    assert any("once per alternative" in w for w in found["either"].warnings)
    assert any("ranges compare" in w for w in found["approve"].warnings)
    assert found["flat"].warnings == () and found["tagged"].warnings == ()


def test_bad_input_is_reported_not_raised() -> None:
    assert import_ruleset([1, 2])[0].problems
    assert import_ruleset({"rs": {"r": {"all": "nope"}}})[0].problems
    assert import_ruleset({"rs": {"r": {"all": [{"m": {"$bogus": {"a": 1}}}]}}})[0].problems


def test_imported_rules_fire_on_the_same_events_as_in_durable_rules() -> None:
    gen = Generator(21)
    rulesets: dict[str, list[Any]] = {}
    ruleset_json: dict[str, dict[str, Any]] = {}
    for t in range(4):
        name = f"type.{t}"
        rulesets[name], ruleset_json[name] = [], {}
        for i in range(30):
            rule_id, condition, pri = f"r{i:03d}", gen.condition(), gen.r.randint(0, 3)
            rulesets[name].append([rule_id, condition, pri])
            ruleset_json[name][rule_id] = {"all": [{"m": condition}], "pri": pri}
    imported = import_ruleset(ruleset_json, prefix="")  # the generator's paths hold `data.`
    assert all(i.rule is not None for i in imported)
    engine = RuleEngine()
    for i in imported:
        engine.put(RuleDefinition.model_validate(i.rule))
    stream = [gen.event(f"type.{gen.r.randrange(4)}") for _ in range(300)]
    theirs = run_durable("assert", rulesets, [[e["type"], e] for e in stream])
    ours = [sorted(f.rule_id.split("-", 1)[1] for f in engine.evaluate({**e, "id": str(n)}, T0).fired)
            for n, e in enumerate(stream)]
    # durable_rules fires a rule once per satisfied $or branch (a warned difference).
    assert [sorted(set(t)) for t in theirs] == ours
    assert sum(map(len, ours)) > len(stream) // 2
