"""Session-wide fixtures: a real Kafka broker and a fresh topic prefix per test.

The broker comes from, in order: `HEADWATER_KAFKA_BOOTSTRAP`; a testcontainers Kafka where a
Docker engine answers; else a local KRaft broker fetched from Maven Central by `infra/` and
started once for the session on a free port. A schema registry (`schema_registry_url`) is
started the same way, only by the tests that ask for it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from infra.kafka import ClusterLayout, LocalCluster, fetch_distribution
from infra.topics import create_topics
from tests.support import free_port_pair, free_ports


def _docker_answers() -> bool:
    try:
        import docker

        docker.from_env(timeout=2).ping()
        return True
    except Exception:
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """`host:port` of a real Kafka broker for this test session."""
    explicit = os.environ.get("HEADWATER_KAFKA_BOOTSTRAP")
    if explicit:
        yield explicit
        return
    if _docker_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    home = Path(tempfile.mkdtemp(prefix="hw-kafka-"))
    cluster = LocalCluster(fetch_distribution(), ClusterLayout(home, port=free_port_pair()))
    cluster.start()
    try:
        yield cluster.bootstrap
    finally:
        cluster.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def schema_registry_url() -> Iterator[str]:
    """The Confluent-API base URL of a real schema registry for this session:
    `HEADWATER_TEST_SCHEMA_REGISTRY_URL`, else Apicurio Registry fetched from Maven Central by
    `infra/` and started once (in memory, empty), on free ports."""
    explicit = os.environ.get("HEADWATER_TEST_SCHEMA_REGISTRY_URL")
    if explicit:
        yield explicit
        return
    from infra.registry import LocalRegistry, fetch_apicurio

    registry = LocalRegistry(fetch_apicurio(), free_ports(2))
    took = registry.start()
    print(f"\n{registry.dist.describe()} answered in {took:.1f} s")
    try:
        yield registry.url
    finally:
        registry.stop()


@pytest.fixture
def topic_prefix() -> str:
    """A prefix no other test uses, so tests never see each other's data."""
    return f"t{uuid.uuid4().hex[:10]}."


@pytest.fixture
def hw_topics(kafka_bootstrap: str, topic_prefix: str) -> dict[str, str]:
    """Every topic of the design created under this test's prefix; role -> topic name."""
    from infra.topics import topic_names

    create_topics(kafka_bootstrap, topic_prefix, partitions=6)
    return topic_names(topic_prefix)


@pytest.fixture
def cluster_factory() -> Iterator[Callable[[int], LocalCluster]]:
    """Start N-node local clusters for a test; all are stopped and removed afterwards."""
    made: list[tuple[LocalCluster, Path]] = []

    def make(nodes: int) -> LocalCluster:
        home = Path(tempfile.mkdtemp(prefix="hw-cluster-"))
        cluster = LocalCluster(fetch_distribution(), ClusterLayout(home, free_ports(2 * nodes), nodes))
        made.append((cluster, home))
        cluster.start()
        return cluster

    yield make
    for cluster, home in made:
        cluster.stop()
        shutil.rmtree(home, ignore_errors=True)
