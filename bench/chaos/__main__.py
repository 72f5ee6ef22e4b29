"""Run fault scenarios on a local 3-node cluster and print each verdict with its timings.

    flock /tmp/hw-bench.lock .venv/bin/python -m bench.chaos SCENARIO [SCENARIO ...]
        [--minutes M] [--rate R] [--record]

SCENARIO is one of the names in `bench.chaos.scenarios.SCENARIOS`, `all`, or `soak`.
`--record` writes each result to docs/reliability/results/<scenario>.json (RELIABILITY.md
quotes them). The exit code is 1 when any verdict fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench._broker import machine
from bench.chaos.cluster import ChaosCluster, three_nodes
from bench.chaos.scenarios import SCENARIOS, Result, run

RESULTS = Path(__file__).parents[2] / "docs" / "reliability" / "results"


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.1f} / {five:.1f} / {fifteen:.1f} on {os.cpu_count()} cores"


def record(result: Result, minutes: float, rate: float, began: float, load_before: str,
           command: str) -> dict[str, Any]:
    figures = {k: (None if isinstance(v, float) and math.isnan(v) else round(v, 2))
               for k, v in result.figures.items()}
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=RESULTS.parents[2]).stdout.strip()
    return {"scenario": result.scenario, "passed": result.passed, "commit": commit,
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
            "load_before": load_before, "load_after": load_line(),
            "minutes": minutes, "rate": rate, "wall_s": round(time.monotonic() - began, 1),
            "command": command, "checks": result.verdict.checks, "counts": result.verdict.counts,
            "figures": figures, "notes": result.notes,
            "extra": {k: v for k, v in result.extra.items() if k != "log_tail"},
            "log_tail": result.extra.get("log_tail")}


def print_result(result: Result, data: dict[str, Any]) -> None:
    print(f"== {result.scenario}: {'PASS' if result.passed else 'FAIL'} "
          f"({data['wall_s']} s; {data['load_after']})")
    for line in result.verdict.lines():
        print(line)
    print("  figures: " + ", ".join(f"{k} {v}" for k, v in data["figures"].items()))
    for key, value in data["extra"].items():
        print(f"  {key}: {value}")
    if data["log_tail"]:
        print("  worker log tail:\n    " + data["log_tail"].strip().replace("\n", "\n    "))


async def scenarios(chaos: ChaosCluster, names: list[str], minutes: float, rate: float,
                    save: bool, note: str = "") -> bool:
    ok = True
    for name in names:
        began, load_before = time.monotonic(), load_line()
        result = await run(chaos, name, minutes * 60, rate)
        command = f"python -m bench.chaos {name} --minutes {minutes:g} --rate {rate:g}"
        data = record(result, minutes, rate, began, load_before, command)
        data["note"] = note
        print_result(result, data)
        ok &= result.passed
        if save:
            RESULTS.mkdir(parents=True, exist_ok=True)
            (RESULTS / f"{name}.json").write_text(json.dumps(data, indent=1) + "\n")
    return ok


def main() -> None:
    logging.basicConfig(level=logging.ERROR)
    # The clients' reconnect noise while brokers start, die and come back is expected here.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="+", choices=[*SCENARIOS, "all", "soak"])
    parser.add_argument("--minutes", type=float, default=2.0, help="load per scenario")
    parser.add_argument("--rate", type=float, default=20.0, help="units of load per second")
    parser.add_argument("--soak-rate", type=float, default=None,
                        help="soak: units/s (default: half the burst's maximum)")
    parser.add_argument("--record", action="store_true", help="write docs/reliability/results")
    parser.add_argument("--note", default="", help="recorded with the results (how it was run)")
    args = parser.parse_args()
    print(f"machine: {machine()}; {load_line()}")
    names = list(SCENARIOS) if "all" in args.scenario else args.scenario
    # The cluster starts outside the event loop (its start waits with a loop of its own).
    with three_nodes(proxied_clients=0 if names == ["soak"] else 3) as chaos:
        print(f"cluster: {chaos.bootstrap} (3 nodes, replication 3, min.insync.replicas 2)")
        if names == ["soak"]:
            from bench.chaos.soak import soak

            ok = asyncio.run(soak(chaos, args.minutes, args.record, rate=args.soak_rate))
        else:
            ok = asyncio.run(scenarios(chaos, names, args.minutes, args.rate, args.record,
                                       args.note))
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
