"""A broker for benchmarks: `HEADWATER_KAFKA_BOOTSTRAP`, or a throwaway local KRaft broker."""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from infra.kafka import ClusterLayout, LocalCluster, fetch_distribution


@contextlib.contextmanager
def broker(port: int = 29092) -> Iterator[str]:
    """Yield bootstrap servers; a local broker started here is stopped and removed afterwards."""
    explicit = os.environ.get("HEADWATER_KAFKA_BOOTSTRAP")
    if explicit:
        yield explicit
        return
    home = Path(tempfile.mkdtemp(prefix="hw-bench-"))
    dist = fetch_distribution()
    cluster = LocalCluster(dist, ClusterLayout(home, port=port))
    cluster.start()
    try:
        yield cluster.bootstrap
    finally:
        cluster.stop()
        shutil.rmtree(home, ignore_errors=True)


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
