"""What a gated rule's firing costs in CPU: the routing worker's and the gate owner's share, next
to the single-engine path it replaced (`RuleEngine.evaluate` counting locally), same run.

Per firing of a `max_executions` rule (and of a queued `concurrency_limit` rule, whose firings
come back through `ended` records): the router's work (decide, build the `headwater.rule.firing`
record), the owner's (parse it, `rule_gates.apply`), and a gate's store write (`to_bytes`) with
a queue of 1,000 and 20,000 waiting firings. No broker: the extra hop's latency is a record on
`hw.triggers` (see bench/triggers.py for its figures). Records are Avro-encoded and decoded
with the codec as the agent does; the owner's figure leaves out rendering the actions, which
the reference includes.

    .venv/bin/python -m bench.rule_gates [--firings 20000]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime
from typing import Any

from bench._broker import machine
from rules import RuleEngine
from schemas.codec import Codec
from schemas.definitions import RuleDefinition
from streams.triggers import rule_gates
from streams.triggers.gate_owner import request_records
from streams.triggers.gate_records import Ended, Request, parse
from streams.triggers.rule_gates import GateState

NOW = datetime(2026, 1, 1, tzinfo=UTC)
CODEC = Codec()
TRIGGERS = "hw.triggers"


def rule(limits: dict[str, Any]) -> RuleDefinition:
    return RuleDefinition.model_validate({
        "id": "gated", "name": "Gated", "trigger": {"event_type": "job.*"}, **limits,
        "actions": [{"type": "start_workflow", "workflow_id": "w",
                     "input": {"n": "${ event.data.n }"}}]})


def event(n: int) -> dict[str, Any]:
    return {"id": f"e{n}", "source": "jobs", "type": "job.submitted", "subject": f"j{n}",
            "time": NOW.isoformat(), "data": {"n": n, "note": "x" * 100}}


def per_firing(seconds: float, firings: int) -> str:
    return f"{seconds / firings * 1e6:7.1f} µs"


def local(limits: dict[str, Any], firings: int) -> float:
    engine = RuleEngine()
    engine.put(rule(limits))
    began = time.process_time()
    for n in range(firings):
        engine.evaluate(event(n), NOW)
    return time.process_time() - began


def routed(limits: dict[str, Any], firings: int) -> tuple[float, list[bytes]]:
    """The router's share: decide, build and encode the firing record (as the agent does)."""
    engine = RuleEngine()
    engine.routed = True
    engine.put(rule(limits))
    wire = []
    began = time.process_time()
    for n in range(firings):
        e = event(n)
        evaluation = engine.decide(e, NOW)
        for record in request_records(engine, evaluation.routed, f"t{n}", NOW, e, (0, n)):
            wire.append(CODEC.encode_value(TRIGGERS, record.value))
    return time.process_time() - began, wire


def owner(wire: list[bytes], ends: bool) -> tuple[float, GateState]:
    """The owner's share: decode the record, parse it, apply it (rendering is not counted)."""
    gate = GateState("rule:gated")
    began = time.process_time()
    for n, value in enumerate(wire):
        decoded, _ = CODEC.decode_trigger_fields(TRIGGERS, (), value)
        request = parse(decoded)
        assert isinstance(request, Request)
        rule_gates.apply(gate, request)
        if ends and n % 2:  # every other firing's execution ends meanwhile
            rule_gates.apply(gate, Ended(key=gate.key, rule_id="gated",
                                         execution_id=f"gated:t{n // 2}:0", time=NOW))
    return time.process_time() - began, gate


def store_write(queued: int) -> str:
    limits = {"concurrency_limit": 1, "execution_mode": "queued"}
    _, wire = routed(limits, queued + 1)
    _, gate = owner(wire, ends=False)
    began = time.perf_counter()
    data = gate.to_bytes()
    spent = time.perf_counter() - began
    return f"queue {queued:6,}: {len(data) / 1e6:5.1f} MB, written in {spent * 1e3:6.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--firings", type=int, default=20_000)
    n = parser.parse_args().firings
    print(f"machine: {machine()}")
    print(f"{n:,} matching events, one rule, CPU time per event")
    for name, limits, ends in (
            ("max_executions", {"max_executions": n // 2}, False),
            ("queued, limit 100", {"concurrency_limit": 100, "execution_mode": "queued"}, True)):
        reference = local(limits, n)
        router, wire = routed(limits, n)
        gate, _ = owner(wire, ends)
        print(f"{name:18} single engine (reference) {per_firing(reference, n)} | "
              f"router {per_firing(router, n)} + gate owner {per_firing(gate, n)}")
    for queued in (1_000, 20_000):
        print("gate store write, " + store_write(queued))


if __name__ == "__main__":
    main()
