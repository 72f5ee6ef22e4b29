"""Getting a real Kafka: the local KRaft broker/cluster and the declared topics."""

from infra.topics import TOPICS, TopicSpec, create_topics, create_topics_async, topic_names

__all__ = ["TOPICS", "TopicSpec", "create_topics", "create_topics_async", "topic_names"]
