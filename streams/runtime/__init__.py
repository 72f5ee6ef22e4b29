"""Kafka plumbing that knows neither side of the engine: the one partition loop and its handler
contract, the outbox and its acks, size limits, dead letters, the definitions feed, RocksDB
opening, the record a handler asks to produce, and the crash-loop quarantine (with its fault
injection).

Dependency rule: `streams.runtime` imports `streams.machine` and `schemas` only, never
`streams.executions`, `streams.triggers` or `streams.workers`.
"""

from streams.runtime.config import LoopConfig
from streams.runtime.dead_letters import DeadLetters, DeadLetterSink, Record, dead_letter
from streams.runtime.faults import CrashOn, parse_crash_on
from streams.runtime.handler import (
    Checkpoint,
    Handler,
    Refused,
    Replay,
    TooLarge,
    decode_record,
)
from streams.runtime.lag import GroupLag
from streams.runtime.loop import Clock, PartitionLoop, utc_now
from streams.runtime.membership import fit_to_broker, worker_identity
from streams.runtime.out import Out
from streams.runtime.outgoing import Outgoing
from streams.runtime.quarantine import CRASHED_WORKER, Quarantine
from streams.runtime.registry import DefinitionRegistry, DefinitionsFeed, Entry, partitions_of
from streams.runtime.topics import TopicTable, partition_for

__all__ = [
    "CRASHED_WORKER",
    "Checkpoint",
    "Clock",
    "CrashOn",
    "DeadLetterSink",
    "DeadLetters",
    "DefinitionRegistry",
    "DefinitionsFeed",
    "Entry",
    "GroupLag",
    "Handler",
    "LoopConfig",
    "Out",
    "Outgoing",
    "PartitionLoop",
    "Quarantine",
    "Record",
    "Refused",
    "Replay",
    "TooLarge",
    "TopicTable",
    "dead_letter",
    "decode_record",
    "fit_to_broker",
    "parse_crash_on",
    "partition_for",
    "partitions_of",
    "utc_now",
    "worker_identity",
]
