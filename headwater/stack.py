"""`headwater up`: the local broker, the worker and the API as one supervised stack.

A child that dies is started again after a backoff (0.5 s, doubling, at most 30 s), so one
bad input that kills the worker does not take the API and the broker down with it; only
repeated deaths in a short window (5 in 60 s) stop the stack, saying so.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from headwater.bundled import example_places, examples_dir
from headwater.demo_stub import demo_secrets
from headwater.publish import (
    Publisher,
    conflicting_versions,
    definition_ref,
    example_definitions,
)
from headwater.settings import Settings
from infra.kafka import ClusterLayout, LocalCluster, fetch_distribution
from infra.topics import create_topics


def local_cluster(settings: Settings) -> LocalCluster:
    """The local cluster that `settings` describe (not started)."""
    layout = ClusterLayout(settings.local_kafka_home().resolve(), settings.kafka_port,
                           settings.kafka_nodes)
    return LocalCluster(fetch_distribution(settings.kafka_version), layout)


def ensure_kafka(settings: Settings, say: Callable[[str], None]) -> tuple[str, LocalCluster | None]:
    """The bootstrap servers to use, starting the local cluster if none is configured.

    Returns the bootstrap string and the cluster if this call started it (so the caller stops it).
    """
    if settings.kafka_bootstrap:
        return settings.kafka_bootstrap, None
    cluster = local_cluster(settings)
    if all(pid for _, pid in cluster.status()):
        say(f"using the running local Kafka at {cluster.bootstrap}")
        return cluster.bootstrap, None
    say(f"starting local Kafka {settings.kafka_version} at {cluster.bootstrap} "
        f"(log: {cluster.layout.node(0).log})")
    cluster.start()
    return cluster.bootstrap, cluster


def _die_with_parent() -> None:
    # If `up` itself is killed (even with SIGKILL), Linux sends its children SIGTERM, so no
    # worker or API is left running against a broker that may be gone.
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


@dataclass
class RestartPolicy:
    """When to start a dead child again, and when to give up. Pure: `now` comes in.

    Attributes:
        first_delay_s: the wait before the first restart; it doubles with each failure
            in the window, up to `max_delay_s`.
        max_failures: deaths within `window_s` after which the stack stops.
    """

    first_delay_s: float = 0.5
    max_delay_s: float = 30.0
    max_failures: int = 5
    window_s: float = 60.0
    failures: list[float] = field(default_factory=list)

    def failed(self, now: float) -> float | None:
        """Record a death at `now`: the delay before the restart, or None to give up."""
        self.failures = [t for t in self.failures if now - t < self.window_s] + [now]
        if len(self.failures) >= self.max_failures:
            return None
        return min(self.max_delay_s, self.first_delay_s * 2.0 ** (len(self.failures) - 1))


@dataclass
class Stack:
    """Child processes of `headwater up` and the cluster it started."""

    settings: Settings
    say: Callable[[str], None]
    cluster: LocalCluster | None = None
    children: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    stopping: bool = False
    policy: Callable[[], RestartPolicy] = RestartPolicy
    _commands: dict[str, list[str]] = field(default_factory=dict)
    _env: dict[str, str] = field(default_factory=dict)

    def run(self) -> int:
        bootstrap, self.cluster = ensure_kafka(self.settings, self.say)
        try:
            created = create_topics(bootstrap, self.settings.topic_prefix,
                                    self.settings.topic_partitions, self._replication(),
                                    self.settings.kafka_client_options())
            self.say(f"topics ready ({len(created)} created)")
            self._deploy_examples(bootstrap)
            env = {**os.environ, "HEADWATER_KAFKA_BOOTSTRAP": bootstrap}
            children = {"worker": [sys.executable, "-m", "headwater", "worker"],
                        "api": [sys.executable, "-m", "headwater", "api"]}
            if self.settings.demo_stub_port:
                children = {"stub": [sys.executable, "-m", "headwater", "stub"], **children}
                env = self._pointed_at_stub(env)
            self.start(children, env)
            self.say(f"headwater is up: API http://{self.settings.api_host}:{self.settings.api_port}"
                     " (Ctrl-C stops everything)")
            return self._supervise()
        finally:
            self.shutdown()

    def start(self, commands: dict[str, list[str]], env: dict[str, str]) -> None:
        """Start the children (name -> command line) that `_supervise` then keeps alive."""
        self._commands, self._env = dict(commands), env
        for name, cmd in commands.items():
            self._spawn(name, cmd, env)

    def _deploy_examples(self, bootstrap: str) -> None:
        folder = self.settings.examples_dir or examples_dir()
        if folder is None or not folder.is_dir():
            looked = [str(self.settings.examples_dir)] if self.settings.examples_dir else [
                str(p) for p in example_places()]
            self.say(f"no examples deployed: no examples folder at {' or '.join(looked)} "
                     "(`headwater up --examples PATH` or HEADWATER_EXAMPLES_DIR names one)")
            return
        definitions = example_definitions(folder)
        options = self.settings.kafka_client_options()

        async def publish() -> list[str]:
            # An example edited without a new version would be refused by the workers (they
            # keep the first content): say so and leave it out; the rest deploy as usual.
            conflicts = await conflicting_versions(bootstrap, self.settings.topic_prefix,
                                                   definitions, options)
            for reason in conflicts.values():
                self.say(f"not deployed: {reason}")
            fresh = [d for d in definitions if definition_ref(d) not in conflicts]
            async with Publisher(bootstrap, self.settings.topic_prefix, options) as publisher:
                return await publisher.definitions(fresh, by="headwater up")

        keys = asyncio.run(publish())
        self.say(f"deployed {len(keys)} example definitions from {folder}")

    def _pointed_at_stub(self, env: dict[str, str]) -> dict[str, str]:
        """The worker's environment with the examples' outside services on the demo stub:
        its secrets added (yours win) and 127.0.0.1 allowed to HTTP steps (loopback is
        refused otherwise), unless you set ``HEADWATER_HTTP_ALLOW`` yourself."""
        port = self.settings.demo_stub_port
        try:
            secrets = demo_secrets(port) | self.settings.secret_values()
        except ValueError:  # the worker refuses them with the reason; nothing to merge into
            return env
        self.say(f"demo stub for the examples' outside services on 127.0.0.1:{port} "
                 "(HEADWATER_DEMO_STUB_PORT=0 turns it off)")
        allow = {} if "HEADWATER_HTTP_ALLOW" in env else {"HEADWATER_HTTP_ALLOW": '["127.0.0.1"]'}
        return env | {"HEADWATER_SECRETS": json.dumps(secrets)} | allow

    def _replication(self) -> int:
        nodes = self.settings.kafka_nodes if not self.settings.kafka_bootstrap else None
        return min(self.settings.replication_factor, nodes) if nodes else self.settings.replication_factor

    def _spawn(self, name: str, cmd: list[str], env: dict[str, str]) -> None:
        self.children[name] = subprocess.Popen(cmd, env=env, preexec_fn=_die_with_parent)

    def _supervise(self) -> int:
        stop = {"signal": 0}

        def on_signal(signum: int, _frame: object) -> None:
            stop["signal"] = signum

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        return self.keep_alive(lambda: bool(stop["signal"]))

    def keep_alive(self, stop: Callable[[], bool], tick_s: float = 0.3) -> int:
        """Restart dead children with backoff until `stop()` is true (0) or a child dies
        too often (1, after saying why)."""
        policies = {name: self.policy() for name in self.children}
        restart_at: dict[str, float] = {}
        while not stop():
            now = time.monotonic()
            for name, proc in list(self.children.items()):
                if name in restart_at or proc.poll() is None:
                    continue
                delay = policies[name].failed(now)
                if delay is None and name == "stub":  # a demo aid: the stack serves without it
                    self.say(f"the demo stub exited with status {proc.returncode} again (is port "
                             f"{self.settings.demo_stub_port} taken?); going on without it: the "
                             "order example's outside services are not there")
                    del self.children[name]
                    continue
                if delay is None:
                    policy = policies[name]
                    self.say(f"{name} exited with status {proc.returncode}, "
                             f"{policy.max_failures} times within {policy.window_s:.0f} s; "
                             "stopping headwater")
                    return 1
                self.say(f"{name} exited with status {proc.returncode}; restarting it in "
                         f"{delay:.1f} s")
                restart_at[name] = now + delay
            for name, at in list(restart_at.items()):
                if now >= at:
                    del restart_at[name]
                    self._spawn(name, self._commands[name], self._env)
            time.sleep(tick_s)
        self.say("stopping headwater")
        return 0

    def shutdown(self) -> None:
        """Stop children (SIGTERM, then SIGKILL after 20 s) and the cluster this stack started."""
        if self.stopping:
            return
        self.stopping = True
        for proc in self.children.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for proc in self.children.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.cluster is not None:
            self.say("stopping local Kafka")
            self.cluster.stop()
