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
from hypothesis import HealthCheck, settings

from infra.kafka import ClusterLayout, LocalCluster, fetch_distribution
from infra.topics import create_topics
from tests.support import free_port_pair, free_ports

# CI and developers run the suite on 2 shared cores, often beside other work: a property holds
# or not whatever the time an example takes, so no example has a deadline and slow data
# generation is no failure. Tests that want other settings still set them.
settings.register_profile("shared-machine", deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("shared-machine")


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


SECURE_PREFIX = "sec."


@pytest.fixture(scope="session")
def secure_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """A local broker with a SASL_SSL listener, SCRAM users and ACLs (`kafka up --secure`).

    ``headwater`` may use the topics and groups under `SECURE_PREFIX` and under ``t`` (the
    prefix every test prefix starts with); ``producer`` may only write `sec.triggers`.
    """
    home = tmp_path_factory.mktemp("secure-kafka")
    cluster = LocalCluster(fetch_distribution(), ClusterLayout(home, free_ports(2), 1, secure=True))
    cluster.start(timeout_s=180)
    try:
        create_topics(cluster.bootstrap, SECURE_PREFIX, 2, 1, cluster.client_options("admin"))
        cluster.grant(SECURE_PREFIX, "sec-app")
        cluster.grant("t", "t")
        yield cluster
    finally:
        cluster.stop()


def security_settings(cluster: LocalCluster, user: str,
                      password: str | None = None) -> dict[str, str]:
    """The ``HEADWATER_KAFKA_*`` variables that reach `cluster` as `user` (what
    `headwater kafka up --secure` prints)."""
    assert cluster.material is not None
    return {"HEADWATER_KAFKA_BOOTSTRAP": cluster.bootstrap,
            "HEADWATER_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "HEADWATER_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
            "HEADWATER_KAFKA_USERNAME": user,
            "HEADWATER_KAFKA_PASSWORD": password or cluster.material.passwords[user],
            "HEADWATER_KAFKA_SSL_CAFILE": str(cluster.material.ca_pem)}
