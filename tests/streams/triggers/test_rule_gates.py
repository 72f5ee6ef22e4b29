"""Rule gates, pure: the limits one owner decides from the gate records alone.

Every test also checks the replay law: folding the same records from an empty gate (decisions
thrown away, as a worker taking the partition over does), through a store round trip, gives
the state the live gate holds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from rules import RuleEngine
from schemas.definitions import RuleDefinition
from streams.triggers import rule_gates
from streams.triggers.gate_owner import PartitionGates, request_records
from streams.triggers.gate_records import (
    Ended,
    Entry,
    Flush,
    Limits,
    Request,
    Snapshot,
    ended_event,
    parse,
    priority_of,
    request_event,
)
from streams.triggers.rule_gates import Defer, Fire, GateState, Skip

T0 = datetime(2026, 1, 1, tzinfo=UTC)
Record = Request | Ended | Flush


def request(n: int, limits: Limits | None, *, rule: str = "r", starts: tuple[int, ...] = (0,),
            key: str = "rule:r", priority: str = "normal") -> Request:
    event = {"id": f"e{n}", "source": "s", "type": "job", "data": {"n": n}}
    return Request(key=key, tag=f"t{n}", time=T0 + timedelta(seconds=n), origin=event,
                   entries=(Entry(rule_id=rule, version="1.0.0", events=(event,), limits=limits,
                                  starts=starts, priority=priority),))


def ended(n: int, rule: str = "r", key: str = "rule:r") -> Ended:
    return Ended(key=key, rule_id=rule, execution_id=f"{rule}:t{n}:0", time=T0)


def run(records: list[Record], key: str = "rule:r") -> tuple[list[Any], GateState]:
    """Apply live; check that a replay through the store rebuilds the same state."""
    live, decisions = GateState(key), []
    for record in records:
        decisions += rule_gates.apply(live, record)
    replayed = GateState(key)
    for i, record in enumerate(records):
        if i == len(records) // 2:  # a takeover half way: the store's copy goes on
            replayed = GateState.from_bytes(replayed.to_bytes())
        rule_gates.apply(replayed, record)
    assert replayed.to_bytes() == live.to_bytes()
    return decisions, live


def test_max_executions_fires_exactly_that_many_and_skips_the_rest() -> None:
    limits = Limits(max_executions=100)
    decisions, _ = run([request(n, limits) for n in range(1000)])
    assert sum(isinstance(d, Fire) for d in decisions) == 100
    skipped = [d for d in decisions if isinstance(d, Skip)]
    assert len(skipped) == 900 and {d.reason for d in skipped} == {"max_executions"}


def test_a_repeated_request_counts_once() -> None:
    limits = Limits(max_executions=2)
    decisions, gate = run([request(0, limits), request(0, limits), request(1, limits)])
    assert [type(d) for d in decisions] == [Fire, Fire]
    assert gate.rules["r"].executions == 2


def test_a_trigger_routed_again_however_late_counts_once() -> None:
    # A trigger partition's worker crashed after routing offsets 0..4999 and before its
    # commit; the next owner routes them again, after other partitions' requests came in.
    limits = Limits(max_executions=10_000)
    first = [request(n, limits).model_copy(update={"source": (0, n)}) for n in range(5000)]
    others = [request(n, limits).model_copy(update={"source": (1, n), "tag": f"u{n}"})
              for n in range(3000)]
    again = [*first[2000:], request(9999, limits).model_copy(update={"source": (0, 5000)})]
    decisions, gate = run([*first, *others, *again])
    assert sum(isinstance(d, Fire) for d in decisions) == 5000 + 3000 + 1
    assert gate.rules["r"].executions == 8001


def test_queued_firings_start_in_arrival_order_as_slots_free() -> None:
    limits = Limits(concurrency_limit=2, mode="queued")
    records: list[Record] = [request(n, limits) for n in range(5)]
    records += [ended(0), ended(0), ended(1), ended(2)]  # a repeated end frees nothing
    decisions, gate = run(records)
    fired = [d for d in decisions if isinstance(d, Fire)]
    assert [d.tag for d in fired] == ["t0", "t1", "t2", "t3", "t4"]
    assert [d.report for d in fired] == [True, True, False, False, False]
    assert sum(isinstance(d, Defer) for d in decisions) == 3
    assert sorted(gate.rules["r"].running) == ["t3", "t4"] and not gate.rules["r"].queue


def test_queued_firings_start_highest_priority_first_then_in_arrival_order() -> None:
    limits = Limits(concurrency_limit=1, mode="queued")
    given = ["normal", "low", "normal", "critical", "high", "low", "critical"]
    records: list[Record] = [request(n, limits, priority=p) for n, p in enumerate(given)]
    # Each end frees the slot of the firing that runs: t0 first, then whatever it let in.
    order = ["t0", "t3", "t6", "t4", "t2", "t1", "t5"]
    records += [ended(int(tag[1:])) for tag in order]
    decisions, gate = run(records)
    assert [d.tag for d in decisions if isinstance(d, Fire)] == order
    assert not gate.rules["r"].queue and not gate.rules["r"].running


def test_a_queue_stored_before_priorities_reads_as_normal() -> None:
    limits = Limits(concurrency_limit=1, mode="queued")
    _, gate = run([request(0, limits), request(1, limits, priority="high")])
    raw = orjson.loads(gate.to_bytes())
    raw["rules"]["r"]["queue"] = [q[:4] for q in raw["rules"]["r"]["queue"]]
    old = GateState.from_bytes(orjson.dumps(raw))
    assert [q.priority for q in old.rules["r"].queue] == ["normal"]


def test_a_firing_queues_with_its_starting_actions_highest_priority() -> None:
    rule = RuleDefinition.model_validate({
        "id": "r", "name": "r", "trigger": {"event_type": "job"}, "actions": [
            {"type": "start_workflow", "workflow_id": "a", "priority": "low"},
            {"type": "publish_event", "event_type": "x"},
            {"type": "start_workflow", "workflow_id": "b", "priority": "high"}]})
    assert priority_of(rule) == "high"
    plain = rule.model_copy(update={"actions": rule.actions[1:2]})
    assert priority_of(plain) == "normal"


def test_an_immediate_rule_over_its_limit_is_skipped() -> None:
    limits = Limits(concurrency_limit=1)
    decisions, _ = run([request(0, limits), request(1, limits), ended(0), request(2, limits)])
    assert [type(d).__name__ for d in decisions] == ["Fire", "Skip", "Fire"]


def test_a_firing_holds_its_slot_until_every_execution_it_started_ended() -> None:
    limits = Limits(concurrency_limit=1, mode="queued")
    two = (0, 2)
    records: list[Record] = [request(0, limits, starts=two), request(1, limits, starts=two),
                             Ended(key="rule:r", rule_id="r", execution_id="r:t0:0", time=T0)]
    decisions, _ = run(records)
    assert [type(d) for d in decisions] == [Fire, Defer]
    decisions, _ = run([*records, Ended(key="rule:r", rule_id="r", execution_id="r:t0:2",
                                        time=T0)])
    assert [d.tag for d in decisions if isinstance(d, Fire)] == ["t0", "t1"]


def test_a_firing_that_starts_nothing_holds_no_slot() -> None:
    limits = Limits(concurrency_limit=1)
    decisions, _ = run([request(n, limits, starts=()) for n in range(3)])
    assert all(isinstance(d, Fire) for d in decisions) and len(decisions) == 3


def test_a_batch_fires_at_its_size_or_when_its_window_is_flushed() -> None:
    limits = Limits(mode="batch", batch_size=3, batch_window=10)
    decisions, gate = run([request(n, limits) for n in range(4)])
    fired = [d for d in decisions if isinstance(d, Fire)]
    assert [len(d.events) for d in fired] == [3]
    opened = gate.rules["r"].opened
    assert opened is not None
    assert rule_gates.due_flushes(gate, opened + timedelta(seconds=9)) == []
    assert rule_gates.due_flushes(gate, opened + timedelta(seconds=10)) == [("r", opened)]
    flush = Flush(key="rule:r", rule_id="r", opened=opened, time=T0)
    decisions, gate = run([*(request(n, limits) for n in range(4)), flush, flush])
    fired = [d for d in decisions if isinstance(d, Fire)]
    assert [len(d.events) for d in fired] == [3, 1]  # the second flush finds nothing
    assert gate.rules["r"].executions == 2


def test_a_limited_group_member_held_back_leaves_the_group_to_the_next() -> None:
    first = Entry(rule_id="a", version="1.0.0", events=({"id": "e"},),
                  limits=Limits(max_executions=1), starts=(0,))
    second = Entry(rule_id="b", version="1.0.0", events=({"id": "e"},), limits=None)
    records: list[Record] = [
        Request(key="group:g", tag=f"t{n}", time=T0, origin={}, entries=(first, second))
        for n in range(2)]
    decisions, _ = run(records, key="group:g")
    assert [(type(d).__name__, d.rule_id) for d in decisions] == [
        ("Fire", "a"), ("Skip", "b"), ("Skip", "a"), ("Fire", "b")]


def test_gate_records_survive_the_wire() -> None:
    original = request(3, Limits(max_executions=5, concurrency_limit=2, mode="queued"))
    event = request_event(original).model_dump(mode="json")
    assert parse(event) == original
    assert parse(ended_event(ended(3)).model_dump(mode="json")) == ended(3)


def test_the_engine_routes_gated_rules_and_keeps_unlimited_ones_local() -> None:
    engine = RuleEngine()
    engine.routed = True
    for rule in ({"id": "plain"}, {"id": "capped", "max_executions": 1},
                 {"id": "g1", "exclusive_group": "g", "priority": 2},
                 {"id": "g2", "exclusive_group": "g", "priority": 1, "concurrency_limit": 1},
                 {"id": "g3", "exclusive_group": "g", "priority": 0}):
        engine.put(RuleDefinition.model_validate({
            "name": rule["id"], "trigger": {"event_type": "job"}, **rule,
            "actions": [{"type": "start_workflow", "workflow_id": "w"}]}))
    event = {"id": "e", "source": "s", "type": "job", "data": {}}
    evaluation = engine.decide(event, T0)
    # g1 (ungated, first) takes the group locally; plain fires locally; capped is routed.
    assert sorted(f.rule_id for f in evaluation.fired) == ["g1", "plain"]
    assert [(r.key, [c.rule_id for c in r.candidates]) for r in evaluation.routed] == [
        ("rule:capped", ["capped"])]
    engine.pause("g1")
    evaluation = engine.decide(event, T0)
    assert sorted((r.key, [c.rule_id for c in r.candidates]) for r in evaluation.routed) == [
        ("group:g", ["g2", "g3"]), ("rule:capped", ["capped"])]
    records = request_records(engine, evaluation.routed, "tag", T0, event)
    group = parse(next(r for r in records if r.key == "group:g").value.model_dump(mode="json"))
    assert isinstance(group, Request)
    assert [e.limits is not None for e in group.entries] == [True, False]
    assert not engine.counters  # the router counts nothing


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["req", "end"]), st.integers(0, 12)), max_size=60),
       st.sampled_from(["immediate", "queued"]), st.integers(1, 3), st.integers(1, 20))
def test_never_more_running_than_the_limit_and_never_more_than_max(
        ops: list[tuple[str, int]], mode: str, limit: int, most: int) -> None:
    limits = Limits(max_executions=most, concurrency_limit=limit, mode=mode)
    records: list[Record] = [request(n, limits) if op == "req" else ended(n) for op, n in ops]
    decisions, gate = run(records)
    slots = gate.rules.get("r")
    fired = [d for d in decisions if isinstance(d, Fire)]
    assert len({d.tag for d in fired}) == len(fired)  # nothing fires twice
    if slots is not None:
        assert len(slots.running) <= limit
        assert slots.executions <= most
        assert len(fired) + len(slots.queue) == slots.executions


def test_a_gate_rebuilt_from_its_newest_snapshot_and_what_followed_equals_the_live_one() -> None:
    # The owner wrote a snapshot as of offset 400 that landed at offset 450; the records
    # before 300 are gone (retention). A worker with an empty store replays from 300.
    limits = Limits(max_executions=1000, concurrency_limit=3, mode="queued")
    records: list[Record] = [request(n, limits).model_copy(update={"source": (0, n)})
                             for n in range(600)]
    records[100:600:7] = [ended(n) for n in range(100, 600, 7)]
    live = GateState("rule:r")
    for record in records[:400]:
        rule_gates.apply(live, record)
    snapshot = Snapshot(key="rule:r", as_of=400, state=live.as_json(), time=T0)
    log = [*records[:450], snapshot, *records[450:]]  # offsets = positions in `log`
    for record in log[400:]:
        rule_gates.apply(live, record)

    gates = PartitionGates(_NoStore())  # type: ignore[arg-type]
    # Behind the log start: rebuild. The group committed 440, the snapshot at 450 was never
    # read back by its writer; the end was 500 when the partition came.
    assert gates.load(0, log_start=300, committed=440, end=500) == 0
    for offset in range(300, 440):
        gates.replay(0, offset, log[offset])
    gates.settle()  # a first tick before any live record: still rebuilding
    for offset in range(440, len(log)):  # processed live
        gates.passed(0, offset)
        gates._fold(0, offset, log[offset])
    gates.settle()
    assert not gates._rebuilding
    rebuilt = gates._states[0]["rule:r"]
    assert rebuilt.to_bytes() == live.to_bytes()
    assert rebuilt.rules["r"].executions == live.rules["r"].executions > 400


def test_an_owner_snapshots_a_busy_gate_often_and_an_idle_one_daily() -> None:
    gate = GateState("rule:r")
    assert rule_gates.wants_snapshot(gate, T0)  # never written
    rule_gates.apply(gate, Snapshot(key="rule:r", as_of=0, state={}, time=T0))
    assert not rule_gates.wants_snapshot(gate, T0 + timedelta(hours=23))
    assert rule_gates.wants_snapshot(gate, T0 + timedelta(days=1))
    rule_gates.apply(gate, request(0, Limits(max_executions=5)))
    assert rule_gates.wants_snapshot(gate, T0 + timedelta(hours=1))
    for n in range(1, 1000):
        rule_gates.apply(gate, request(n, Limits(max_executions=5)))
    assert rule_gates.wants_snapshot(gate, T0)


class _NoStore:
    """A store with nothing in it (a new worker's)."""

    def gates(self, partition: int) -> list[bytes]:
        return []

    def gate_checkpoint(self, partition: int) -> int:
        return 0
