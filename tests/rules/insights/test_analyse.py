"""Each finding appears where it is planted, and none in clean rulebooks; every draft validates."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from rules.conditions import compile_condition
from rules.insights import (
    KINDS,
    Finding,
    RuleObservation,
    Traffic,
    analyse,
)
from schemas.definitions import RuleDefinition
from schemas.validation import validate_definition

NOW = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
LONG_AGO = NOW - dt.timedelta(days=30)


def rule(rule_id: str, conditions: dict[str, Any] | None = None, **fields: Any) -> RuleDefinition:
    return RuleDefinition.model_validate({
        "id": rule_id, "name": rule_id,
        "trigger": {"event_type": fields.pop("event_type", "order.placed"),
                    "source": fields.pop("source", "*")},
        "conditions": conditions,
        "actions": fields.pop("actions", [{"type": "start_workflow", "workflow_id": rule_id}]),
        **fields})


def findings(rules: list[RuleDefinition], observations: dict[str, RuleObservation] | None = None,
             traffic: dict[str, Traffic] | None = None, **kw: Any) -> list[Finding]:
    found = analyse(rules, observations or {}, traffic or {}, NOW, **kw)
    for finding in found:  # every draft is a rule that publishes as it is
        assert finding.kind in KINDS
        for draft in finding.drafts:
            report = validate_definition(draft)
            assert report.definition is not None, (finding.kind, report.errors)
            assert draft["status"] == "draft"
    return found


def kinds(found: list[Finding]) -> list[tuple[str, tuple[str, ...]]]:
    return [(f.kind, f.rules) for f in found]


def one(found: list[Finding], kind: str) -> Finding:
    (finding,) = [f for f in found if f.kind == kind]
    return finding


# ---- clean rulebooks: nothing to say ------------------------------------------------------

CLEAN = [
    rule("fr-big", {"$and": [{"data.country": "FR"}, {"$gt": {"data.total": 500}}]},
         exclusive_group="route", priority=20),
    rule("fr-small", {"$and": [{"data.country": "FR"}, {"$lte": {"data.total": 500}}]},
         exclusive_group="route", priority=10),
    rule("de", {"data.country": "DE"}, exclusive_group="route"),
    rule("gold", {"data.customer.tier": "gold"}),
    rule("vip-tag", {"$and": [{"data.channel": "web"},
                              {"$iany": {"data.tags": {"$i": "vip"}}}]}),
    rule("refund", {"$and": [{"data.kind": "refund"},
                             {"$or": [{"data.reason": "damaged"}, {"data.reason": "late"}]}]},
         event_type="order.refunded"),
    rule("signup", None, event_type="account.created", concurrency_limit=5),
]
CLEAN_OBSERVED = {
    "fr-big": RuleObservation(evaluations=300, matched=300, last_match=NOW),
    "fr-small": RuleObservation(evaluations=200, matched=200, last_match=NOW),
    "de": RuleObservation(evaluations=100, matched=100, last_match=NOW),
    "gold": RuleObservation(evaluations=50, matched=50, last_match=NOW, failed=1,
                            errors={"action_failed:start_workflow": 1}),
    "vip-tag": RuleObservation(evaluations=10, matched=10, last_match=NOW),
    "refund": RuleObservation(evaluations=40, matched=40, last_match=NOW),
    "signup": RuleObservation(evaluations=500, matched=500, last_match=NOW),
}
CLEAN_TRAFFIC = {"order.placed": Traffic(10_000, NOW), "order.refunded": Traffic(400, NOW),
                 "account.created": Traffic(500, NOW)}


def test_a_clean_rulebook_has_no_findings() -> None:
    assert findings(CLEAN, CLEAN_OBSERVED, CLEAN_TRAFFIC) == []


def test_a_clean_rulebook_without_statistics_has_no_findings() -> None:
    assert findings(CLEAN) == []


def test_the_example_rules_have_only_residual_findings() -> None:
    from pathlib import Path

    from schemas.validation import load_definition

    examples = sorted((Path(__file__).parents[3] / "examples" / "rules").glob("*.yaml"))
    book = [load_definition(p) for p in examples]
    assert all(isinstance(r, RuleDefinition) for r in book)
    found = findings(book)  # type: ignore[arg-type]
    # Five conditions have no equality or range the index can use; one has a rewrite.
    assert kinds(found) == [("residual", (r,)) for r in (
        "failed-login-burst", "incident-ack-signal", "metrics-batch", "priority-support",
        "vip-order")]
    assert [f.drafts[0]["conditions"] for f in found if f.drafts] == [
        {"$and": [{"$ex": {"data.value": 1}}, {"$gte": {"data.value": 0.0}}]}]


# ---- each finding where it is planted ------------------------------------------------------

def test_never_matched_while_its_event_type_flowed() -> None:
    silent = rule("silent", {"data.country": "XX"})
    found = findings([*CLEAN, silent], {**CLEAN_OBSERVED,
                                        "silent": RuleObservation(active_since=LONG_AGO)},
                     CLEAN_TRAFFIC)
    assert kinds(found) == [("never_matched", ("silent",))]
    assert found[0].evidence["events_of_type"] == 10_000
    # Not when the type did not flow, nor when the rule is new, nor when it matched lately.
    assert findings([silent], {"silent": RuleObservation(active_since=LONG_AGO)},
                    {"order.placed": Traffic(10_000, LONG_AGO)}) == []
    assert findings([silent], {"silent": RuleObservation(active_since=NOW)}, CLEAN_TRAFFIC) == []
    assert findings([silent], {"silent": RuleObservation(last_match=NOW)}, CLEAN_TRAFFIC) == []


def test_shadowed_in_an_exclusive_group_by_reasoning() -> None:
    wide = rule("any-big", {"$gt": {"data.total": 100}}, exclusive_group="g", priority=10)
    narrow = rule("fr-huge", {"$and": [{"data.country": "FR"}, {"$gte": {"data.total": 1000}}]},
                  exclusive_group="g", priority=1)
    found = findings([wide, narrow])
    assert kinds(found) == [("shadowed", ("fr-huge", "any-big"))]
    (draft,) = found[0].drafts
    assert draft["priority"] == 11 and draft["id"] == "fr-huge" and draft["version"] == "1.1.0"
    # A wide rule that a limit can hold back does not shadow; nor does one after it.
    assert findings([wide.model_copy(update={"max_executions": 5}), narrow]) == []
    assert findings([wide.model_copy(update={"priority": 0}), narrow]) == []
    # Nor a wide rule on another event type.
    assert findings([wide.model_copy(update={"trigger": wide.trigger.model_copy(
        update={"event_type": "order.cancelled"})}), narrow]) == []


def test_shadowed_as_observed() -> None:
    lost = rule("lost", {"$iany": {"data.tags": {"$i": "x"}}}, exclusive_group="g")
    observed = {"lost": RuleObservation(evaluations=40, skipped=40,
                                        skip_reasons={"exclusive_group": 40})}
    assert one(findings([lost], observed), "shadowed").rules == ("lost",)


def test_duplicates_same_conditions_and_redundant_rules() -> None:
    a = rule("a", {"$and": [{"data.country": "FR"}, {"$gt": {"data.total": 10}}]},
             actions=[{"type": "start_workflow", "workflow_id": "w"}])
    twin = rule("twin", {"$and": [{"$gte": {"data.total": 10}}, {"$neq": {"data.total": 10}},
                                  {"$mt": {"data.country": "FR"}}]},
                actions=[{"type": "start_workflow", "workflow_id": "w"}])
    assert kinds(findings([a, twin])) == [("duplicate", ("twin", "a"))]
    other = twin.model_copy(update={"actions": rule("x").actions})
    found = findings([a, other])
    assert kinds(found) == [("same_conditions", ("twin", "a"))]
    assert [x["workflow_id"] for x in found[0].drafts[0]["actions"]] == ["w", "x"]
    narrower = rule("narrower", {"$and": [{"data.country": "FR"}, {"$gt": {"data.total": 99}}]},
                    actions=[{"type": "start_workflow", "workflow_id": "w"}])
    assert kinds(findings([a, narrower])) == [("redundant", ("narrower", "a"))]
    # A narrower rule with other actions is a specialisation, not a finding.
    assert findings([a, narrower.model_copy(update={"actions": rule("y").actions})]) == []


def test_dead_branches_of_or() -> None:
    implied = rule("implied", {"$or": [{"$gt": {"data.total": 100}},
                                       {"$and": [{"$gt": {"data.total": 500}},
                                                 {"data.country": "FR"}]},
                                       {"data.vip": True}]})
    found = findings([implied])
    finding = one(found, "dead_branch")
    assert [b["index"] for b in finding.evidence["branches"]] == [1]
    assert finding.drafts[0]["conditions"] == {"$or": [{"$gt": {"data.total": 100}},
                                                       {"data.vip": True}]}
    contradicted = rule("contra", {"$and": [
        {"data.country": "FR"}, {"$or": [{"data.country": "DE"}, {"$gt": {"data.total": 5}}]}]})
    finding = one(findings([contradicted]), "dead_branch")
    assert finding.evidence["branches"][0]["reason"] == "contradicts the rest of the condition"
    assert finding.drafts[0]["conditions"] == {"$and": [{"data.country": "FR"},
                                                        {"$gt": {"data.total": 5}}]}


def test_unsatisfiable_conditions() -> None:
    never = rule("never", {"$and": [{"$gt": {"data.n": 5}}, {"$lt": {"data.n": 3}}]})
    assert kinds(findings([never])) == [("unsatisfiable", ("never",))]


@pytest.mark.parametrize(("conditions", "rewrite"), [
    ({"$mt": {"data.country": "FR"}}, {"data.country": "FR"}),
    ({"$or": [{"$and": [{"data.kind": "refund"}, {"data.reason": "late"}]},
              {"$and": [{"data.kind": "refund"}, {"$gt": {"data.total": 100}}]}]},
     {"$and": [{"data.kind": "refund"},
               {"$or": [{"data.reason": "late"}, {"$gt": {"data.total": 100}}]}]}),
    ({"$expr": "has(event.data.value) && event.data.value >= 0"},
     {"$and": [{"$ex": {"data.value": 1}}, {"$gte": {"data.value": 0}}]}),
])
def test_residual_predicates_with_an_index_friendly_rewrite(conditions: dict[str, Any],
                                                            rewrite: dict[str, Any]) -> None:
    found = findings([rule("slow", conditions)], cost_us={"slow": 2.5},
                     traffic={"order.placed": Traffic(1000, NOW)})
    finding = one(found, "residual")
    assert finding.evidence["cost_us_per_event"] == 2.5
    assert finding.evidence["cost_ms_total"] == 2.5
    (draft,) = finding.drafts
    assert draft["conditions"] == rewrite
    assert any(t.kind in ("eq", "range") for t in compile_condition(rewrite).terms)


def test_a_residual_predicate_without_a_rewrite_still_says_so() -> None:
    finding = one(findings([rule("neq", {"$neq": {"data.country": "FR"}})]), "residual")
    assert finding.drafts == ()


def test_limits_that_drop_or_delay() -> None:
    book = [rule("spent", {"data.a": 1}, max_executions=10),
            rule("busy", {"data.a": 2}, concurrency_limit=3),
            rule("queue", {"data.a": 3}, concurrency_limit=3, execution_mode="queued"),
            rule("batchy", {"data.a": 4}, execution_mode="batch", batch={"size": 100,
                                                                         "window": 5})]
    observed = {
        "spent": RuleObservation(matched=10, skipped=7, skip_reasons={"max_executions": 7}),
        "busy": RuleObservation(matched=50, skipped=20, skip_reasons={"concurrency_limit": 20}),
        "queue": RuleObservation(matched=50, deferred=25),
        "batchy": RuleObservation(matched=120, deferred=110),  # 10 flushes of 12 events
    }
    found = findings(book, observed)
    assert kinds(found) == [("limit_max_executions", ("spent",)),
                            ("limit_concurrency_drops", ("busy",)),
                            ("limit_concurrency_queue", ("queue",)),
                            ("limit_batch_window", ("batchy",))]
    drafts = {f.rules[0]: f.drafts[0] for f in found}
    assert drafts["spent"]["max_executions"] == 17
    assert drafts["busy"]["execution_mode"] == "queued"
    assert drafts["queue"]["concurrency_limit"] == 6
    assert drafts["batchy"]["batch"] == {"size": 12, "window": 5.0}


def test_actions_that_fail_often_with_their_most_common_errors() -> None:
    observed = {"hook": RuleObservation(matched=100, failed=30, last_error="HTTP 500", errors={
        "action_failed:call_webhook": 25, "action_failed:start_workflow": 5})}
    finding = one(findings([rule("hook", {"data.a": 1})], observed), "failing_actions")
    assert finding.evidence["most_common"] == [
        {"code": "action_failed:call_webhook", "count": 25},
        {"code": "action_failed:start_workflow", "count": 5}]
    assert finding.evidence["rate"] == 0.3 and "webhook" in finding.suggestion
    few = {"hook": RuleObservation(matched=100, failed=2,
                                   errors={"action_failed:call_webhook": 2})}
    assert findings([rule("hook", {"data.a": 1})], few) == []


def test_no_priority_order_when_overlaps_fix_the_order() -> None:
    book = [rule("rare", {"data.country": "JP"}, exclusive_group="g", priority=30),
            rule("wide", {"$gt": {"data.total": 10}}, exclusive_group="g", priority=20),
            rule("common", {"$and": [{"data.country": "FR"}, {"$gt": {"data.total": 1000}}]},
                 exclusive_group="g", priority=10)]
    observed = {"rare": RuleObservation(matched=5), "wide": RuleObservation(matched=300),
                "common": RuleObservation(matched=900)}
    # "rare" can meet "wide" (a large Japanese order) and "wide" can meet "common": every
    # move would change where some event goes, so there is no suggestion (only the shadow).
    assert kinds(findings(book, observed)) == [("shadowed", ("common", "wide"))]


def test_a_priority_order_moves_only_rules_that_never_meet() -> None:
    book = [rule("jp", {"data.country": "JP"}, exclusive_group="g", priority=30),
            rule("de", {"data.country": "DE"}, exclusive_group="g", priority=20),
            rule("fr", {"data.country": "FR"}, exclusive_group="g", priority=10),
            rule("fr-big", {"$and": [{"data.country": "FR"}, {"$gt": {"data.total": 10}}]},
                 exclusive_group="g", priority=5)]
    observed = {"jp": RuleObservation(matched=5), "de": RuleObservation(matched=50),
                "fr": RuleObservation(matched=900), "fr-big": RuleObservation(matched=0,
                skip_reasons={"exclusive_group": 3})}
    found = findings(book, observed)
    finding = one(found, "priority_order")
    # fr-big matches nothing, but it can meet fr, so it stays after it.
    assert finding.evidence["suggested"] == ["fr", "de", "jp", "fr-big"]
    assert finding.evidence["kept_in_order"] == [["fr", "fr-big"]]
    assert {d["id"]: d["priority"] for d in finding.drafts} == {"fr": 30, "jp": 10}
    assert one(found, "shadowed").rules == ("fr-big", "fr")


def test_findings_are_sorted_by_kind_and_stable() -> None:
    book = [rule("never", {"$and": [{"$gt": {"data.n": 5}}, {"$lt": {"data.n": 3}}]}),
            rule("slow", {"$neq": {"data.n": 1}})]
    found = findings(book)
    assert [f.kind for f in found] == ["unsatisfiable", "residual"]
    assert [f.key for f in found] == [f.key for f in findings(list(reversed(book)))]
