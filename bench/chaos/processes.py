"""The engine's processes under test, started as users start them: `python -m headwater worker`
and `python -m headwater api`, each with its own data folder, log and environment.

A `Pool` holds N worker slots: a slot is killed (SIGKILL), stopped (SIGTERM) and started again on
the same data folder, as a supervisor would restart it on the same disk.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

from bench.chaos.cluster import free_ports

__all__ = ["ApiProcess", "Pool", "Process", "rss_mib"]

ROOT = Path(__file__).parents[2]


def rss_mib(pid: int | None) -> float:
    """Resident memory of process `pid` in MiB (0 when it is gone)."""
    if pid is None:
        return 0.0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Process:
    """One child process running `python -m headwater <command>` with a data folder.

    Args:
        command: ``worker`` or ``api``.
        data_dir: Its `HEADWATER_DATA_DIR`; its log is ``<data_dir>/<command>.log``.
        env: Settings added to the inherited environment.
        file_size_limit: RLIMIT_FSIZE in bytes for the child (the disk-full scenario where no
            tmpfs can be mounted): a write past it fails with EFBIG (Python ignores SIGXFSZ).
    """

    def __init__(self, command: str, data_dir: Path, env: Mapping[str, str],
                 file_size_limit: int | None = None) -> None:
        self.command = command
        self.data_dir = data_dir
        self.env = {**os.environ, "HEADWATER_DATA_DIR": str(data_dir), **env}
        self.file_size_limit = file_size_limit
        self.child: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.exits: list[int] = []

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"{self.command}.log"

    @property
    def pid(self) -> int | None:
        return self.child.pid if self.child is not None else None

    def running(self) -> bool:
        return self.child is not None and self.child.poll() is None

    def start(self) -> None:
        assert not self.running(), f"{self.data_dir.name} is already running"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        limit = self.file_size_limit

        def limits() -> None:
            if limit is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

        preexec: Callable[[], None] | None = limits if limit is not None else None
        with self.log_path.open("ab") as log:
            log.write(f"--- start at {time.strftime('%H:%M:%S')}\n".encode())
            log.flush()
            self.child = subprocess.Popen([sys.executable, "-m", "headwater", self.command],
                                          env=self.env, cwd=ROOT, stdout=log,
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                          preexec_fn=preexec)
        self.started_at = time.monotonic()

    def kill(self) -> None:
        """SIGKILL and reap (nothing is flushed, nothing handed over)."""
        if self.child is not None:
            with contextlib.suppress(ProcessLookupError):
                self.child.send_signal(signal.SIGKILL)
            self.exits.append(self.child.wait())
            self.child = None

    def stop(self, timeout_s: float = 60.0) -> int | None:
        """SIGTERM (a clean stop that hands partitions over) and wait; the exit code."""
        if self.child is None:
            return None
        child, self.child = self.child, None
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signal.SIGTERM)
        try:
            code = child.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            child.kill()
            code = child.wait()
        self.exits.append(code)
        return code

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def worker_env(bootstrap: str, prefix: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The settings of a worker of `prefix` reaching `bootstrap`."""
    return {"HEADWATER_KAFKA_BOOTSTRAP": bootstrap, "HEADWATER_TOPIC_PREFIX": prefix,
            "HEADWATER_APP_ID": f"{prefix}worker", "HEADWATER_LOG_LEVEL": "warning",
            # No worker web server (nothing here reads it): a free port picked here could be
            # taken by the time the worker binds it (seen with several clusters running).
            "HEADWATER_WORKER_WEB_PORT": "0",
            "HEADWATER_REPLICATION_FACTOR": "3", **(extra or {})}


class Pool:
    """N worker slots of one app, each on its own data folder (and, if given, bootstrap).

    Args:
        bootstraps: Per slot, the bootstrap servers it reaches (a proxy's, or the direct ones).
        prefix: The topic prefix (also the consumer groups' prefix).
        home: Slot i keeps its data in ``home/w<i>``.
        env: Further settings for every worker.
    """

    def __init__(self, bootstraps: list[str], prefix: str, home: Path,
                 env: Mapping[str, str] | None = None,
                 file_size_limit: int | None = None) -> None:
        self.workers = [Process("worker", home / f"w{i}", worker_env(b, prefix, env),
                                file_size_limit)
                        for i, b in enumerate(bootstraps)]
        self.kills = 0
        self.restarts = 0

    def __len__(self) -> int:
        return len(self.workers)

    def start(self, count: int | None = None) -> None:
        for worker in self.workers[:count]:
            if not worker.running():
                worker.start()

    def kill(self, slot: int) -> None:
        self.workers[slot].kill()
        self.kills += 1

    def restart(self, slot: int) -> None:
        self.workers[slot].start()
        self.restarts += 1

    def stop(self) -> list[int | None]:
        """Stop every running slot (SIGTERM, in parallel); their exit codes."""
        running = [w for w in self.workers if w.running()]
        for worker in running:
            assert worker.child is not None
            worker.child.send_signal(signal.SIGTERM)
        return [worker.stop() for worker in running]

    def dead(self) -> list[Process]:
        """Slots that were started and exited on their own."""
        return [w for w in self.workers if w.child is not None and w.child.poll() is not None]

    def pids(self) -> list[int]:
        return [w.pid for w in self.workers if w.pid is not None and w.running()]


class ApiProcess(Process):
    """`headwater api` on a free port: its projector keeps the views the verifier checks."""

    def __init__(self, bootstrap: str, prefix: str, data_dir: Path) -> None:
        self.port = free_ports(1)[0]
        super().__init__("api", data_dir, {
            "HEADWATER_KAFKA_BOOTSTRAP": bootstrap, "HEADWATER_TOPIC_PREFIX": prefix,
            "HEADWATER_APP_ID": f"{prefix}api", "HEADWATER_API_PORT": str(self.port),
            "HEADWATER_LOG_LEVEL": "warning"})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def views_path(self) -> Path:
        return self.data_dir / "views"

    def wait_ready(self, timeout_s: float = 120.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.running(), f"the API exited: {self.log_tail()}"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.url}/views/lag", timeout=2).status_code == 200:
                    return
            time.sleep(0.5)
        raise TimeoutError(f"the API did not answer in {timeout_s} s: {self.log_tail()}")

    def view_lag(self) -> int | None:
        """The projector's total lag (records not yet folded), None when it does not answer."""
        try:
            response = httpx.get(f"{self.url}/views/lag", timeout=5)
        except httpx.HTTPError:
            return None
        return int(response.json()["total"]) if response.status_code == 200 else None
