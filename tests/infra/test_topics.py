"""Topic creation from the one declarative list is idempotent and sets what the design needs."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from infra.topics import TOPICS, create_topics, topic_names

pytestmark = pytest.mark.kafka


async def _describe(bootstrap: str, names: list[str]) -> tuple[dict[str, int], dict[str, dict[str, str]]]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = await admin.describe_topics(names)
        resources = [ConfigResource(ConfigResourceType.TOPIC, n) for n in names]
        configs: dict[str, dict[str, str]] = {}
        for response in await admin.describe_configs(resources):
            for resource in response.resources:
                configs[resource[3]] = {c[0]: c[1] for c in resource[4]}
        return {t["topic"]: len(t["partitions"]) for t in topics}, configs
    finally:
        await admin.close()


def test_creates_every_design_topic_once(kafka_bootstrap: str, topic_prefix: str) -> None:
    first = create_topics(kafka_bootstrap, topic_prefix, partitions=4)
    second = create_topics(kafka_bootstrap, topic_prefix, partitions=4)

    names = topic_names(topic_prefix)
    assert sorted(first) == sorted(names.values())
    assert second == []
    assert set(names) == {"triggers", "definitions", "commands", "executions", "tasks",
                          "rule-outcomes", "dead-letters", "alerts"}

    partitions, configs = asyncio.run(_describe(kafka_bootstrap, list(names.values())))
    assert partitions[names["commands"]] == partitions[names["executions"]] == 4
    assert partitions[names["definitions"]] == 1
    assert configs[names["definitions"]]["cleanup.policy"] == "compact"
    assert configs[names["executions"]]["retention.ms"] == "-1"
    for spec in TOPICS:
        for key, value in spec.config.items():
            assert configs[names[spec.role]][key] == value
