"""The one settings model: every knob of headwater, read from `HEADWATER_*` environment variables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra.kafka import DEFAULT_KAFKA_VERSION


class Settings(BaseSettings):
    """headwater's configuration.

    Every field can be set with an environment variable named `HEADWATER_<FIELD>` (e.g.
    `HEADWATER_KAFKA_BOOTSTRAP=broker:9092`) or from a `.env` file in the working directory.
    """

    model_config = SettingsConfigDict(env_prefix="HEADWATER_", env_file=".env", frozen=True,
                                      extra="ignore")

    kafka_bootstrap: str | None = Field(
        default=None, description="Kafka bootstrap servers; unset: start and use the local broker")
    kafka_port: int = Field(default=9092, ge=1024, le=65000, description="local broker's first port")
    kafka_nodes: int = Field(default=1, ge=1, le=9, description="nodes of the local cluster")
    kafka_version: str = Field(default=DEFAULT_KAFKA_VERSION, description="Kafka version to fetch")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="how every client headwater builds connects to Kafka")
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        default="SCRAM-SHA-512", description="SASL mechanism (with SASL_PLAINTEXT or SASL_SSL)")
    kafka_username: str | None = Field(default=None, description="SASL user name")
    kafka_password: SecretStr | None = Field(default=None, description="SASL password")
    kafka_ssl_cafile: Path | None = Field(
        default=None, description="CA certificates (PEM) to verify the brokers with (SSL, "
                                  "SASL_SSL); unset: the system's")
    kafka_ssl_certfile: Path | None = Field(
        default=None, description="client certificate (PEM) for brokers that require one")
    kafka_ssl_keyfile: Path | None = Field(default=None, description="the client certificate's key")
    kafka_ssl_key_password: SecretStr | None = Field(
        default=None, description="password of the client key, if it has one")
    topic_prefix: str = Field(default="hw.", pattern=r"^[A-Za-z0-9._-]*$")
    topic_partitions: int = Field(default=6, ge=1, le=1024)
    replication_factor: int = Field(default=1, ge=1, le=9)
    data_dir: Path = Field(default=Path(".headwater"), description="local state: broker, tables, views")
    app_id: str = Field(default="headwater", description="consumer group / Faust app id")
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8080, ge=1, le=65535)
    api_body_limit: int = Field(
        default=1_048_576, ge=1024,
        description="largest request body the API reads, in bytes (default: Kafka's record "
                    "limit, as nothing larger can be published); larger bodies get 413")
    crash_quarantine_deaths: int = Field(
        default=2, ge=0, le=100,
        description="a record in whose handling the worker process died (a fatal signal, "
                    "os._exit, the out-of-memory killer: no exception to catch) this many "
                    "times in a row is set aside as a dead letter `crashed_worker` instead of "
                    "killing every restart; 0: never (each loop's note lives in "
                    "data_dir/worker/crash-notes)")
    static_membership: bool = Field(
        default=True,
        description="join the consumer groups as a static member named after the data folder: "
                    "a worker killed and restarted in place gets its own partitions back "
                    "inside its session, without a rebalance (a stop still hands them over at "
                    "once); false: a plain member, every restart is a rebalance "
                    "(docs/scaling.md, \"Failover settings\")")
    session_timeout_ms: int = Field(
        default=10_000, ge=1_000, le=300_000,
        description="how long the groups wait for a silent worker (a killed one) before its "
                    "partitions move; shorter fails over sooner but evicts a worker whose "
                    "process stalls that long (a loaded machine, a long start). Heartbeats go "
                    "at a third of it, at most every 3 s")
    fault_crash_on: str | None = Field(
        default=None, pattern=r"^[^:,]+:[^,]+(,[^:,]+:[^,]+)*$",
        description="fault injection for tests and chaos drills: `<handler>:<substring>` "
                    "(comma-separated for several) makes the worker exit 70 just before "
                    "handler (triggers, processor, task-worker, completions, alerts) processes "
                    "a record whose raw value contains substring; never set it in production")
    worker_web_port: int = Field(default=6066, ge=0, le=65535,
                                 description="the worker's own web server (Faust's); 0: none")
    log_level: str = Field(default="info", pattern=r"^(debug|info|warn|warning|error|critical)$")
    api_tokens: SecretStr | None = Field(
        default=None, description='API tokens as JSON {"<token>": {"role": "admin|editor|operator|'
                                  'viewer", "subject": "<who>"}}; unset: the API is open')
    webhook_secrets: SecretStr | None = Field(
        default=None, description='webhook secrets per target as JSON {"workflow/<id>": ["<s1>", '
                                  '"<s2>"]} (several while rotating)')
    webhook_secret: SecretStr | None = Field(default=None, description="one secret for every webhook")
    api_url: str | None = Field(default=None, description="the API the CLI talks to "
                                                          "(default http://api_host:api_port)")
    api_token: SecretStr | None = Field(default=None, description="the token the CLI sends")
    http_allow: list[str] = Field(
        default_factory=list,
        description="addresses or CIDRs that HTTP steps may reach although private or loopback "
                    "(the SSRF guard blocks them otherwise), e.g. '[\"127.0.0.1\", \"10.0.0.0/8\"]'")
    examples_dir: Path | None = Field(default=None, description="definitions deployed by `up`")
    demo_stub_port: int = Field(
        default=8079, ge=0, le=65535,
        description="`up` serves stand-ins for the examples' outside services (inventory, "
                    "shipping, a payments worker) on 127.0.0.1 at this port; 0: none")
    secrets: SecretStr | None = Field(
        default=None, description='values of the secrets HTTP steps reference as {{ secrets.NAME }}, '
                                  'as JSON {"NAME": "value"}; read by workers only')
    alert_channels: SecretStr | None = Field(
        default=None, description='where workflow alerts go, as JSON {"<name>": {"kind": "webhook", '
                                  '"url", "secret"} | {"kind": "slack", "url"} | {"kind": "email", '
                                  '"host", "port", "sender", "to": [...], "starttls", "username", '
                                  '"password"}}; workflows name them in monitoring.alert_channels')
    alert_conditions: str | None = Field(
        default=None, description='what the API\'s alert monitor watches, as a JSON list of '
                                  '{"kind": "workflow_failure_rate" | "dead_letters" | '
                                  '"projection_lag" | "rule_actions_failing", "channels": [...], '
                                  '...} (docs/engine.md, "Alerts"); unset: no monitor')
    alert_check_s: float = Field(default=15.0, gt=0, le=3600,
                                 description="seconds between two looks of the alert monitor")
    secrets_dir: Path | None = Field(
        default=None, description="a folder with one file per secret (file name = NAME), read "
                                  "at every use so rotation needs no restart")

    @model_validator(mode="after")
    def _kafka_security_complete(self) -> Settings:
        if self.kafka_security_protocol.startswith("SASL") and not (
                self.kafka_username and self.kafka_password):
            raise ValueError(f"HEADWATER_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} "
                             "needs HEADWATER_KAFKA_USERNAME and HEADWATER_KAFKA_PASSWORD")
        for name in ("kafka_ssl_cafile", "kafka_ssl_certfile", "kafka_ssl_keyfile"):
            path = getattr(self, name)
            if path is not None and not path.is_file():
                raise ValueError(f"HEADWATER_{name.upper()}: no file at {path}")
        if (self.kafka_ssl_certfile is None) != (self.kafka_ssl_keyfile is None):
            raise ValueError("HEADWATER_KAFKA_SSL_CERTFILE and HEADWATER_KAFKA_SSL_KEYFILE go together")
        return self

    def kafka_client_options(self) -> dict[str, Any]:
        """aiokafka keyword arguments for the security settings (empty for PLAINTEXT).

        Every Kafka client headwater builds (the engine's consumers and producer, the API's
        producer and projector, the admin client that creates topics, the CLI's publisher) is
        built with these, so one set of settings reaches a secured cluster everywhere.
        """
        protocol = self.kafka_security_protocol
        options: dict[str, Any] = {}
        if protocol == "PLAINTEXT":
            return options
        options["security_protocol"] = protocol
        if protocol.startswith("SASL"):
            options.update(sasl_mechanism=self.kafka_sasl_mechanism,
                           sasl_plain_username=self.kafka_username,
                           sasl_plain_password=self.kafka_password.get_secret_value()
                           if self.kafka_password else None)
        if protocol.endswith("SSL"):
            from aiokafka.helpers import create_ssl_context

            password = self.kafka_ssl_key_password
            options["ssl_context"] = create_ssl_context(
                cafile=str(self.kafka_ssl_cafile) if self.kafka_ssl_cafile else None,
                certfile=str(self.kafka_ssl_certfile) if self.kafka_ssl_certfile else None,
                keyfile=str(self.kafka_ssl_keyfile) if self.kafka_ssl_keyfile else None,
                password=password.get_secret_value() if password else None)
        return options

    def secret_values(self) -> dict[str, str]:
        """The secrets of `secrets` by name.

        Raises:
            ValueError: `secrets` is not a JSON object of strings (the message names it).
        """
        if self.secrets is None:
            return {}
        try:
            values = json.loads(self.secrets.get_secret_value())
        except ValueError:
            raise ValueError("HEADWATER_SECRETS is not valid JSON") from None
        if not isinstance(values, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in values.items()):
            raise ValueError('HEADWATER_SECRETS must be a JSON object {"NAME": "value", ...}')
        return values

    def local_kafka_home(self) -> Path:
        return self.data_dir / "kafka"
