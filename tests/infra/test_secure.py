"""A secured cluster (`headwater kafka up --secure`): SASL_SSL, SCRAM users and ACLs, as a user meets them."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaConnectionError, TopicAuthorizationFailedError

from infra.kafka import LocalCluster
from tests.conftest import SECURE_PREFIX as PREFIX
from tests.conftest import security_settings
from tests.support import free_ports

pytestmark = [pytest.mark.kafka, pytest.mark.cluster]



def secure_env(cluster: LocalCluster, user: str, password: str | None = None) -> dict[str, str]:
    """The environment a user sets to reach `cluster` (what `kafka up --secure` prints)."""
    return {**os.environ, "HEADWATER_TOPIC_PREFIX": PREFIX, "HEADWATER_APP_ID": "sec-app",
            **security_settings(cluster, user, password)}


async def test_a_producer_of_triggers_cannot_touch_the_history(secure_cluster: LocalCluster) -> None:
    """`producer` may write triggers only: its write to executions is refused and a record that
    the engine's user wrote there never reaches it."""
    bootstrap = secure_cluster.bootstrap
    engine = AIOKafkaProducer(bootstrap_servers=bootstrap, **secure_cluster.client_options("headwater"))
    await engine.start()
    await engine.send_and_wait(f"{PREFIX}executions", b"history", partition=0)
    await engine.stop()

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **secure_cluster.client_options("producer"))
    await producer.start()
    try:
        await producer.send_and_wait(f"{PREFIX}triggers", b"an event")
        with pytest.raises(TopicAuthorizationFailedError):
            await producer.send_and_wait(f"{PREFIX}executions", b"forged")
    finally:
        await producer.stop()

    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                              **secure_cluster.client_options("producer"))
    await reader.start()
    try:
        part = TopicPartition(f"{PREFIX}executions", 0)
        reader.assign([part])
        await reader.seek_to_beginning(part)
        got: list[bytes] = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            batch = await reader.getmany(timeout_ms=500)
            got += [r.value for records in batch.values() for r in records]
        assert got == []
    finally:
        await reader.stop()


async def test_a_plaintext_client_is_not_let_in(secure_cluster: LocalCluster) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=secure_cluster.bootstrap, request_timeout_ms=3000)
    with pytest.raises(KafkaConnectionError):
        await asyncio.wait_for(producer.start(), 30)
    await producer.stop()


def test_a_wrong_password_fails_in_seconds_with_one_clear_line(secure_cluster: LocalCluster) -> None:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "headwater", "topics"], capture_output=True,
                          text=True, timeout=120, env=secure_env(secure_cluster, "headwater", "wrong"))
    elapsed = time.monotonic() - started
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    assert "refused user 'headwater' (SCRAM-SHA-512) over SASL_SSL" in lines[0]
    assert "invalid credentials" in lines[0]
    assert "Traceback" not in proc.stderr
    assert elapsed < 30, f"took {elapsed:.1f} s"


def test_the_cli_reaches_a_secured_cluster_with_the_printed_settings(
        secure_cluster: LocalCluster) -> None:
    proc = subprocess.run([sys.executable, "-m", "headwater", "topics"], capture_output=True,
                          text=True, timeout=120, env=secure_env(secure_cluster, "headwater"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 created" in proc.stdout


def test_settings_name_what_is_missing() -> None:
    env = {**os.environ, "HEADWATER_KAFKA_BOOTSTRAP": "127.0.0.1:1",
           "HEADWATER_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}
    env.pop("HEADWATER_KAFKA_PASSWORD", None)
    proc = subprocess.run([sys.executable, "-m", "headwater", "topics"], capture_output=True,
                          text=True, timeout=60, env=env)
    assert proc.returncode == 2
    assert "needs HEADWATER_KAFKA_USERNAME and HEADWATER_KAFKA_PASSWORD" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_kafka_up_secure_prints_the_settings(tmp_path: Path) -> None:
    """The CLI path a user takes: start, read the printed exports, stop."""
    port = free_ports(2)
    env = {**os.environ, "HEADWATER_DATA_DIR": str(tmp_path), "HEADWATER_KAFKA_PORT": str(port)}
    up = subprocess.run([sys.executable, "-m", "headwater", "kafka", "up", "--secure"],
                        capture_output=True, text=True, timeout=300, env=env)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        exports = dict(line.strip().removeprefix("export ").split("=", 1)
                       for line in up.stdout.splitlines() if line.strip().startswith("export "))
        assert exports["HEADWATER_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert exports["HEADWATER_KAFKA_USERNAME"] == "headwater"
        assert Path(exports["HEADWATER_KAFKA_SSL_CAFILE"]).is_file()
        topics = subprocess.run([sys.executable, "-m", "headwater", "topics"], capture_output=True,
                                text=True, timeout=120, env={**env, **exports})
        assert topics.returncode == 0, topics.stdout + topics.stderr
    finally:
        subprocess.run([sys.executable, "-m", "headwater", "kafka", "down"], timeout=120, env=env)
