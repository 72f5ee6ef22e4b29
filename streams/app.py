"""The Faust app: the worker process that hosts the engine.

The app is built from explicit arguments (never global settings) so that tests can run several
apps with their own topic prefixes against one broker. Faust supplies the process: signals,
logging, the worker's web server; the engine's consumers are aiokafka (see `streams.engine`
and docs/engine.md for why).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import faust
from faust.app.base import BootStrategy
from mode import Service

from streams.engine import Engine, EngineConfig
from streams.runtime.config import LoopConfig
from streams.runtime.faults import CrashOn
from streams.workers.alert_sender import Channel
from streams.workers.secrets import SecretStore

__all__ = ["AppConfig", "create_app", "heartbeat_for", "run_worker"]

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
    http_allow: tuple[str, ...] = ()
    secrets: SecretStore = field(default_factory=SecretStore)
    alert_channels: Mapping[str, Channel] = field(default_factory=dict)
    kafka_options: Mapping[str, Any] = field(default_factory=dict)
    crash_deaths: int = 2
    crash_on: tuple[CrashOn, ...] = ()
    static_membership: bool = True
    session_timeout_ms: int = 10_000

    def engine(self) -> EngineConfig:
        """The engine's part of this configuration."""
        prefix = self.topics["commands"][: -len("commands")]
        return EngineConfig(app_id=self.app_id, bootstrap=self.bootstrap, topics=self.topics,
                            data_dir=self.data_dir, topic_prefix=prefix,
                            http_allow=self.http_allow, secrets=self.secrets,
                            alert_channels=self.alert_channels,
                            loop=LoopConfig(client_options=self.kafka_options,
                                            session_timeout_ms=self.session_timeout_ms,
                                            heartbeat_interval_ms=heartbeat_for(
                                                self.session_timeout_ms)),
                            static_membership=self.static_membership,
                            crash_deaths=self.crash_deaths, crash_on=self.crash_on)

    def faust_credentials(self) -> Any:
        """The same security settings as Faust's `broker_credentials` (None: plaintext)."""
        options = self.kafka_options
        protocol = options.get("security_protocol", "PLAINTEXT")
        if protocol.startswith("SASL"):
            return faust.SASLCredentials(username=options["sasl_plain_username"],
                                         password=options["sasl_plain_password"],
                                         mechanism=options.get("sasl_mechanism", "PLAIN"),
                                         ssl_context=options.get("ssl_context"))
        if protocol == "SSL":
            return faust.SSLCredentials(options["ssl_context"])
        return None


def heartbeat_for(session_timeout_ms: int) -> int:
    """A third of the session (so two heartbeats may be lost), at most every 3 s."""
    return max(300, min(3000, session_timeout_ms // 3))


class _NoKafka(BootStrategy):
    # The engine brings its own consumers and producer. Faust's consumer only joined a group of
    # its own, and a worker restarted after a kill waited for that group (the killed member's
    # whole session timeout) before the engine could even start.
    enable_kafka = False


class _App(faust.App):
    BootStrategy = _NoKafka


def create_app(config: AppConfig) -> faust.App:
    """A Faust app that runs the engine; run it with `run_worker`."""
    app = _App(
        config.app_id,
        broker=[f"kafka://{b}" for b in config.bootstrap.split(",")],
        store="rocksdb://",
        datadir=str(config.data_dir),
        topic_partitions=config.partitions,
        topic_allow_declare=False,  # topics come from infra.topics, declared once
        web_enabled=config.web_enabled,
        web_port=config.web_port,
        web_host="127.0.0.1",
        # At-least-once: never faust's experimental exactly-once mode (see docs/engine.md).
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        broker_credentials=config.faust_credentials(),
    )
    app.service(_engine_service(Engine(config.engine())))
    return app


def _engine_service(engine: Engine) -> type[Service]:
    class EngineService(Service):
        async def on_start(self) -> None:
            await engine.start()
            log.info("headwater engine started")

        async def on_stop(self) -> None:
            await engine.stop()

    return EngineService


def run_worker(config: AppConfig, loglevel: str = "info") -> None:
    """Run a worker for `config` until SIGINT/SIGTERM."""
    app = create_app(config)
    worker = faust.Worker(app, loglevel=loglevel.replace("warning", "warn"))
    worker.execute_from_commandline()
