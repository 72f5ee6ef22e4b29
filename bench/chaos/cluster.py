"""A local 3-node KRaft cluster for fault scenarios: replication 3, `min.insync.replicas` 2.

The nodes come from `infra.kafka` (fetched from Maven Central, as every test broker). Besides
the direct listener, each node can carry one extra listener per proxied client (`W1`, `W2`,
...), advertised at the port of that client's fault-injecting proxy (`bench.chaos.proxy`): a
worker that bootstraps through its proxy is told the proxy's ports for every broker, so all its
traffic, metadata included, crosses the proxy and meets the faults set there.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from infra.kafka import ClusterLayout, ExtraListener, LocalCluster, fetch_distribution
from infra.topics import create_topics_async

__all__ = ["ChaosCluster", "free_ports", "three_nodes"]

NODES = 3
PARTITIONS = 6


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports on 127.0.0.1 (20000-30000, outside the ephemeral range)."""
    rng = random.Random()
    found: list[int] = []
    while len(found) < count:
        port = rng.randrange(20000, 30000)
        if port in found:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
    return found


def _consecutive(count: int) -> int:
    """A base port p with p .. p+count-1 free (the cluster's client/controller pairs)."""
    rng = random.Random()
    for _ in range(500):
        base = rng.randrange(20000, 30000 - count, 2)
        with contextlib.ExitStack() as stack:
            try:
                for port in range(base, base + count):
                    sock = stack.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return base
    raise RuntimeError(f"no {count} consecutive free ports")


@dataclass
class ChaosCluster:
    """A running cluster and the ports its proxied listeners expect.

    Attributes:
        cluster: The nodes (start, stop, kill one).
        proxied: Per proxied client: the listener (its broker-side ports and the ports its proxy
            must listen on, in node order).
    """

    cluster: LocalCluster
    proxied: list[ExtraListener]

    @property
    def bootstrap(self) -> str:
        """The direct listeners (no proxy)."""
        return self.cluster.bootstrap

    def proxy_routes(self, client: int) -> list[tuple[int, int]]:
        """(listen port, broker port) per node for proxied client `client` (0-based)."""
        extra = self.proxied[client]
        return list(zip(extra.advertised, extra.ports, strict=True))

    def proxied_bootstrap(self, client: int) -> str:
        return ",".join(f"127.0.0.1:{port}" for port in self.proxied[client].advertised)

    def pid(self, node: int) -> int | None:
        return self.cluster.status()[node][1]

    def kill(self, node: int) -> None:
        """SIGKILL node `node` (0-based) and wait until it is gone."""
        self.cluster.stop_node(node, kill=True)

    def restart(self, node: int) -> None:
        """Start node `node` again on its data and wait until it answers."""
        self.cluster.start_node(node, wait=True)

    def pause(self, node: int) -> None:
        """SIGSTOP: the node is frozen, its connections stay open and unanswered."""
        pid = self.pid(node)
        assert pid is not None, f"node {node} is not running"
        os.kill(pid, signal.SIGSTOP)

    def resume(self, node: int) -> None:
        pid = self.pid(node)
        assert pid is not None, f"node {node} is not running"
        os.kill(pid, signal.SIGCONT)

    async def leader(self, topic: str, partition: int = 0) -> int:
        """The node index (0-based) leading `topic`'s `partition`."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            [described] = await admin.describe_topics([topic])
            for entry in described["partitions"]:
                if entry["partition"] == partition:
                    return int(entry["leader"]) - 1
            raise LookupError(f"{topic} has no partition {partition}")
        finally:
            await admin.close()

    async def create_topics(self, prefix: str) -> None:
        """Every topic of the design under `prefix`, replicated on all three nodes."""
        await create_topics_async(self.bootstrap, prefix, partitions=PARTITIONS, replication=NODES)


@contextlib.contextmanager
def three_nodes(proxied_clients: int = 0, home: Path | None = None,
                keep: bool = False) -> Iterator[ChaosCluster]:
    """Start a 3-node cluster (with `proxied_clients` proxied listeners); stop and remove it after.

    `HEADWATER_CHAOS_HEAP` sets each node's JVM heap options (default 512 MiB: three nodes share
    the machine with the workers under test). The heap is committed and touched at start
    (``-Xms`` = ``-Xmx``, ``AlwaysPreTouch``), so a broker's RSS is flat from its first second
    and the soak's RSS bound measures leaks, not the JVM growing into its heap.
    """
    home = home or Path(tempfile.mkdtemp(prefix="hw-chaos-cluster-"))
    proxied = []
    for i in range(proxied_clients):
        ports = free_ports(2 * NODES)
        proxied.append(ExtraListener(f"W{i + 1}", tuple(ports[:NODES]), tuple(ports[NODES:])))
    layout = ClusterLayout(home, port=_consecutive(2 * NODES), nodes=NODES,
                           extra_listeners=tuple(proxied),
                           heap=os.environ.get("HEADWATER_CHAOS_HEAP",
                                               "-Xms512m -Xmx512m -XX:+AlwaysPreTouch"))
    cluster = LocalCluster(fetch_distribution(), layout)
    try:
        cluster.start(timeout_s=180)
        yield ChaosCluster(cluster, proxied)
    finally:
        for node in range(NODES):  # a paused node ignores SIGTERM until it is resumed
            pid = cluster.status()[node][1]
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)
        cluster.stop()
        if not keep:
            shutil.rmtree(home, ignore_errors=True)


def _main() -> None:  # pragma: no cover - a manual check
    with three_nodes(1) as chaos:
        print(chaos.bootstrap, chaos.proxied_bootstrap(0))
        asyncio.run(chaos.create_topics("probe."))
        print("leader of probe.commands/0:", asyncio.run(chaos.leader("probe.commands")))


if __name__ == "__main__":  # pragma: no cover
    _main()
