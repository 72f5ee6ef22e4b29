"""bench/api.py's projection lag: the views' distance from the log end while a worker runs
bench.e2e's load (a burst of starts of its 3-step workflow, then a paced run).

A thread (``LagSampler``) asks the served API's ``/views/lag`` every 100 ms throughout; per
view (the source topic: ``executions``, ``rule-outcomes``, ``definitions``) the report gives
the max, p99 and p50 of the records behind over the samples, how many samples there were, and
how long the views took to catch up once the last execution completed.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import httpx

from bench.e2e import Driver, burst, paced, warm_up, worker_process

if TYPE_CHECKING:
    from bench.api import Report

__all__ = ["LagSampler", "lag_under_e2e_load"]


class LagSampler(threading.Thread):
    """Asks ``/views/lag`` every ``interval_s`` from its own thread, so the load this process
    generates on its event loop cannot starve the sampling (it did: the first version sampled
    on the same loop as the producer and saw one sample, or none, per run)."""

    def __init__(self, base: str, interval_s: float = 0.1) -> None:
        super().__init__(daemon=True, name="lag-sampler")
        self.base, self.interval_s = base, interval_s
        self.samples: list[dict[str, int]] = []
        self.failed = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        """Sample until stopped; a failed request is counted, not fatal."""
        with httpx.Client(base_url=self.base, timeout=10) as client:
            while not self._stop_event.wait(self.interval_s):
                try:
                    body = client.get("/views/lag").raise_for_status().json()
                except httpx.HTTPError:
                    self.failed += 1
                    continue
                per_view: dict[str, int] = {}
                for part in body["partitions"]:
                    view = part["topic"].rsplit(".", 1)[-1]
                    per_view[view] = per_view.get(view, 0) + part["lag"]
                self.samples.append(per_view)

    def stop(self) -> None:
        """Stop sampling and wait for the thread."""
        self._stop_event.set()
        self.join(timeout=15)


def _percentile(values: list[int], q: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0


async def lag_under_e2e_load(base: str, bootstrap: str, prefix: str, args: argparse.Namespace,
                             report: Report) -> None:
    """Run bench.e2e's load against ``prefix`` while sampling the API's lag; report it."""
    from bench.api import wait_caught_up

    sampler = LagSampler(base)
    with tempfile.TemporaryDirectory(prefix="hw-api-lag-") as tmp, \
            worker_process(bootstrap, prefix, Path(tmp)) as child:
        async with Driver(bootstrap, prefix) as driver:
            await warm_up(driver)
            sampler.start()
            began = time.perf_counter()
            lines = [await burst(driver, args.e2e_executions, None, child.pid),
                     await paced(driver, args.e2e_rate, args.e2e_seconds)]
            loaded = time.perf_counter() - began
        async with aiohttp.ClientSession() as http:
            catch_up = await wait_caught_up(http, base)
        sampler.stop()
        assert child.poll() is None, (Path(tmp) / "worker.log").read_text()[-2000:]
    report.say(f"  projection lag under bench.e2e's load ({loaded:.1f} s; "
               f"{len(sampler.samples)} samples every 100 ms, {sampler.failed} failed):")
    for line in lines:
        report.say(f"    engine {line}")
    views = sorted({view for sample in sampler.samples for view in sample})
    lag: dict[str, dict[str, int]] = {}
    for view in views:
        values = [sample.get(view, 0) for sample in sampler.samples]
        lag[view] = {"max": max(values), "p99": _percentile(values, 0.99),
                     "p50": int(statistics.median(values))}
        report.say(f"    {view:<14} records behind: max {lag[view]['max']:>7,}  "
                   f"p99 {lag[view]['p99']:>7,}  p50 {lag[view]['p50']:>7,}")
    report.say(f"    caught up {catch_up:.2f} s after the last execution completed")
    report.figures["projection_lag"] = {"samples": len(sampler.samples), "failed": sampler.failed,
                                        "load_s": round(loaded, 2), "catch_up_s": round(catch_up, 2),
                                        "per_view": lag, "engine": lines}
