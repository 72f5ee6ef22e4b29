"""A local KRaft cluster: N combined broker/controller nodes on 127.0.0.1.

Node i listens for clients on `port + 2*i` and for the controller quorum on `port + 2*i + 1`.
Every node's files (config, data, log, pid) live under `<data_dir>/node-<i>`, so a cluster
started by one command can be stopped or inspected by another.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.kafka.distribution import KafkaDistribution, KafkaSetupError
from infra.kafka.secure import SecureMaterial, acl_bindings, create_acls, ensure_material

_HEAP = os.environ.get("HEADWATER_KAFKA_HEAP", "-Xmx768m")
_LOG4J = """status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
"""


@dataclass(frozen=True)
class NodeLayout:
    """Where one node listens and keeps its files."""

    node_id: int
    port: int
    controller_port: int
    home: Path

    @property
    def config(self) -> Path:
        return self.home / "server.properties"

    @property
    def log(self) -> Path:
        return self.home / "server.log"

    @property
    def pid_file(self) -> Path:
        return self.home / "pid"

    @property
    def data(self) -> Path:
        return self.home / "data"


@dataclass(frozen=True)
class ExtraListener:
    """A further plaintext client listener on every node, advertised at another port.

    Clients that bootstrap through it are told the advertised ports, so a fault-injecting
    proxy listening there sits between them and the brokers (`bench.chaos`): one listener
    per client that should meet its own faults.

    Attributes:
        name: The listener name (upper case, e.g. ``W1``).
        ports: Node i listens on ``ports[i]``.
        advertised: Node i is advertised as ``127.0.0.1:advertised[i]``.
    """

    name: str
    ports: tuple[int, ...]
    advertised: tuple[int, ...]


@dataclass(frozen=True)
class ClusterLayout:
    """Ports and folders of an N-node cluster."""

    data_dir: Path
    port: int = 9092
    nodes: int = 1
    secure: bool = False
    """SASL_SSL client listener with SCRAM users and ACLs (`infra.kafka.secure`)."""
    extra_listeners: tuple[ExtraListener, ...] = ()
    heap: str | None = None
    """Each node's JVM heap options, space-separated (e.g. ``-Xmx512m``); None:
    `HEADWATER_KAFKA_HEAP` or 768 MiB."""

    @property
    def security_home(self) -> Path:
        return self.data_dir / "security"

    def node(self, index: int) -> NodeLayout:
        port = self.port + 2 * index
        return NodeLayout(index + 1, port, port + 1, self.data_dir / f"node-{index + 1}")

    @property
    def all_nodes(self) -> list[NodeLayout]:
        return [self.node(i) for i in range(self.nodes)]

    @property
    def bootstrap(self) -> str:
        return ",".join(f"127.0.0.1:{n.port}" for n in self.all_nodes)

    @property
    def replication(self) -> int:
        return min(3, self.nodes)

    @property
    def cluster_id(self) -> str:
        # Derived from the folder so that every node of one cluster formats with the same id.
        # (It may start with "-": it is passed as `--cluster-id=<id>`, never as a lone argument.)
        digest = hashlib.sha256(str(self.data_dir.resolve()).encode()).digest()[:16]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class LocalCluster:
    """Start, stop and inspect a local KRaft cluster.

    Processes are detached from the caller's terminal session; `stop()` (or `headwater kafka
    down`) ends them with a controlled shutdown.
    """

    def __init__(self, dist: KafkaDistribution, layout: ClusterLayout) -> None:
        self.dist = dist
        self.layout = layout
        self.material: SecureMaterial | None = (
            ensure_material(dist, layout.security_home) if layout.secure else None)

    def client_options(self, user: str = "admin") -> dict[str, Any]:
        """aiokafka keyword arguments that reach this cluster as `user` (nothing if plaintext)."""
        if self.material is None:
            return {}
        from aiokafka.helpers import create_ssl_context

        return {"security_protocol": "SASL_SSL", "sasl_mechanism": "SCRAM-SHA-512",
                "sasl_plain_username": user, "sasl_plain_password": self.material.passwords[user],
                "ssl_context": create_ssl_context(cafile=str(self.material.ca_pem))}

    def grant(self, prefix: str, app_id: str = "headwater") -> None:
        """Add the ACLs of `infra.kafka.secure` for topic `prefix` (a secured cluster only)."""
        if self.material is not None:
            asyncio.run(create_acls(self.bootstrap, acl_bindings(prefix, app_id),
                                    self.client_options("admin")))

    @property
    def bootstrap(self) -> str:
        return self.layout.bootstrap

    def start(self, timeout_s: float = 90.0) -> None:
        """Format (first time only) and start every node, then wait until all answer metadata."""
        stale = [n for n in self.layout.all_nodes if not self.node_running(n)]
        for node in stale:
            _check_port_free(node.port)
            _check_port_free(node.controller_port)
        for node in stale:
            self.start_node(node.node_id - 1, wait=False)
        wait_for_metadata(self.bootstrap, expect_brokers=self.layout.nodes, timeout_s=timeout_s,
                          log_hint=self.layout.node(0).log, client_options=self.client_options())

    def start_node(self, index: int, wait: bool = True) -> None:
        """Start node `index` (0-based), formatting its storage on first use."""
        node = self.layout.node(index)
        if self.node_running(node):
            return
        node.home.mkdir(parents=True, exist_ok=True)
        node.config.write_text(self._server_properties(node))
        (node.home / "log4j2.properties").write_text(_LOG4J.format(log=node.log))
        if not (node.data / "meta.properties").exists():
            self._format(node)
        with open(node.home / "stdout.log", "ab") as out:
            proc = subprocess.Popen(
                self._java(node, "kafka.Kafka", str(node.config)),
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        node.pid_file.write_text(str(proc.pid))
        if wait:
            wait_for_metadata(f"127.0.0.1:{node.port}", timeout_s=90.0, log_hint=node.log,
                              client_options=self.client_options())

    def stop(self, timeout_s: float = 60.0) -> None:
        """Stop every node with a controlled shutdown (SIGTERM), killing what lingers."""
        # Brokers first, in reverse, so the last controller standing sees the others leave.
        for node in reversed(self.layout.all_nodes):
            self._signal(node, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for node in self.layout.all_nodes:
            self._await_exit(node, deadline)

    def stop_node(self, index: int, kill: bool = False, timeout_s: float = 60.0) -> None:
        """Stop node `index` (0-based): SIGTERM, or SIGKILL when `kill`."""
        node = self.layout.node(index)
        self._signal(node, signal.SIGKILL if kill else signal.SIGTERM)
        self._await_exit(node, time.monotonic() + timeout_s)

    def status(self) -> list[tuple[NodeLayout, int | None]]:
        """Each node with its running process id, or None when it is not running."""
        return [(n, _pid(n) if self.node_running(n) else None) for n in self.layout.all_nodes]

    def node_running(self, node: NodeLayout) -> bool:
        pid = _pid(node)
        if pid is None:
            return False
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return not _is_zombie(pid)

    def _signal(self, node: NodeLayout, sig: signal.Signals) -> None:
        pid = _pid(node)
        if pid is not None and self.node_running(node):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def _await_exit(self, node: NodeLayout, deadline: float) -> None:
        while self.node_running(node) and time.monotonic() < deadline:
            time.sleep(0.2)
        if self.node_running(node):
            self._signal(node, signal.SIGKILL)
            while self.node_running(node):
                time.sleep(0.1)
        _reap(_pid(node))
        node.pid_file.unlink(missing_ok=True)

    def _format(self, node: NodeLayout) -> None:
        cmd = self._java(node, "kafka.tools.StorageTool", "format",
                         f"--cluster-id={self.layout.cluster_id}", "-c", str(node.config),
                         "--ignore-formatted",
                         *(self.material.scram_arguments() if self.material else []))
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or ["no output"]
            raise KafkaSetupError(f"formatting Kafka storage in {node.data} failed: {tail[0]}")

    def _java(self, node: NodeLayout, main: str, *args: str) -> list[str]:
        return [
            self.dist.java, *(self.layout.heap or _HEAP).split(), "-XX:+UseG1GC", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={node.home / 'log4j2.properties'}",
            "-cp", self.dist.classpath, main, *args,
        ]

    def _server_properties(self, node: NodeLayout) -> str:
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.layout.all_nodes)
        rf = self.layout.replication
        props = {
            "process.roles": "broker,controller",
            "node.id": node.node_id,
            "controller.quorum.voters": voters,
            "listeners": f"PLAINTEXT://127.0.0.1:{node.port},CONTROLLER://127.0.0.1:{node.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{node.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": node.data,
            # Topics are declared (infra.topics); a typo must not silently create one.
            "auto.create.topics.enable": "false",
            "num.partitions": 6,
            "default.replication.factor": rf,
            "min.insync.replicas": max(1, rf - 1),
            "offsets.topic.replication.factor": rf,
            "offsets.topic.num.partitions": 12,
            "transaction.state.log.replication.factor": rf,
            "transaction.state.log.min.isr": max(1, rf - 1),
            "transaction.state.log.num.partitions": 6,
            "share.coordinator.state.topic.replication.factor": rf,
            "share.coordinator.state.topic.min.isr": max(1, rf - 1),
            "group.initial.rebalance.delay.ms": 0,
            # Workers' session timeout is 3 s (a killed worker's partitions move on within ~5 s);
            # the stock minimum of 6 s would stretch every takeover.
            "group.min.session.timeout.ms": 1000,
            "log.retention.hours": 168,
        }
        if self.material is not None:
            props.update(self.material.server_properties(node.port, node.controller_port))
        index = node.node_id - 1
        for extra in self.layout.extra_listeners:
            for key, value in (("listeners", f"127.0.0.1:{extra.ports[index]}"),
                               ("advertised.listeners", f"127.0.0.1:{extra.advertised[index]}")):
                props[key] = f"{props[key]},{extra.name}://{value}"
            props["listener.security.protocol.map"] = (
                f"{props['listener.security.protocol.map']},{extra.name}:PLAINTEXT")
        return "".join(f"{k}={v}\n" for k, v in props.items())


def wait_for_metadata(
    bootstrap: str, expect_brokers: int = 1, timeout_s: float = 90.0, log_hint: Path | None = None,
    client_options: Mapping[str, Any] | None = None,
) -> None:
    """Block until `bootstrap` answers a metadata request listing `expect_brokers` brokers.

    `client_options` are aiokafka's security keyword arguments for a secured cluster.
    """
    deadline = time.monotonic() + timeout_s
    last_error = "no answer"
    while time.monotonic() < deadline:
        try:
            brokers = asyncio.run(_count_brokers(bootstrap, client_options or {}))
            if brokers >= expect_brokers:
                return
            last_error = f"{brokers} of {expect_brokers} brokers registered"
        except Exception as exc:  # any failure here just means "not ready yet"
            last_error = f"{type(exc).__name__}: {exc}"
        time.sleep(0.5)
    hint = f"; see {log_hint}" if log_hint else ""
    raise KafkaSetupError(f"Kafka at {bootstrap} did not answer metadata within {timeout_s:.0f}s ({last_error}){hint}")


async def _count_brokers(bootstrap: str, client_options: Mapping[str, Any]) -> int:
    from aiokafka.client import AIOKafkaClient

    client = AIOKafkaClient(bootstrap_servers=bootstrap, request_timeout_ms=3000,
                            connections_max_idle_ms=10000, **client_options)
    try:
        await asyncio.wait_for(client.bootstrap(), timeout=5)
        metadata = await asyncio.wait_for(client.fetch_all_metadata(), timeout=5)
        return len(metadata.brokers())
    finally:
        await client.close()


def _check_port_free(port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise KafkaSetupError(
                f"port {port} on 127.0.0.1 is already in use: stop what holds it "
                "(`headwater kafka down`, or another Kafka) or pick another with --port"
            ) from exc


def _pid(node: NodeLayout) -> int | None:
    try:
        return int(node.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _reap(pid: int | None) -> None:
    # A node started by this very process must be waited for, or it lingers as a zombie.
    if pid is not None:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
