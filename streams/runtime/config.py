"""The Kafka client settings of every partition loop and of the shared producer, in one place.

Tuning the engine's consumers or producer (linger, fetch waits, batch sizes) is a change here and
nowhere else: every loop, replay reader and the producer are built from a `LoopConfig`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["LoopConfig"]


@dataclass(frozen=True)
class LoopConfig:
    """How a partition loop polls, replays and produces.

    Attributes:
        poll_timeout_ms: The longest a poll waits for records (also the tick interval when idle).
        max_records: Records taken per poll (one cycle: one produce, one store, one commit).
        max_poll_interval_ms: How long a cycle may take before the group evicts the member.
        replay_chunk: Records folded between two yields to the event loop while replaying a
            partition: the group's heartbeats run on the same loop, and a long stretch without
            one (on a loaded machine) would end the worker's session.
        linger_ms: The producer's wait for more records to batch; 0: a batch leaves as soon
            as the producer's sender runs. Batching does not need the wait: a cycle stages all
            its records and appends them (one batch per partition) before it yields to await
            the acks, so they leave in one request; and aiokafka's sender keeps one produce
            request per broker in flight, so what loops flush meanwhile is drained into the
            next request, which batches under load by itself. A linger only delayed every hop
            of an execution by its length at light load (W3, docs/performance.md).
        max_batch_size: The producer's record batch size (bytes).
        max_request_size: The producer's largest request (bytes); also a record's upper bound.
        client_options: aiokafka's security keyword arguments (protocol, SASL, TLS context),
            given to every client the engine builds: consumers, the producer, admin clients.
        commit_interval_ms: The longest consumed offsets wait to be committed while records
            keep coming; a loop also commits as soon as a poll finds nothing new, and on
            revocation and stop. A commit is only progress: what it covers is already acked
            and stored, and a redelivered record is a no-op, so committing every cycle bought
            nothing but a request and its wait per cycle. 0: every cycle commits.
        fetch_max_wait_ms: How long the broker holds a fetch that finds no record (it answers
            at once when one arrives); what an idle consumer costs: one request per wait.
        stop_grace_s: How long a stop lets the cycle under way finish (its records acked and
            its state stored, so a clean stop leaves the stores in step with the log); a cycle
            still running then is cut short and redelivered.
        session_timeout_ms: How long the group waits for a silent member (a killed worker)
            before its partitions go to the others: the takeover time after a SIGKILL is this
            plus one heartbeat and a rebalance. Brokers refuse a value under their
            `group.min.session.timeout.ms` (6 s unless configured; the local broker allows 1 s):
            each loop raises it to that minimum when it can read it (`fit_to_broker`). 10 s,
            not the 3 s failover measurements favour: on 2 shared cores a worker starting
            (imports, replay) or a loaded machine kept members silent past 3 s, and groups of
            three workers never became stable (the exact-limit and chaos tests failed).
        heartbeat_interval_ms: How often a member tells the group it lives; also how soon a
            member learns that a rebalance began (it must rejoin before it ends).
        rebalance_timeout_ms: How long a rebalance waits for the live members to rejoin (each
            first finishes the cycle under way); not a failure-detection time.
        group_instance_id: Static membership (KIP-345): a worker restarted with the same id
            within the session timeout gets its partitions back without a rebalance, so neither
            it nor the others wait for the group (the engine sets it from the worker's data
            folder: the state stores it holds are for those partitions). A static member does
            not leave the group on a clean stop either: its partitions move on after the
            session timeout, or come back to it when it restarts. None: dynamic membership.
    """

    poll_timeout_ms: int = 100
    max_records: int = 2000
    max_poll_interval_ms: int = 300_000
    replay_chunk: int = 1000
    linger_ms: int = 0
    max_batch_size: int = 512 * 1024
    max_request_size: int = 1024 * 1024
    client_options: Mapping[str, Any] = field(default_factory=dict)
    commit_interval_ms: int = 1000
    fetch_max_wait_ms: int = 1000
    stop_grace_s: float = 10.0
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3000
    rebalance_timeout_ms: int = 30_000
    group_instance_id: str | None = None

    def admin(self, bootstrap: str) -> dict[str, Any]:
        """The keyword arguments of an admin client (or any other) reaching `bootstrap`."""
        return {"bootstrap_servers": bootstrap, **self.client_options}

    def consumer(self, bootstrap: str, group: str | None) -> dict[str, Any]:
        """The keyword arguments of an `AIOKafkaConsumer` for a loop (group) or a replay (None).

        Offsets are committed by the loop only (never automatically); a partition without a
        committed offset, or whose replay start retention deleted, is read from its oldest
        record instead of silently jumping to its end.
        """
        settings = {**self.admin(bootstrap), "group_id": group, "enable_auto_commit": False,
                    "auto_offset_reset": "earliest",
                    "max_poll_interval_ms": self.max_poll_interval_ms,
                    "fetch_max_wait_ms": self.fetch_max_wait_ms}
        if group is not None:
            settings.update(session_timeout_ms=self.session_timeout_ms,
                            heartbeat_interval_ms=self.heartbeat_interval_ms,
                            rebalance_timeout_ms=self.rebalance_timeout_ms,
                            group_instance_id=self.group_instance_id)
        return settings

    def producer(self, bootstrap: str) -> dict[str, Any]:
        """The keyword arguments of the engine's one `AIOKafkaProducer` (acks=all, idempotent)."""
        return {**self.admin(bootstrap), "acks": "all", "enable_idempotence": True,
                "linger_ms": self.linger_ms, "max_batch_size": self.max_batch_size,
                "max_request_size": self.max_request_size}
