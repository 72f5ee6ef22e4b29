"""The rule insights analyser over a large rulebook, against loading the same rules.

    .venv/bin/python -m bench.insights [--rules 1000,5000] [--runs 3] [--seed 11]

For each rule count it prints the wall and CPU time of `rules.insights.analyse` over the
rulebook with statistics for every rule and traffic for every event type, the findings per
kind, and as the same-run reference the time to compile and index the same rules in a
`RuleEngine` (what every worker does at start). The rulebook: 50 event types, rules of the
shapes users write (equality + range, equality + equality, a regex, an `$or` of
equalities, a few `$expr`), a fifth of them in exclusive groups of 5-10, with a few planted
problems (shadowed, duplicate, dead branches, limits, failing actions) so every finder works.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time
from collections import Counter
from typing import Any

from rules import RuleEngine
from rules.insights import InsightLimits, RuleObservation, Traffic, analyse
from schemas.definitions import RuleDefinition

TYPES = [f"shop.event{i}" for i in range(50)]
COUNTRIES = [f"C{i:02d}" for i in range(40)]
TIERS = ["gold", "silver", "bronze"]
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def condition(i: int, rnd: random.Random) -> dict[str, Any]:
    country = {"data.country": rnd.choice(COUNTRIES)}
    kind = i % 6
    if kind == 0:
        return {"$and": [country, {"$gt": {"data.amount": rnd.randint(0, 1000)}}]}
    if kind == 1:
        return {"$and": [country, {"data.tier": rnd.choice(TIERS)}]}
    if kind == 2:
        return {"$and": [{"data.tier": rnd.choice(TIERS)},
                         {"$lt": {"data.amount": rnd.randint(0, 100)}}]}
    if kind == 3:
        return {"$and": [country, {"$mt": {"data.sku": f"{rnd.choice('ABC')}-[0-9]+"}}]}
    if kind == 4:
        return {"$or": [{"data.country": rnd.choice(COUNTRIES)},
                        {"$and": [country, {"$gte": {"data.amount": rnd.randint(0, 500)}}]}]}
    return {"$expr": f"event.data.amount > {rnd.randint(0, 900)}"}


def make_rulebook(n: int, rnd: random.Random) -> list[RuleDefinition]:
    rules = []
    for i in range(n):
        body: dict[str, Any] = {
            "id": f"r{i:05d}", "name": f"rule {i}",
            "trigger": {"event_type": rnd.choice(TYPES)},
            "conditions": condition(i, rnd), "priority": rnd.randint(0, 100),
            "actions": [{"type": "start_workflow", "workflow_id": f"wf{i % 97}"}]}
        if i % 5 == 0:
            body["exclusive_group"] = f"g{i // 40}"
            body["trigger"] = {"event_type": TYPES[(i // 40) % len(TYPES)]}
        if i % 50 == 7:
            body["max_executions"] = 100
        if i % 50 == 9:
            body["concurrency_limit"] = 4
        rules.append(RuleDefinition.model_validate(body))
    return rules


def make_observations(rules: list[RuleDefinition], rnd: random.Random
                      ) -> tuple[dict[str, RuleObservation], dict[str, Traffic]]:
    observed = {}
    for i, rule in enumerate(rules):
        matched = rnd.randint(0, 2000)
        reasons = {}
        if rule.max_executions is not None:
            reasons["max_executions"] = rnd.randint(0, 50)
        if rule.concurrency_limit is not None:
            reasons["concurrency_limit"] = rnd.randint(0, 50)
        failed = matched // 5 if i % 23 == 0 else 0
        observed[rule.id] = RuleObservation(
            evaluations=matched + sum(reasons.values()), matched=matched,
            skipped=sum(reasons.values()), skip_reasons=reasons, failed=failed,
            errors={"action_failed:start_workflow": failed} if failed else {},
            # One rule in twenty has gone quiet for longer than the window.
            last_match=(NOW - dt.timedelta(days=rnd.randint(8, 30) if i % 20 == 3 else 0,
                                           hours=rnd.randint(0, 72))) if matched else None,
            active_since=NOW - dt.timedelta(days=60))
    traffic = {t: Traffic(rnd.randint(1000, 100_000), NOW) for t in TYPES}
    return observed, traffic


def cpu_and_wall(fn: Any) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def load(rules: list[RuleDefinition]) -> RuleEngine:
    """The reference: compile and index every rule, as a worker does at start."""
    engine = RuleEngine()
    for rule in rules:
        engine.put(rule)
    return engine


def measure(n: int, seed: int, runs: int) -> None:
    rnd = random.Random(seed)
    rules = make_rulebook(n, rnd)
    observed, traffic = make_observations(rules, rnd)
    limits = InsightLimits()
    analysed, loaded = [], []
    for _ in range(runs):
        analysed.append(cpu_and_wall(lambda: analyse(rules, observed, traffic, NOW,
                                                     limits=limits)))
        loaded.append(cpu_and_wall(lambda: load(rules)))
    wall = statistics.median(r[0] for r in analysed)
    cpu = statistics.median(r[1] for r in analysed)
    ref_wall = statistics.median(r[0] for r in loaded)
    ref_cpu = statistics.median(r[1] for r in loaded)
    found = analysed[-1][2]
    kinds = Counter(f.kind for f in found)
    print(f"{n:>6} rules  analyse {wall:6.3f} s wall {cpu:6.3f} s cpu   "
          f"reference (compile + index) {ref_wall:6.3f} s wall {ref_cpu:6.3f} s cpu   "
          f"ratio {cpu / ref_cpu:4.1f}x cpu   findings {len(found)}")
    print("        " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rules", default="1000,5000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    for n in (int(x) for x in args.rules.split(",")):
        measure(n, args.seed, args.runs)


if __name__ == "__main__":
    main()
