"""The HTTP API: health now; definitions, commands, views and the UI as the engine grows."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse


@dataclass
class _KafkaProbe:
    """Asks Kafka for metadata at most once every `ttl_s` seconds."""

    bootstrap: str
    ttl_s: float = 2.0
    _checked_at: float = 0.0
    _result: dict[str, Any] = field(default_factory=dict)

    async def check(self) -> dict[str, Any]:
        if time.monotonic() - self._checked_at < self.ttl_s and self._result:
            return self._result
        from aiokafka.client import AIOKafkaClient

        client = AIOKafkaClient(bootstrap_servers=self.bootstrap, request_timeout_ms=2000)
        try:
            await asyncio.wait_for(client.bootstrap(), timeout=3)
            metadata = await asyncio.wait_for(client.fetch_all_metadata(), timeout=3)
            self._result = {"status": "ok", "brokers": len(metadata.brokers()),
                            "topics": len(metadata.topics())}
        except Exception as exc:  # health reports any failure, it never raises
            self._result = {"status": "down", "error": f"{type(exc).__name__}: {exc}"[:200]}
        finally:
            await client.close()
        self._checked_at = time.monotonic()
        return self._result


def create_api(bootstrap: str, topics: dict[str, str]) -> FastAPI:
    """The FastAPI application serving headwater's HTTP API."""
    api = FastAPI(title="headwater", version="0.1.0",
                  description="Event-sourced workflow-automation and rules engine on Apache Kafka")
    probe = _KafkaProbe(bootstrap)

    @api.get("/health", tags=["operations"], summary="Liveness and Kafka reachability")
    async def health() -> JSONResponse:
        kafka = await probe.check()
        healthy = kafka.get("status") == "ok"
        body = {"status": "ok" if healthy else "degraded", "kafka": kafka,
                "topics": sorted(topics.values())}
        return JSONResponse(body, status_code=200 if healthy else 503)

    return api
