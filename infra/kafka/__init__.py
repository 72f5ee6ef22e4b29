"""A real Apache Kafka for development, tests and CI: fetched from Maven Central, run in KRaft mode.

The broker's jars are fetched once with Maven into a cache folder outside the repository; a
cluster of one or more combined broker/controller nodes is then started on 127.0.0.1.
"""

from infra.kafka.cluster import (
    ClusterLayout,
    ExtraListener,
    LocalCluster,
    NodeLayout,
    wait_for_metadata,
)
from infra.kafka.distribution import (
    DEFAULT_KAFKA_VERSION,
    KafkaDistribution,
    KafkaSetupError,
    fetch_distribution,
)

__all__ = [
    "DEFAULT_KAFKA_VERSION",
    "ClusterLayout",
    "ExtraListener",
    "KafkaDistribution",
    "KafkaSetupError",
    "LocalCluster",
    "NodeLayout",
    "fetch_distribution",
    "wait_for_metadata",
]
