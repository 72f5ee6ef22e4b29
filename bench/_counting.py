"""Client-side Kafka request counters for benchmarks: what a process asks of the broker.

`install()` wraps aiokafka's one place where every request leaves a process
(`AIOKafkaConnection.send`) and counts, per kind, the requests, their round-trip time and how
full they were: records per produce request, records per fetch response (and how many came
back empty: a fetch that waited out `fetch_max_wait_ms`), partitions per offset commit. Fetches
are told apart by the role of the first topic they read (`fetch:commands`, `fetch:tasks`, ...),
so each consumer's share shows. The counting costs a dictionary update and a few header reads
per request (no record is decoded), small against a request's own cost, and it is honest about
the number that matters here: the broker's CPU goes mostly to requests, not records.

`serve(port)` answers each TCP connection on 127.0.0.1:`port` with the counters as JSON, from
a daemon thread that sleeps in `accept` (no cost while nobody asks). `bench._counted_worker`
runs `headwater worker` with both; `snapshot(port)` reads them from the benchmark process.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections import defaultdict
from typing import Any

__all__ = ["COUNTERS", "Counters", "install", "serve", "snapshot"]

_API_NAMES = {0: "produce", 1: "fetch", 2: "list_offsets", 3: "metadata", 8: "commit",
              9: "offset_fetch", 10: "find_coordinator", 11: "join_group", 12: "heartbeat",
              13: "leave_group", 14: "sync_group", 18: "api_versions", 22: "init_producer_id"}
_SAMPLES = 50_000
"""Round-trip times kept per kind (the newest; enough for percentiles of a phase)."""


class Counters:
    """Requests per kind: count, items (records or partitions), empty answers, round trips."""

    def __init__(self) -> None:
        self.requests: dict[str, int] = defaultdict(int)
        self.items: dict[str, int] = defaultdict(int)
        self.empty: dict[str, int] = defaultdict(int)
        self.seconds: dict[str, float] = defaultdict(float)
        self.samples: dict[str, list[float]] = defaultdict(list)

    def as_dict(self) -> dict[str, Any]:
        # Called from the serving thread while the event loop may add keys: copy, retry.
        for _ in range(10):
            try:
                return {"requests": dict(self.requests), "items": dict(self.items),
                        "empty": dict(self.empty), "seconds": dict(self.seconds),
                        "samples": {k: list(v) for k, v in self.samples.items()}}
            except RuntimeError:
                time.sleep(0.001)
        raise RuntimeError("counters kept changing")


COUNTERS = Counters()
_prefix = ""


def _records_in(buffer: Any) -> int:
    """Records in a buffer of v2 record batches (the count field of each batch header)."""
    data = memoryview(buffer) if buffer is not None else memoryview(b"")
    total, at = 0, 0
    while at + 61 <= len(data):
        (length,) = struct.unpack_from(">i", data, at + 8)
        if at + 12 + length > len(data):
            break  # a partial batch at the end of a fetch: not delivered yet
        total += struct.unpack_from(">i", data, at + 57)[0]
        at += 12 + length
    return total


def _role(topic: str) -> str:
    return topic[len(_prefix):] if _prefix and topic.startswith(_prefix) else topic.split(".")[-1]


def _kind(request: Any) -> tuple[str, int]:
    """The counter name of a request and the items it carries (records or partitions)."""
    key = getattr(request, "API_KEY", -1)
    name = _API_NAMES.get(key, f"api{key}")
    topics = getattr(request, "_topics", None) or []
    if key == 0:
        return name, sum(_records_in(buf) for _, parts in topics for _, buf in parts)
    if key == 1:
        return f"fetch:{_role(topics[0][0])}" if topics else name, 0
    if key == 8:
        group = getattr(request, "_consumer_group", "") or ""
        return f"commit:{group.rsplit('.', 1)[-1]}", sum(len(parts) for _, parts in topics)
    return name, 0


def _fetched(response: Any) -> int:
    return sum(_records_in(partition[-1]) for _, partitions in getattr(response, "topics", [])
               for partition in partitions)


def install(topic_prefix: str = "") -> None:
    """Count every request this process's aiokafka clients send from now on."""
    global _prefix
    from aiokafka.conn import AIOKafkaConnection

    _prefix = topic_prefix
    if getattr(AIOKafkaConnection.send, "_counted", False):
        return
    original = AIOKafkaConnection.send

    def send(self: Any, request: Any, expect_response: bool = True) -> Any:
        name, items = _kind(request)
        COUNTERS.requests[name] += 1
        COUNTERS.items[name] += items
        result = original(self, request, expect_response)
        if not expect_response:
            return result
        began = time.perf_counter()

        async def timed() -> Any:
            response = await result
            took = time.perf_counter() - began
            COUNTERS.seconds[name] += took
            samples = COUNTERS.samples[name]
            if len(samples) >= _SAMPLES:
                del samples[: _SAMPLES // 2]
            samples.append(took)
            if name.startswith("fetch"):
                got = _fetched(response)
                COUNTERS.items[name] += got
                if not got:
                    COUNTERS.empty[name] += 1
            return response

        return timed()

    send._counted = True  # type: ignore[attr-defined]
    AIOKafkaConnection.send = send  # type: ignore[method-assign]
    _time_deliveries()


def _time_deliveries() -> None:
    """Sample `deliver:<role>`: from a record's CreateTime (its producer appended it) to the
    `getmany` that hands it over, for the first record of each partition's batch. A hop's
    share that is Kafka's (linger, produce, fetch, wake-up) against the consumer's own."""
    from aiokafka import AIOKafkaConsumer

    original = AIOKafkaConsumer.getmany

    async def getmany(self: Any, *partitions: Any, timeout_ms: int = 0,
                      max_records: int | None = None) -> Any:
        batches = await original(self, *partitions, timeout_ms=timeout_ms,
                                 max_records=max_records)
        now = time.time()
        for tp, records in batches.items():
            if records and records[0].timestamp_type == 0:  # CreateTime
                samples = COUNTERS.samples[f"deliver:{_role(tp.topic)}"]
                if len(samples) >= _SAMPLES:
                    del samples[: _SAMPLES // 2]
                samples.append(now - records[0].timestamp / 1000)
        return batches

    AIOKafkaConsumer.getmany = getmany  # type: ignore[method-assign]


def serve(port: int) -> None:
    """Answer connections on 127.0.0.1:`port` with the counters as JSON (daemon thread)."""
    listener = socket.create_server(("127.0.0.1", port))

    def loop() -> None:
        while True:
            connection, _ = listener.accept()
            with connection:
                connection.sendall(json.dumps(COUNTERS.as_dict()).encode())

    threading.Thread(target=loop, name="bench-counters", daemon=True).start()


def snapshot(port: int, timeout_s: float = 10.0) -> dict[str, Any]:
    """The counters of the process serving on `port`."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as connection:
        chunks = []
        while chunk := connection.recv(1 << 20):
            chunks.append(chunk)
    return json.loads(b"".join(chunks))  # type: ignore[no-any-return]
