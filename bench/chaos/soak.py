"""Soak: the mixed load at half the measured maximum for a long time, on the 3-node cluster.

First a burst measures the maximum (units of the mixed load completed per second, two
workers); then the load runs at half of it for `minutes`. Every 10 s: the workers' and the
brokers' resident memory, the executions in flight (started and not completed: the engine's
lag), the API's projection lag, and the p99 start-to-completion latency of the executions
completed in those 10 s. The run passes when the verifier passes and memory and lag stay flat:
the last third's mean is within the bounds below of the middle third's (the first third is the
warm-up of caches and JIT-less allocators).
"""

from __future__ import annotations

import json
import math
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench._broker import machine
from bench.chaos.cluster import ChaosCluster
from bench.chaos.harness import Harness, harness
from bench.chaos.scenarios import Result

__all__ = ["soak"]

DOCS = Path(__file__).parents[2] / "docs" / "reliability"
EVERY_S = 10.0
RSS_GROWTH = 0.15
"""The last third's mean RSS may exceed the middle third's by at most 15 % (or 40 MiB)."""
RSS_SLACK_MIB = 40.0
LAG_FACTOR = 2.0
"""The last third's mean executions in flight at most twice the middle third's (plus 20)."""


async def measure_max(h: Harness, units: int) -> float:
    """Units of load completed per second in a burst of `units`."""
    began = time.time()
    for _ in range(units):
        await h.load.one()
    await h.load.drain()
    missing = await h.monitor.wait_all_done(600)
    assert not missing, f"the burst did not finish: {len(missing)} open"
    return units / (max(h.monitor.done.values()) - began)


def series(h: Harness, began: float) -> list[dict[str, float]]:
    """The 10 s samples since `began` (monitor seconds)."""
    origin = time.time() - h.monitor.elapsed()
    rows = []
    done = sorted((at - origin, eid) for eid, at in h.monitor.done.items())
    for sample in h.monitor.samples:
        if sample.at < began:
            continue
        window = [eid for at, eid in done if sample.at - EVERY_S < at <= sample.at]
        latencies = sorted(h.monitor.done[e] - h.load.sent.starts[e] for e in window
                           if e in h.load.sent.starts)
        rows.append({"t_min": (sample.at - began) / 60, "in_flight": sample.in_flight,
                     "completed_per_s": len(window) / EVERY_S,
                     "p99_s": latencies[int(0.99 * (len(latencies) - 1))] if latencies else math.nan,
                     **sample.extra})
    return rows


def flatness(rows: list[dict[str, float]]) -> dict[str, Any]:
    third = len(rows) // 3
    middle, last = rows[third:2 * third], rows[2 * third:]

    def mean(part: list[dict[str, float]], key: str) -> float:
        values = [r[key] for r in part if not math.isnan(r[key])]
        return statistics.mean(values) if values else math.nan

    out: dict[str, Any] = {}
    for key in ("worker_rss_mib", "broker_rss_mib"):
        a, b = mean(middle, key), mean(last, key)
        out[key] = {"middle": round(a, 1), "last": round(b, 1),
                    "flat": b <= max(a * (1 + RSS_GROWTH), a + RSS_SLACK_MIB)}
    for key in ("in_flight", "view_lag"):
        a, b = mean(middle, key), mean(last, key)
        out[key] = {"middle": round(a, 1), "last": round(b, 1), "flat": b <= LAG_FACTOR * a + 20}
    return out


def plot(rows: list[dict[str, float]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = [r["t_min"] for r in rows]
    fig, axes = plt.subplots(4, 1, figsize=(9, 10), sharex=True)
    panels = [("resident memory (MiB)", ["worker_rss_mib", "broker_rss_mib"],
               ["workers (sum of 2)", "brokers (sum of 3)"]),
              ("lag", ["in_flight", "view_lag"],
               ["executions in flight", "projection lag (records)"]),
              ("p99 start → completed (s)", ["p99_s"], ["p99 over 10 s"]),
              ("throughput", ["completed_per_s"], ["executions completed/s"])]
    for ax, (label, keys, names) in zip(axes, panels, strict=True):
        for key, name in zip(keys, names, strict=True):
            ax.plot(t, [r.get(key, math.nan) for r in rows], label=name)
        ax.set_ylabel(label)
        ax.legend(loc="upper left", fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1].set_xlabel("minutes")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


async def soak(chaos: ChaosCluster, minutes: float, save: bool, burst: int = 900,
               rate: float | None = None) -> bool:
    """`rate`: units/s to soak at instead of half the burst's maximum (a burst measured while
    the machine is shared swings by 2x; a fixed rate keeps runs comparable)."""
    began_wall = time.monotonic()
    async with harness(chaos, workers=2) as h:
        h.monitor.probes.update({
            "worker_rss_mib": lambda: h.rss()["worker_rss_mib"],
            "broker_rss_mib": lambda: h.rss()["broker_rss_mib"],
            "view_lag": lambda: float(h.api.view_lag() or math.nan)})
        h.monitor.every_s = EVERY_S
        await h.warm_up()
        top = await measure_max(h, burst)
        rate = rate or top / 2
        h.note(f"maximum {top:.1f} units/s (burst of {burst}); soaking at {rate:.1f}/s "
               f"for {minutes:g} min")
        began = h.monitor.elapsed()
        await h.load.run(rate, minutes * 60)
        rows = series(h, began)
        verdict = await h.finish()
        result = Result("soak", verdict, {"max_units_per_s": top, "rate": rate})
    flat = flatness(rows)
    passed = result.passed and all(v["flat"] for v in flat.values())
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    title = (f"headwater soak {stamp}: {minutes:g} min at {rate:.1f} units/s (burst maximum "
             f"{top:.1f}), 3-node cluster, 2 workers; {machine()}")
    print(f"== soak: {'PASS' if passed else 'FAIL'}")
    for line in verdict.lines():
        print(line)
    print(f"  flatness: {flat}")
    if save:
        DOCS.mkdir(parents=True, exist_ok=True)
        plot(rows, DOCS / "soak.png", title)
        (DOCS / "results").mkdir(exist_ok=True)
        (DOCS / "results" / "soak.json").write_text(json.dumps({
            "scenario": "soak", "passed": passed, "date": stamp, "machine": machine(),
            "minutes": minutes, "max_units_per_s": round(top, 1), "rate": round(rate, 1),
            "wall_s": round(time.monotonic() - began_wall), "checks": verdict.checks,
            "counts": verdict.counts, "flatness": flat, "notes": h.notes,
            "samples": [{k: (None if isinstance(v, float) and math.isnan(v) else round(v, 2))
                         for k, v in r.items()} for r in rows],
            "command": f"python -m bench.chaos soak --minutes {minutes:g} --soak-rate {rate:g} "
                       "--record"}, indent=1)
            + "\n")
    return passed
