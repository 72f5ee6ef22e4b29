"""A minimal external task worker: takes `echo.*` tasks from `hw.tasks`, answers on `hw.commands`.

Run it beside a headwater worker (same broker and topic prefix):

    HEADWATER_KAFKA_BOOTSTRAP=127.0.0.1:9092 .venv/bin/python examples/workers/echo_worker.py

A workflow step `{id: shout, action: echo.upper, with: {text: "${ input.text }"}}` then
completes with output `{"text": "HELLO"}`. See docs/external-workers.md for the protocol.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from schemas.codec import Codec
from schemas.commands import ErrorInfo, TaskCompleted, TaskFailed
from schemas.tasks import TaskRequested

PREFIX = os.environ.get("HEADWATER_TOPIC_PREFIX", "hw.")
BOOTSTRAP = os.environ.get("HEADWATER_KAFKA_BOOTSTRAP", "127.0.0.1:9092")


def security() -> dict[str, Any]:
    """A secured cluster's settings, from the same ``HEADWATER_KAFKA_*`` variables as headwater's
    (SASL user and password, CA file); nothing for a plaintext listener."""
    protocol = os.environ.get("HEADWATER_KAFKA_SECURITY_PROTOCOL", "PLAINTEXT")
    if protocol == "PLAINTEXT":
        return {}
    from aiokafka.helpers import create_ssl_context

    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol.startswith("SASL"):
        options.update(sasl_mechanism=os.environ.get("HEADWATER_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
                       sasl_plain_username=os.environ["HEADWATER_KAFKA_USERNAME"],
                       sasl_plain_password=os.environ["HEADWATER_KAFKA_PASSWORD"])
    if protocol.endswith("SSL"):
        options["ssl_context"] = create_ssl_context(cafile=os.environ.get("HEADWATER_KAFKA_SSL_CAFILE"))
    return options


def run(task: TaskRequested) -> TaskCompleted | TaskFailed:
    """One attempt of the task; the answer's command id is derived from the task id."""
    now = datetime.now(UTC)
    text = (task.params or {}).get("text")
    if not isinstance(text, str):
        error = ErrorInfo(code="invalid_params", message="`text` is required", retryable=False)
        return TaskFailed(command_id=f"{task.task_id}:failed", execution_id=task.execution_id,
                          time=now, task_id=task.task_id, error=error)
    return TaskCompleted(command_id=f"{task.task_id}:completed", execution_id=task.execution_id,
                         time=now, task_id=task.task_id, output={"text": text.upper()})


async def main() -> None:
    codec = Codec(prefix=PREFIX)
    tasks, commands = f"{PREFIX}tasks", f"{PREFIX}commands"
    options = security()
    consumer = AIOKafkaConsumer(tasks, bootstrap_servers=BOOTSTRAP, group_id=f"{PREFIX}echo-worker",
                                enable_auto_commit=False, auto_offset_reset="earliest", **options)
    producer = AIOKafkaProducer(bootstrap_servers=BOOTSTRAP, acks="all", enable_idempotence=True,
                                **options)
    await consumer.start()
    await producer.start()
    try:
        async for record in consumer:
            task = codec.decode_value(record.topic, record.value)
            if isinstance(task, TaskRequested) and task.task_type.startswith("echo."):
                answer = run(task)
                # Key: the execution id, encoded like every headwater key.
                await producer.send_and_wait(commands, codec.encode_value(commands, answer),
                                             key=codec.encode_key(commands, task.execution_id))
            await consumer.commit()  # only after the answer is on the broker: at least once
    finally:
        await consumer.stop()
        await producer.stop()


if __name__ == "__main__":
    asyncio.run(main())
