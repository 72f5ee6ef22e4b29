"""An analytics consumer of headwater's topics that knows nothing of headwater: Kafka, the
schema registry's REST API and fastavro, as a Flink job or a notebook would read them.

Every record is ``0x00``, a 4-byte schema id, then the Avro body (the Confluent wire format).
The id is looked up once in the registry (``GET /schemas/ids/{id}``) and the body decoded with
that writer schema. A value's schema is a union of records; the record's name is the event
type (``headwater.executions.v1.StepCompleted``). Run headwater with
``HEADWATER_SCHEMA_REGISTRY_URL`` pointing at the same registry.

    python examples/consumers/analytics_consumer.py --bootstrap 127.0.0.1:9092 \\
        --registry http://127.0.0.1:8081/apis/ccompat/v7 hw.executions hw.rule-outcomes

prints one JSON line per record (``topic``, ``partition``, ``offset``, ``schema_id``, ``event``
and the decoded ``record``), from the beginning, and stops after ``--idle`` seconds without
new records. Needs only ``aiokafka``, ``fastavro`` and ``httpx``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import struct
import sys
from datetime import datetime
from typing import Any

import fastavro
import httpx
from aiokafka import AIOKafkaConsumer

HEADER = struct.Struct(">bI")


class RegistryDecoder:
    """Decodes Confluent-framed Avro with writer schemas fetched by id (cached)."""

    def __init__(self, registry_url: str) -> None:
        self.http = httpx.Client(base_url=registry_url.rstrip("/"), timeout=10)
        self.schemas: dict[int, Any] = {}

    def schema(self, schema_id: int) -> Any:
        if schema_id not in self.schemas:
            response = self.http.get(f"/schemas/ids/{schema_id}")
            response.raise_for_status()
            self.schemas[schema_id] = fastavro.parse_schema(json.loads(response.json()["schema"]))
        return self.schemas[schema_id]

    def decode(self, data: bytes) -> tuple[int, str | None, Any]:
        """(schema id, record name or None, the datum)."""
        magic, schema_id = HEADER.unpack_from(data)
        if magic != 0:
            raise ValueError(f"not the Confluent wire format (magic byte {magic})")
        body = io.BytesIO(data)
        body.seek(HEADER.size)
        datum = fastavro.schemaless_reader(body, self.schema(schema_id), None,
                                           return_record_name=True,
                                           return_record_name_override=True)
        if isinstance(datum, tuple):  # a union of records: (record name, record)
            return schema_id, datum[0], datum[1]
        return schema_id, None, datum


def _json(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else str(value)


async def consume(bootstrap: str, registry_url: str, topics: list[str], idle_s: float,
                  out: Any = sys.stdout) -> int:
    """Print every record of ``topics`` as a JSON line; returns how many were printed."""
    decoder = RegistryDecoder(registry_url)
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, group_id=None,
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    printed = 0
    try:
        while True:
            batches = await consumer.getmany(timeout_ms=int(idle_s * 1000))
            if not batches:
                return printed
            for records in batches.values():
                for record in records:
                    schema_id, name, datum = decoder.decode(record.value)
                    line = {"topic": record.topic, "partition": record.partition,
                            "offset": record.offset, "schema_id": schema_id, "event": name,
                            "record": datum}
                    out.write(json.dumps(line, default=_json) + "\n")
                    printed += 1
    finally:
        await consumer.stop()
        decoder.http.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--registry", required=True, help="the Confluent API base URL")
    parser.add_argument("--idle", type=float, default=5.0, help="stop after this many quiet seconds")
    parser.add_argument("topics", nargs="+")
    args = parser.parse_args()
    count = asyncio.run(consume(args.bootstrap, args.registry, args.topics, args.idle))
    print(f"{count} records", file=sys.stderr)


if __name__ == "__main__":
    main()
