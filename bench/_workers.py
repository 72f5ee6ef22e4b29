"""Worker processes a benchmark can kill and restart: `python -m headwater worker` as users run
it, each with its own data folder (its state stores and its static group identity) and log.

Shared by the fault benchmarks (`bench.failover`) and meant for any harness that needs to kill
workers at chosen moments: `start`, `kill` (SIGKILL), `stop` (SIGTERM) and the wall-clock times
of what the worker logged, to say where a restart spent its time.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from bench.e2e import ROOT, free_port

__all__ = ["WorkerProcess"]

# Faust's log line: "[2026-12-05 00:15:11,123] [4242] [INFO] text"
_LINE = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\] \[(\d+)\] \[\w+\] (.*)$")


@dataclass
class WorkerProcess:
    """One worker: started, killed and restarted at will; `spawned` is its last start (epoch s).

    Args:
        bootstrap: Kafka bootstrap servers.
        prefix: The topic prefix (also the app id's).
        data_dir: Its own folder: state stores, log; kept across restarts as a real host's is.
        env: More environment (settings) for the worker.
    """

    bootstrap: str
    prefix: str
    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    child: subprocess.Popen[bytes] | None = None
    spawned: float = 0.0

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "HEADWATER_KAFKA_BOOTSTRAP": self.bootstrap,
               "HEADWATER_TOPIC_PREFIX": self.prefix, "HEADWATER_APP_ID": f"{self.prefix}worker",
               "HEADWATER_DATA_DIR": str(self.data_dir),
               "HEADWATER_WORKER_WEB_PORT": str(free_port()), "HEADWATER_LOG_LEVEL": "info",
               **self.env}
        with self.log_path.open("ab") as log:
            self.spawned = time.time()
            self.child = subprocess.Popen([sys.executable, "-m", "headwater", "worker"], env=env,
                                          cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

    @property
    def log_path(self) -> Path:
        return self.data_dir / "worker.log"

    @property
    def pid(self) -> int | None:
        return self.child.pid if self.child is not None else None

    def kill(self) -> float:
        """SIGKILL; the time it was sent."""
        assert self.child is not None and self.child.poll() is None, self.log_tail()
        killed = time.time()
        self.child.send_signal(signal.SIGKILL)
        self.child.wait()
        self.child = None
        return killed

    def stop(self, timeout_s: float = 60) -> int:
        """SIGTERM and wait; the exit code (0 when it was not running)."""
        if self.child is None:
            return 0
        self.child.send_signal(signal.SIGTERM)
        try:
            return self.child.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.child.kill()
            self.child.wait()
            return -9
        finally:
            self.child = None

    def schedstat(self) -> tuple[float, float]:
        """Seconds this process has run on a CPU and waited for one (runnable, not running)."""
        if self.child is None:
            return 0.0, 0.0
        try:
            ran, waited, _ = Path(f"/proc/{self.child.pid}/schedstat").read_text().split()
        except (OSError, ValueError):
            return 0.0, 0.0
        return int(ran) / 1e9, int(waited) / 1e9

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    def logged(self, since: float) -> list[tuple[float, str]]:
        """The log lines of processes started at or after `since`: (epoch seconds, text)."""
        lines: list[tuple[float, str]] = []
        if not self.log_path.exists():
            return lines
        for raw in self.log_path.read_text(errors="replace").splitlines():
            match = _LINE.match(raw)
            if match is None:
                continue
            when = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f").timestamp()
            if when >= since - 0.001:
                lines.append((when, match[3]))
        return lines

    def first(self, since: float, pattern: str) -> tuple[float, str] | None:
        """The first line logged since `since` that matches `pattern` (a regex)."""
        found = re.compile(pattern)
        return next(((t, text) for t, text in self.logged(since) if found.search(text)), None)
