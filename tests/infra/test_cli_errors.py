"""`headwater kafka up` fails fast, with one line that says what is wrong and what to do."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

HEADWATER = [sys.executable, "-m", "headwater"]


def run_kafka_up(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HEADWATER, "kafka", "up", *args], env=env, capture_output=True,
                          text=True, timeout=60)


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.fixture
def base_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER_")}
    env["HEADWATER_DATA_DIR"] = str(tmp_path / "data")
    return env


def test_java_missing(base_env: dict[str, str], tmp_path: Path) -> None:
    env = {**base_env, "PATH": str(tmp_path / "empty-bin")}
    env.pop("JAVA_HOME", None)

    result = run_kafka_up(env)

    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "Java not found" in line and "JDK 17" in line


def test_port_taken(base_env: dict[str, str]) -> None:
    from infra.kafka import fetch_distribution

    fetch_distribution()  # the cached jars; this test is about the port, not the fetch
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]

        result = run_kafka_up(base_env, "--port", str(port))

    assert result.returncode == 2
    line = one_line(result.stderr)
    assert f"port {port}" in line and "already in use" in line


@pytest.mark.skipif(not __import__("shutil").which("mvn"), reason="needs Maven installed")
def test_maven_central_out_of_reach(base_env: dict[str, str], tmp_path: Path) -> None:
    # An empty cache and a repository that refuses connections: what an offline machine sees.
    env = {**base_env, "HEADWATER_CACHE_DIR": str(tmp_path / "cache"),
           "HEADWATER_MAVEN_REPO": "http://127.0.0.1:9/maven2"}

    result = run_kafka_up(env)

    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "Maven could not fetch Kafka" in line and "Maven Central is reachable" in line
    assert not (tmp_path / "cache" / "kafka-4.4.0" / "libs" / ".complete").exists()
