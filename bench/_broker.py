"""A broker for benchmarks: `HEADWATER_KAFKA_BOOTSTRAP`, or a throwaway local KRaft broker
(`HEADWATER_BENCH_NODES=3`: a throwaway 3-node cluster; topics then replicate 3 times with
`min.insync.replicas` 2, see `replication`)."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from infra.kafka import ClusterLayout, LocalCluster, fetch_distribution


@dataclass(frozen=True)
class Broker:
    """A broker to measure against: its bootstrap servers and, when known, its process id
    (for its CPU time: `HEADWATER_KAFKA_PID` names it for a broker started elsewhere)."""

    bootstrap: str
    pid: int | None


@contextlib.contextmanager
def broker(port: int = 29092) -> Iterator[str]:
    """Yield bootstrap servers; a local broker started here is stopped and removed afterwards."""
    with broker_process(port) as found:
        yield found.bootstrap


@contextlib.contextmanager
def broker_process(port: int = 29092) -> Iterator[Broker]:
    """`broker`, with the broker's process id where it is known."""
    explicit = os.environ.get("HEADWATER_KAFKA_BOOTSTRAP")
    if explicit:
        pid = os.environ.get("HEADWATER_KAFKA_PID")
        yield Broker(explicit, int(pid) if pid else None)
        return
    home = Path(tempfile.mkdtemp(prefix="hw-bench-"))
    dist = fetch_distribution()
    cluster = LocalCluster(dist, ClusterLayout(home, port=port, nodes=nodes()))
    cluster.start()
    try:
        yield Broker(cluster.bootstrap, cluster.status()[0][1])
    finally:
        cluster.stop()
        shutil.rmtree(home, ignore_errors=True)


def nodes() -> int:
    """Nodes of the throwaway cluster (`HEADWATER_BENCH_NODES`, default 1)."""
    return int(os.environ.get("HEADWATER_BENCH_NODES", "1"))


def replication() -> int:
    """The replication factor of the topics a benchmark creates on the throwaway cluster."""
    return min(3, nodes()) if not os.environ.get("HEADWATER_KAFKA_BOOTSTRAP") else 1


@dataclass
class MachineCpu:
    """The whole machine's CPU between `start` and `idle`: what other work left free."""

    began: tuple[int, int] = (0, 0)

    @staticmethod
    def _read() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return fields[3] + fields[4], sum(fields[:8])  # idle + iowait, all but guest time

    def start(self) -> MachineCpu:
        self.began = self._read()
        return self

    def idle(self) -> str:
        """'idle 23% of 2 cores' since `start`."""
        idle, total = self._read()
        share = (idle - self.began[0]) / max(1, total - self.began[1])
        return f"machine CPU idle {share:.0%} of {os.cpu_count()} cores"


def machine() -> str:
    """One line describing this machine, for the figures' provenance."""
    mem_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB, Python {platform.python_version()}, "
            f"{platform.system()} {platform.release()}")
