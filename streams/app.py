"""The Faust app: topics, agents and tables of the running engine.

The app is built from explicit arguments (never global settings) so that tests can run several
apps with their own topic prefixes against one broker.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faust

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AppConfig:
    """What a worker needs to know: broker, group, topic names and where to keep local state."""

    app_id: str
    bootstrap: str
    topics: dict[str, str]
    data_dir: Path
    partitions: int = 6
    web_port: int = 6066
    web_enabled: bool = True


def create_app(config: AppConfig) -> faust.App:
    """A Faust app with the engine's agents; run it with `run_worker`."""
    app = faust.App(
        config.app_id,
        broker=[f"kafka://{b}" for b in config.bootstrap.split(",")],
        store="rocksdb://",
        datadir=str(config.data_dir),
        topic_partitions=config.partitions,
        topic_allow_declare=False,  # topics come from infra.topics, declared once
        web_enabled=config.web_enabled,
        web_port=config.web_port,
        web_host="127.0.0.1",
        # At-least-once: never faust's experimental exactly-once mode (see docs/architecture.md).
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
    )
    _definitions_agent(app, config)
    return app


def _definitions_agent(app: faust.App, config: AppConfig) -> None:
    topic = app.topic(config.topics["definitions"], key_type=bytes, value_type=bytes,
                      key_serializer="raw", value_serializer="raw")
    latest: dict[bytes, bytes] = {}
    app.definitions = latest  # type: ignore[attr-defined]

    @app.agent(topic, name="definitions")
    async def definitions(stream: Any) -> None:
        async for event in stream.events():
            if event.key is None:
                continue
            if event.value is None:
                latest.pop(event.key, None)
            else:
                latest[event.key] = event.value


def run_worker(config: AppConfig, loglevel: str = "info") -> None:
    """Run a worker for `config` until SIGINT/SIGTERM."""
    app = create_app(config)
    worker = faust.Worker(app, loglevel=loglevel.replace("warning", "warn"))
    worker.execute_from_commandline()
