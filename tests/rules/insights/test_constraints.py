"""The constraint reasoning is sound: what it proves, the engine's conditions agree with."""

from __future__ import annotations

import os
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.conditions import compile_condition
from rules.insights.constraints import conj_of, disjoint_dnf, dnf, implies_dnf, satisfiable
from tests.rules.test_differential import Generator


def form(condition: dict[str, Any]) -> list[Any]:
    raw = dnf(condition)
    assert raw is not None
    return [conj_of(t) for t in raw]


def implies(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return implies_dnf(form(a), form(b))


BOUNDARY = [None, True, False, 0, 1, 4.5, 5, 5.0, 6, 10, 100, -1, "", "a", "FR", "DE", "gold",
            "5", [], ["vip"], {"tier": "gold"}]


def probe_events(gen: Generator) -> list[dict[str, Any]]:
    """Random events plus events with boundary values in every field the generator uses."""
    events = [gen.event("t") for _ in range(40)]
    r = random.Random(gen.r.random())
    for _ in range(60):
        data: dict[str, Any] = {}
        for name in ("country", "amount", "qty", "flag", "coupon", "customer", "tags"):
            if r.random() < 0.7:
                data[name] = r.choice(BOUNDARY)
        events.append({"type": "t", "source": "s", "data": data})
    return events


@settings(max_examples=int(os.environ.get("HW_PROPERTY_EXAMPLES", "200")), deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_a_proved_implication_holds_on_every_event(seed: int) -> None:
    gen = Generator(seed)
    a, b = gen.condition(), gen.condition()
    if gen.r.random() < 0.5:  # make implication likely: b is a with one more conjunct
        b, a = a, {"$and": [a, gen.term()]}
    if not implies(a, b):
        return
    test_a, test_b = compile_condition(a).test, compile_condition(b).test
    for event in probe_events(gen):
        assert not test_a(event) or test_b(event), (a, b, event)


@settings(max_examples=int(os.environ.get("HW_PROPERTY_EXAMPLES", "200")), deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_a_proved_contradiction_matches_no_event(seed: int) -> None:
    gen = Generator(seed)
    a = {"$and": [gen.condition(), gen.condition(), gen.term()]}
    terms = form(a)
    test = compile_condition(a).test
    if not satisfiable(terms):
        assert not any(test(e) for e in probe_events(gen)), a
    b = gen.condition()
    if disjoint_dnf(terms, form(b)):
        test_b = compile_condition(b).test
        assert not any(test(e) and test_b(e) for e in probe_events(gen)), (a, b)


@pytest.mark.parametrize(("a", "b"), [
    ({"$gt": {"data.total": 500}}, {"$gt": {"data.total": 100}}),
    ({"$gte": {"data.n": 5}}, {"$gt": {"data.n": 4.5}}),
    ({"data.country": "FR"}, {"$neq": {"data.country": "DE"}}),
    ({"data.country": "FR"}, {"$ex": {"data.country": 1}}),
    ({"data.country": "FR"}, {"$mt": {"data.country": "F.*"}}),
    ({"$mt": {"data.country": "FR"}}, {"data.country": "FR"}),
    ({"$and": [{"data.a": 1}, {"data.b": 2}]}, {"data.a": 1}),
    ({"data.a": 1}, {"$or": [{"data.a": 1}, {"data.b": 2}]}),
    ({"$or": [{"data.a": 1}, {"data.a": 2}]}, {"$lte": {"data.a": 2}}),
    ({"$gt": {"data.tier": "b"}}, {"$gt": {"data.tier": "a"}}),
    ({"$iany": {"data.tags": {"$i": "vip"}}, "data.a": 1}, {"$iany": {"data.tags": {"$i": "vip"}}}),
    ({"$gt": {"data.n": 5}}, {"$neq": {"data.n": 3}}),
])
def test_implications_it_finds(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert implies(a, b)


@pytest.mark.parametrize(("a", "b"), [
    ({"$gt": {"data.total": 100}}, {"$gt": {"data.total": 500}}),
    ({"$ex": {"data.a": 1}}, {"$neq": {"data.a": "x"}}),  # a present null is not "different"
    ({"data.a": 1}, {"data.a": True}),  # a boolean is not a number
    ({"data.a": "5"}, {"data.a": 5}),
    ({"$neq": {"data.a": 1}}, {"$nex": {"data.a": 1}}),
    ({"$mt": {"data.a": "F.*"}}, {"data.a": "FR"}),
    ({"$iany": {"data.tags": {"$i": "vip"}}}, {"$iall": {"data.tags": {"$i": "vip"}}}),
    ({"$or": [{"data.a": 1}, {"data.b": 2}]}, {"data.a": 1}),
])
def test_what_does_not_follow_is_not_claimed(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert not implies(a, b)


@pytest.mark.parametrize("condition", [
    {"$and": [{"$gt": {"data.n": 5}}, {"$lt": {"data.n": 3}}]},
    {"$and": [{"data.c": "FR"}, {"data.c": "DE"}]},
    {"$and": [{"$ex": {"data.c": 1}}, {"$nex": {"data.c": 1}}]},
    {"$and": [{"data.c": "FR"}, {"$neq": {"data.c": "FR"}}]},
    {"$and": [{"$gte": {"data.n": 3}}, {"$lte": {"data.n": 3}}, {"$neq": {"data.n": 3}}]},
    {"$and": [{"data.c": "FR"}, {"$mt": {"data.c": "D.*"}}]},
    {"$and": [{"$gt": {"data.n": 5}}, {"$gt": {"data.n": "a"}}]},
])
def test_contradictions_it_finds(condition: dict[str, Any]) -> None:
    assert not satisfiable(form(condition))
