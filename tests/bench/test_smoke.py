"""Every benchmark in `bench/` runs to the end with tiny arguments.

Benchmarks are scripts nobody runs on every change, so a signature they call could change and
break one unseen (it happened: bench.api's lag phase called bench.e2e's burst with its old
arguments). This runs each of them (`headwater bench` lists the same names) as users run it,
`python -m bench.<name>`, against the test session's broker, and checks that it exits cleanly
and printed its figures. Timings are not checked: the figures of a tiny run mean nothing.

A new benchmark must add its tiny arguments to `TINY`: the test fails for a bench without them.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from headwater.cli_bench import bench_names

ROOT = Path(__file__).parents[2]

TINY: dict[str, tuple[list[str], str]] = {
    # name: (arguments, a piece of text its output must contain)
    "api": (["--seconds", "0.3", "--clients", "2", "--executions", "40", "--e2e-executions", "10",
             "--e2e-rate", "10", "--e2e-seconds", "0.5"], "req/s"),
    "codec": (["--seconds", "0.02"], "TriggerEvent"),
    "core": (["--quick", "--waiting", "100"], "sequential-3"),
    "crash_notes": (["--rounds", "100"], "per cycle"),
    "e2e": (["--executions", "10", "--rate", "10", "--seconds", "0.5", "--raw-records", "500"],
            "executions/s"),
    "expressions": ([], "longest accepted evaluation"),
    "failover": (["--window", "2", "--kills", "2", "--every", "2", "--settle", "1",
                  "--warm-rate", "20", "--max-rate", "30", "--timeout", "30"], "verified"),
    "insights": (["--rules", "100", "--runs", "1"], "findings"),
    "kafka_baseline": (["--records", "500"], "rec/s"),
    "regex": (["--quick"], "nested quantifier"),
    "rule_gates": (["--firings", "200"], "gate owner"),
    "rules": (["--rules", "10", "--events", "200", "--no-durable"], "ev/s"),
    "triggers": (["--rules", "10", "--events", "300", "--rate", "100", "--seconds", "0.5",
                  "--raw-records", "500"], "burst"),
    "scaling_model": (["--trials", "20", "--samples", "200"], "doubling"),
    "ui": (["--runs", "1", "--steps", "20"], "load to interactive"),
    "validation": ([], "validate p50"),
    "w3": (["--quick", "--closed", "20", "--in-flight", "5", "--rates", "10", "--seconds", "0.5",
            "--idle", "0.5", "--warm-up", "5"], "requests per execution"),
}


def test_every_bench_has_tiny_arguments() -> None:
    assert sorted(TINY) == bench_names(), "add the new benchmark's tiny arguments to TINY"


def test_helper_modules_import() -> None:
    # Modules other benches import (bench.api_lag, bench._counting, ...) import on their own.
    for path in sorted((ROOT / "bench").glob("*.py")):
        importlib.import_module(f"bench.{path.stem}")


def _ui_runnable() -> bool:
    return Path("/usr/bin/chromium").exists() and (ROOT / "projections/ui/index.html").exists()


def _run(name: str, bootstrap: str) -> tuple[str, subprocess.CompletedProcess[str], float]:
    args, _ = TINY[name]
    env = {**os.environ, "HEADWATER_KAFKA_BOOTSTRAP": bootstrap}
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", f"bench.{name}", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240, check=False)
    return name, done, time.monotonic() - began


@pytest.mark.kafka
def test_every_bench_runs_with_tiny_arguments(kafka_bootstrap: str) -> None:
    # Three at a time: most of a tiny run is importing and connecting, not computing.
    # bench.ui drives the system Chromium over the built UI: without them it cannot run (the
    # browser tests skip alike, saying why)
    names = [n for n in sorted(TINY) if n != "ui" or _ui_runnable()]
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda name: _run(name, kafka_bootstrap), names))
    failures = []
    for name, done, seconds in results:
        print(f"bench.{name}: {seconds:.1f} s")
        expected = TINY[name][1]
        if done.returncode != 0 or expected not in done.stdout:
            failures.append(f"bench.{name} (exit {done.returncode}, {seconds:.0f} s, "
                            f"{expected!r} {'printed' if expected in done.stdout else 'missing'}):\n"
                            f"{done.stdout[-1500:]}\n{done.stderr[-3000:]}")
    assert not failures, "\n\n".join(failures)
