"""One clear line for a Kafka connection that fails, instead of a client library's traceback."""

from __future__ import annotations

import logging
import socket

from headwater.settings import Settings

__all__ = ["KafkaLogTail", "connection_failure"]


class KafkaLogTail(logging.Handler):
    """Keeps aiokafka's last error line, so a failure is said once, with its reason.

    Attached to the ``aiokafka`` logger by the CLI: a command that configures no logging no
    longer gets the client's retry lines on stderr, while a server command's own handlers
    (Faust's, uvicorn's) still receive every record through propagation.
    """

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.last = record.getMessage()


def connection_failure(settings: Settings, error: BaseException, reason: str | None = None) -> str:
    """Say why the clients could not reach Kafka, and what to check.

    aiokafka reports a refused SASL handshake, a TLS failure and a broker that is down alike
    ("Unable to bootstrap"), so the broker's port is probed: if it accepts a TCP connection,
    the broker is there and refused who we are (or we refused its certificate).
    """
    bootstrap = settings.kafka_bootstrap or "?"
    protocol = settings.kafka_security_protocol
    if protocol != "PLAINTEXT" and _accepts(bootstrap):
        who = (f"user {settings.kafka_username!r} ({settings.kafka_sasl_mechanism})"
               if protocol.startswith("SASL") else "this client")
        why = reason.split("] ", 1)[-1] if reason else "no reason given"
        return (f"Kafka at {bootstrap} refused {who} over {protocol} ({why}): check "
                "HEADWATER_KAFKA_USERNAME / HEADWATER_KAFKA_PASSWORD and that "
                "HEADWATER_KAFKA_SSL_CAFILE holds the CA of the brokers' certificates")
    return (f"Kafka at {bootstrap} is not reachable over {protocol} ({type(error).__name__}): "
            "check HEADWATER_KAFKA_BOOTSTRAP and that the brokers run")


def _accepts(bootstrap: str) -> bool:
    host, _, port = bootstrap.split(",")[0].rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=2):
            return True
    except (OSError, ValueError):
        return False
