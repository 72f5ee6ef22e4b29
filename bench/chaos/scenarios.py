"""The fault scenarios: each runs the mixed load on the 3-node cluster, injects its fault, lets
the engine finish, and returns the verifier's verdict with the fault's timings.

Every scenario takes `seconds` (how long the load runs) and `rate` (units of load per second);
the CI variants (`tests/chaos/`) run them short, `python -m bench.chaos` at full length.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import resource
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.chaos.cluster import ChaosCluster
from bench.chaos.harness import Harness, harness
from bench.chaos.monitor import timings
from bench.chaos.verify import Verdict, check_stores

__all__ = ["SCENARIOS", "Result", "run", "sequence"]

WARM_S = 20.0


@dataclass
class Result:
    scenario: str
    verdict: Verdict
    figures: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.verdict.passed


Fault = Callable[[Harness], Awaitable[tuple[float, float]]]


async def _with_fault(h: Harness, rate: float, seconds: float, fault: Fault) -> dict[str, float]:
    """Load at `rate` for `seconds`; the fault starts after `WARM_S` (it returns its start and
    end on the monitor's clock); the figures of `monitor.timings`."""
    await h.warm_up()
    await h.load.poison()
    began = h.monitor.elapsed()
    loading = asyncio.create_task(h.load.run(rate, seconds))
    await asyncio.sleep(min(WARM_S, seconds / 3))
    fault_at, healed_at = await fault(h)
    await loading
    load_end = h.monitor.elapsed()
    missing = await h.monitor.wait_all_done(600)
    settled = h.monitor.elapsed()
    figures = timings(h.monitor.samples, fault_at, healed_at, load_end, began)
    if math.isnan(figures["recover_s_from_fault"]):
        # The backlog outlasted the load: recovered when the last execution completed.
        figures["recover_s_from_fault"] = settled - fault_at
        figures["recover_s_from_heal"] = settled - healed_at
    latencies = sorted(h.monitor.latencies(since=began))
    figures.update(units=h.load.sent.units, executions_sent=len(h.load.sent.starts),
                   load_s=load_end - began, all_done_s_after_load=settled - load_end,
                   open_after_600s=len(missing), send_retries=h.load.sent.retries,
                   p99_latency_s=latencies[int(0.99 * (len(latencies) - 1))] if latencies else 0)
    return figures


async def _leader(h: Harness) -> int:
    return await h.chaos.leader(h.topics["commands"], 0)


def broker_kill(restart_after_s: float = 10.0) -> Fault:
    async def fault(h: Harness) -> tuple[float, float]:
        node = await _leader(h)
        at = h.monitor.elapsed()
        h.chaos.kill(node)
        h.note(f"SIGKILL broker {node + 1} (leader of commands/0)")
        await asyncio.sleep(restart_after_s)
        await asyncio.to_thread(h.chaos.restart, node)
        h.note(f"broker {node + 1} restarted and answering")
        return at, h.monitor.elapsed()
    return fault


def broker_pause(pause_s: float = 60.0) -> Fault:
    async def fault(h: Harness) -> tuple[float, float]:
        node = await _leader(h)
        at = h.monitor.elapsed()
        h.chaos.pause(node)
        h.note(f"SIGSTOP broker {node + 1} (leader of commands/0) for {pause_s:.0f} s")
        await asyncio.sleep(pause_s)
        h.chaos.resume(node)
        h.note(f"SIGCONT broker {node + 1}")
        return at, h.monitor.elapsed()
    return fault


def worker_kills(seconds: float, low: float = 3.0, high: float = 10.0, seed: int = 17) -> Fault:
    async def fault(h: Harness) -> tuple[float, float]:
        rng = random.Random(seed)
        at = h.monitor.elapsed()
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            slot = rng.randrange(len(h.pool))
            dead = h.pool.dead()
            assert not dead, f"a worker exited on its own: {dead[0].log_tail()}"
            h.pool.kill(slot)
            h.pool.restart(slot)
            h.note(f"kill {h.pool.kills}: SIGKILL worker {slot}, restarted")
            await asyncio.sleep(rng.uniform(low, high))
        return at, h.monitor.elapsed()
    return fault


def churn(seconds: float, low: float = 2.0, high: float = 5.0, seed: int = 23) -> Fault:
    """Workers join (start) and leave (SIGTERM, handing their partitions over) every few s."""
    async def fault(h: Harness) -> tuple[float, float]:
        rng = random.Random(seed)
        at = h.monitor.elapsed()
        end = time.monotonic() + seconds
        changes = 0
        while time.monotonic() < end:
            slot = rng.randrange(len(h.pool))
            worker = h.pool.workers[slot]
            running = [w for w in h.pool.workers if w.running()]
            if worker.running() and len(running) > 1:
                code = await asyncio.to_thread(worker.stop)
                h.note(f"worker {slot} left (exit {code})")
                if code != 0:
                    h.notes.append(f"worker {slot} stopped with exit code {code}")
            elif not worker.running():
                worker.start()
                h.note(f"worker {slot} joined")
            changes += 1
            await asyncio.sleep(rng.uniform(low, high))
        h.pool.start()  # everyone back for the end
        h.note(f"{changes} membership changes; all workers running")
        return at, h.monitor.elapsed()
    return fault


def network(command: str, hold_s: float, workers: list[int] | None = None) -> Fault:
    """Set `command` on the proxies of `workers` (all by default) for `hold_s`, then clear."""
    async def fault(h: Harness) -> tuple[float, float]:
        targets = workers if workers is not None else list(range(len(h.proxies)))
        at = h.monitor.elapsed()
        for i in targets:
            for part in command.split(";"):
                h.proxies[i].send(part.strip())
        h.note(f"proxies {targets}: {command} for {hold_s:.0f} s")
        await asyncio.sleep(hold_s)
        for i in targets:
            stats = h.proxies[i].send("stats")
            h.proxies[i].send("clear")
            h.note(f"proxy {i}: cleared (connections, resets: {stats})")
        return at, h.monitor.elapsed()
    return fault


def sequence(*steps: tuple[float, Fault]) -> Fault:
    """Several faults one after the other, each after a pause (the CI variants: one run, one
    verdict, every fault of a family)."""
    async def fault(h: Harness) -> tuple[float, float]:
        spans = []
        for pause, step in steps:
            await asyncio.sleep(pause)
            spans.append(await step(h))
        return spans[0][0], spans[-1][1]
    return fault


def kill_one_worker(slot: int) -> Fault:
    async def fault(h: Harness) -> tuple[float, float]:
        at = h.monitor.elapsed()
        h.pool.kill(slot)
        h.pool.restart(slot)
        h.note(f"SIGKILL worker {slot}, restarted")
        return at, at
    return fault


def leave_and_join(slot: int, away_s: float) -> Fault:
    async def fault(h: Harness) -> tuple[float, float]:
        at = h.monitor.elapsed()
        code = await asyncio.to_thread(h.pool.workers[slot].stop)
        h.note(f"worker {slot} left (exit {code})")
        await asyncio.sleep(away_s)
        h.pool.workers[slot].start()
        h.note(f"worker {slot} joined again")
        return at, h.monitor.elapsed()
    return fault


@contextlib.contextmanager
def small_disk(size_mib: int) -> Any:
    """A tmpfs of `size_mib` (mounting needs root); None when it cannot be mounted."""
    path = Path(f"/tmp/hw-chaos-disk-{os.getpid()}-{time.monotonic_ns()}")
    path.mkdir()
    # HEADWATER_CHAOS_NO_TMPFS=1 tries the RLIMIT_FSIZE way where mounting would work.
    mounted = not os.environ.get("HEADWATER_CHAOS_NO_TMPFS") and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mib}m", "tmpfs", str(path)],
        capture_output=True).returncode == 0
    try:
        yield path if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(path)], capture_output=True)
        shutil.rmtree(path, ignore_errors=True)


def fill(path: Path) -> int:
    """Write a filler file into `path` until the disk is full; bytes written."""
    written = 0
    with contextlib.suppress(OSError), (path / "filler").open("wb") as out:
        block = b"\0" * (1 << 20)
        while True:
            out.write(block)
            out.flush()
            written += len(block)
    return written


def disk_full(hold_s: float) -> Fault:
    """Worker 0's disk full for `hold_s`: its tmpfs filled up, or, where no tmpfs can be
    mounted, its file-size limit (RLIMIT_FSIZE, set on the running process) cut to zero, so
    every write that grows a file fails (EFBIG) as it would with ENOSPC."""
    async def fault(h: Harness) -> tuple[float, float]:
        worker = h.pool.workers[0]
        tmpfs = h.extra_result.get("small_disk") == "tmpfs"
        at = h.monitor.elapsed()
        if tmpfs:
            filled = await asyncio.to_thread(fill, worker.data_dir)
            h.note(f"worker 0's disk full ({filled >> 20} MiB of filler written)")
        else:
            assert worker.pid is not None
            resource.prlimit(worker.pid, resource.RLIMIT_FSIZE, (0, 0))
            h.note("worker 0's file-size limit cut to 0 (no tmpfs here)")
        await asyncio.sleep(hold_s)
        exited = not worker.running()
        h.extra_result["exited_on_full_disk"] = exited
        h.extra_result["log_tail"] = worker.log_tail(1500)
        said = [reason for reason in ("No space left on device", "File too large")
                if reason in worker.log_tail(1 << 24)]
        h.extra_result["exit_reason"] = said[0] if exited and said else None
        if tmpfs:
            (worker.data_dir / "filler").unlink()
        elif not exited:
            assert worker.pid is not None
            unlimited = resource.RLIM_INFINITY
            resource.prlimit(worker.pid, resource.RLIMIT_FSIZE, (unlimited, unlimited))
        h.note(f"disk space back; worker 0 {'had exited' if exited else 'kept running'}")
        if exited:
            worker.kill()  # reaps it
            worker.start()
            h.note("worker 0 restarted")
        return at, h.monitor.elapsed()
    return fault


def corrupt(store: Path) -> list[str]:
    """Flush every RocksDB under `store` into tables, then overwrite a stretch of the middle of
    each table and log file with random bytes (what a torn write or a bad disk leaves)."""
    from rocksdict import Options, Rdict

    hit = []
    for current in sorted(store.rglob("CURRENT")):
        db = Rdict(str(current.parent), Options(raw_mode=True))
        db.flush()
        db.close()
        del db
        for path in sorted(current.parent.iterdir()):
            if path.suffix in (".sst", ".log") and path.stat().st_size > 64:
                size = path.stat().st_size
                with path.open("r+b") as out:
                    out.seek(size // 3)
                    out.write(os.urandom(min(4096, size // 3)))
                hit.append(f"{current.parent.name}/{path.name} ({size} B)")
    return hit


def corrupt_store(watch_s: float) -> Fault:
    async def fault(h: Harness) -> tuple[float, float]:
        worker = h.pool.workers[0]
        at = h.monitor.elapsed()
        h.pool.kill(0)
        hit = corrupt(worker.data_dir / "worker")
        h.note(f"worker 0 killed, its stores corrupted: {', '.join(hit) or 'no files'}")
        worker.start()
        # Until it opened its stores (a loaded machine takes many seconds to import it all).
        deadline = time.monotonic() + 300
        while worker.running() and time.monotonic() < deadline \
                and "is corrupt" not in worker.log_tail(1 << 24):
            await asyncio.sleep(0.5)
        await asyncio.sleep(watch_s)
        exited = not worker.running()
        h.extra_result["exited_on_corrupt_store"] = exited
        h.extra_result["rebuilt_from_log"] = "rebuilding it from the log" in worker.log_tail(1 << 24)
        h.extra_result["log_tail"] = worker.log_tail(1500)
        h.note(f"worker 0 {'exited' if exited else 'is running'} {watch_s:.0f} s after its restart")
        return at, h.monitor.elapsed()
    return fault


async def run(chaos: ChaosCluster, scenario: str, seconds: float, rate: float,
              spec: dict[str, Any] | None = None) -> Result:
    """Run `scenario` on `chaos` for `seconds` of load at `rate` units/s (`spec`: one not in
    `SCENARIOS`, as the CI variants combine several faults)."""
    spec = spec or SCENARIOS[scenario]
    workers, proxied = spec.get("workers", 2), spec.get("proxied", False)
    fault: Fault = spec["fault"](seconds)
    with small_disk(spec["disk_mib"]) if "disk_mib" in spec else contextlib.nullcontext() as disk:
        dirs = [disk / "w0"] if disk is not None else None
        async with harness(chaos, workers, proxied, data_dirs=dirs) as h:
            h.extra_result = {"small_disk": "tmpfs" if disk else "RLIMIT_FSIZE"} \
                if "disk_mib" in spec else {}
            figures = await _with_fault(h, rate, seconds, fault)
            stores = [w.data_dir / "worker" / "executions" for w in h.pool.workers]
            verdict = await h.finish()
            await check_stores(verdict, h.chaos.bootstrap, h.topics, h.prefix, stores)
            return Result(scenario, verdict, figures, h.notes, h.extra_result)


SCENARIOS: dict[str, dict[str, Any]] = {
    "broker-kill": {"fault": lambda s: broker_kill(10.0)},
    "broker-pause": {"fault": lambda s: broker_pause(min(60.0, s / 2))},
    "worker-kill": {"fault": lambda s: worker_kills(s - 2 * WARM_S if s > 90 else s / 2),
                    "workers": 3},
    "churn": {"fault": lambda s: churn(s / 2), "workers": 3},
    "net-latency": {"fault": lambda s: network("latency 100 50", min(60.0, s / 2)),
                    "proxied": True},
    "net-loss": {"fault": lambda s: network("loss 0.05", min(60.0, s / 2)), "proxied": True},
    "net-partition": {"fault": lambda s: network("partition on", 30.0, [0]), "proxied": True},
    "disk-full": {"fault": lambda s: disk_full(min(30.0, s / 3)), "disk_mib": 256},
    "corrupt-store": {"fault": lambda s: corrupt_store(min(30.0, s / 3))},
}
