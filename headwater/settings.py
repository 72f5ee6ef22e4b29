"""The one settings model: every knob of headwater, read from `HEADWATER_*` environment variables."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import Field, SecretStr
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
    worker_web_port: int = Field(default=6066, ge=1, le=65535)
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
    secrets: SecretStr | None = Field(
        default=None, description='values of the secrets HTTP steps reference as {{ secrets.NAME }}, '
                                  'as JSON {"NAME": "value"}; read by workers only')
    secrets_dir: Path | None = Field(
        default=None, description="a folder with one file per secret (file name = NAME), read "
                                  "at every use so rotation needs no restart")

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
