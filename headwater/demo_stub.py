"""`headwater stub`: stand-ins for the outside services the examples call, so that the demo
load of `make run` runs to completion on one machine.

- HTTP on 127.0.0.1: ``POST /inventory/reservations`` (a reservation id),
  ``DELETE /inventory/reservations/{id}``, ``POST /shipping/shipments`` (a tracking number).
- A task worker for ``payments.*`` tasks (``payments.charge`` answers a payment id), speaking
  the external-worker protocol (docs/external-workers.md) like any worker would.

`headwater up` starts it and points the engine's worker at it: the secrets ``INVENTORY_URL``
and ``SHIPPING_URL`` (the examples write ``{{ secrets.INVENTORY_URL }}/reservations``) and
127.0.0.1 in ``http_allow``, unless you set them yourself.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Response

__all__ = ["demo_secrets", "run_stub", "stub_app"]


def demo_secrets(port: int) -> dict[str, str]:
    """The secrets that point the examples at a stub on ``port``."""
    base = f"http://127.0.0.1:{port}"
    return {"INVENTORY_URL": f"{base}/inventory", "SHIPPING_URL": f"{base}/shipping"}


def _short(*parts: Any) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:10]


def stub_app() -> FastAPI:
    """The HTTP stand-ins (deterministic answers: the same order gets the same ids)."""
    app = FastAPI(title="headwater demo stub", docs_url=None, redoc_url=None)

    @app.post("/inventory/reservations", status_code=201)
    async def reserve(body: dict[str, Any]) -> dict[str, Any]:
        return {"id": f"res-{_short(body.get('order'))}", "items": body.get("items") or []}

    @app.delete("/inventory/reservations/{reservation}", status_code=204)
    async def release(reservation: str) -> Response:
        return Response(status_code=204)

    @app.post("/shipping/shipments", status_code=201)
    async def ship(body: dict[str, Any]) -> dict[str, Any]:
        return {"tracking_number": f"TRK-{_short(body.get('order'), body.get('reservation'))}"}

    return app


async def _payments(bootstrap: str, prefix: str, options: Mapping[str, Any]) -> None:
    """Answer ``payments.*`` tasks: a charge succeeds with a payment id derived from the task."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

    from schemas.codec import Codec, DecodeError
    from schemas.commands import TaskCompleted
    from schemas.tasks import TaskRequested

    codec = Codec(prefix=prefix)
    tasks, commands = f"{prefix}tasks", f"{prefix}commands"
    consumer = AIOKafkaConsumer(tasks, bootstrap_servers=bootstrap, group_id=f"{prefix}demo-payments",
                                enable_auto_commit=False, auto_offset_reset="earliest", **options)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                                **options)
    await consumer.start()
    await producer.start()
    try:
        async for record in consumer:
            with contextlib.suppress(DecodeError):  # not ours to judge: the engine dead-letters
                task = codec.decode_value(record.topic, record.value)
                if isinstance(task, TaskRequested) and task.task_type.startswith("payments."):
                    answer = TaskCompleted(
                        command_id=f"{task.task_id}:completed", execution_id=task.execution_id,
                        time=datetime.now(UTC), task_id=task.task_id,
                        output={"payment_id": f"pay-{_short(task.task_id)}",
                                "amount": (task.params or {}).get("amount")})
                    await producer.send_and_wait(commands, codec.encode_value(commands, answer),
                                                 key=codec.encode_key(commands, task.execution_id))
            await consumer.commit()
    finally:
        await consumer.stop()
        await producer.stop()


async def run_stub(bootstrap: str, prefix: str, port: int,
                   kafka_options: Mapping[str, Any] | None = None) -> None:
    """Serve the HTTP stand-ins and run the payments worker until cancelled (``kafka_options``:
    aiokafka's security arguments)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(stub_app(), host="127.0.0.1", port=port,
                                           log_level="warning"))
    await asyncio.gather(server.serve(), _payments(bootstrap, prefix, dict(kafka_options or {})))
