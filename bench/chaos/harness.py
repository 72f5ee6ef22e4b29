"""One scenario's world: the cluster, a fresh topic prefix, the API, N workers (direct or each
behind its own proxy), the load generator and the monitor; and its ending: quiesce, stop,
verify.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.chaos.cluster import ChaosCluster, free_ports
from bench.chaos.load import Load
from bench.chaos.monitor import Monitor
from bench.chaos.processes import ApiProcess, Pool, rss_mib
from bench.chaos.proxy import ProxyClient
from bench.chaos.verify import Verdict, verify
from infra.topics import topic_names

__all__ = ["Harness", "harness"]

ROOT = Path(__file__).parents[2]


@dataclass
class Harness:
    chaos: ChaosCluster
    prefix: str
    topics: dict[str, str]
    home: Path
    pool: Pool
    api: ApiProcess
    load: Load
    monitor: Monitor
    proxies: list[ProxyClient] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra_result: dict[str, Any] = field(default_factory=dict)

    def note(self, text: str) -> None:
        line = f"{self.monitor.elapsed():7.1f} s  {text}"
        self.notes.append(line)
        print(line, flush=True)

    async def warm_up(self, timeout_s: float = 300) -> None:
        """Run a few units until the workers complete executions (they have joined)."""
        for _ in range(len(self.load.sent.starts) or 9):
            await self.load.one()
        first = set(self.load.sent.starts)
        deadline = time.monotonic() + timeout_s
        while not first <= self.monitor.done.keys():
            dead = self.pool.dead()
            assert not dead, f"a worker exited while starting: {dead[0].log_tail()}"
            assert time.monotonic() < deadline, "the workers did not complete the warm-up"
            await asyncio.sleep(0.5)

    async def finish(self, timeout_s: float = 600) -> Verdict:
        """Let every execution finish, stop the processes, and run the verifier."""
        await self.load.drain()
        for proxy in self.proxies:
            proxy.send("clear")
        missing = await self.monitor.wait_all_done(timeout_s)
        if missing:
            self.note(f"{len(missing)} executions still open after {timeout_s} s, e.g. {missing[:5]}")
        # The triggers too: executions ending says nothing of the trigger partitions, which a
        # fault may have left further behind (the engine's work is done when both are).
        began = time.monotonic()
        unanswered = await self.monitor.wait_all_answered(timeout_s)
        waited = time.monotonic() - began
        if unanswered:
            self.note(f"{len(unanswered)} triggers without an outcome after {timeout_s} s, "
                      f"e.g. {unanswered[:5]}")
        elif waited > 1:
            self.note(f"the last trigger outcomes came {waited:.1f} s after the executions ended")
        await asyncio.sleep(3)  # the last commits
        codes = self.pool.stop()
        self.note(f"workers stopped, exit codes {codes}")
        deadline = time.monotonic() + 300
        while (lag := self.api.view_lag()) != 0 and time.monotonic() < deadline:
            await asyncio.sleep(1)
        self.note(f"API views caught up (lag {lag}); stopping the API")
        self.api.stop()
        verdict = await verify(self.chaos.bootstrap, self.topics, self.prefix, self.load.sent,
                               self.api.views_path)
        # -15: a worker restarted moments ago can meet the SIGTERM before its handler is in.
        verdict.check("workers stopped cleanly at the end",
                      [f"exit {c}" for c in codes if c not in (0, None, -15)])
        return verdict

    def rss(self) -> dict[str, float]:
        workers = sum(rss_mib(pid) for pid in self.pool.pids())
        brokers = sum(rss_mib(self.chaos.pid(i)) for i in range(3))
        return {"worker_rss_mib": workers, "broker_rss_mib": brokers}


@contextlib.asynccontextmanager
async def harness(chaos: ChaosCluster, workers: int = 2, proxied: bool = False,
                  env: Mapping[str, str] | None = None, file_size_limit: int | None = None,
                  data_dirs: list[Path] | None = None,
                  probes: dict[str, Any] | None = None) -> AsyncIterator[Harness]:
    """A fresh prefix on `chaos`, the API and `workers` workers running, definitions published.

    `proxied`: worker i reaches the brokers through proxy i (the cluster must have been started
    with that many proxied listeners). `data_dirs` places the workers' data (e.g. on a tmpfs).
    """
    prefix = f"chaos{uuid.uuid4().hex[:6]}."
    topics = topic_names(prefix)
    await chaos.create_topics(prefix)
    home = Path(tempfile.mkdtemp(prefix="hw-chaos-"))
    proxies: list[ProxyClient] = []
    children: list[subprocess.Popen[bytes]] = []
    bootstraps = [chaos.bootstrap] * workers
    if proxied:
        for i in range(workers):
            control = free_ports(1)[0]
            routes = [f"--route={a}:{b}" for a, b in chaos.proxy_routes(i)]
            children.append(subprocess.Popen(
                [sys.executable, "-m", "bench.chaos.proxy", f"--control={control}", *routes],
                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=(home / f"proxy{i}.log").open("wb")))
            proxies.append(ProxyClient(control))
            bootstraps[i] = chaos.proxied_bootstrap(i)
        await asyncio.sleep(1.5)
    pool = Pool(bootstraps, prefix, home, env, file_size_limit)
    if data_dirs:
        for worker, path in zip(pool.workers, data_dirs, strict=False):
            worker.data_dir = path
            worker.env["HEADWATER_DATA_DIR"] = str(path)
    api = ApiProcess(chaos.bootstrap, prefix, home / "api")
    try:
        async with Load(chaos.bootstrap, topics, prefix) as load:
            await load.publish_definitions()
            api.start()
            pool.start()
            monitor = Monitor(chaos.bootstrap, topics["executions"], load.codec, load.sent,
                              probes, outcomes_topic=topics["rule-outcomes"])
            async with monitor:
                h = Harness(chaos, prefix, topics, home, pool, api, load, monitor, proxies)
                await asyncio.to_thread(api.wait_ready)
                yield h
    finally:
        pool.stop()
        api.stop()
        for child in children:
            child.kill()
            child.wait()
        if not os.environ.get("HEADWATER_CHAOS_KEEP"):  # set it to keep the processes' logs
            shutil.rmtree(home, ignore_errors=True)
