"""The alert sender: a handler over ``hw.alerts`` that delivers each incident once per channel.

Channels are defined once, in settings (``HEADWATER_ALERT_CHANNELS``, a JSON object of name ->
channel), and named by workflows in ``monitoring.alert_channels``. Kinds:

* ``webhook``: the alert as a JSON body, signed like headwater's own webhooks
  (``X-Headwater-Timestamp``, ``X-Headwater-Signature: sha256=<hmac of "<ts>." + body>``);
* ``slack``: a Slack-compatible incoming webhook (``{"text": ...}``);
* ``email``: a mail over SMTP (optional STARTTLS and login).

What is delivered is the fold of the topic (`OpenAlerts`): a raise while the key is open and a
resolve while it is closed are duplicates, not sent. On assignment the sender folds its
partition from the start (no delivery), so a restart neither repeats nor loses an incident.
A delivery is retried with exponential backoff; the record is committed only once every
channel took it or gave up (then it is logged at error level with the channel and reason).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import smtplib
from collections.abc import Mapping
from datetime import datetime
from email.message import EmailMessage
from typing import Annotated, Literal

import httpx
import orjson
from pydantic import BaseModel, ConfigDict, Field, SecretStr, TypeAdapter

from schemas.alerts import AlertRaised, AlertResolved
from schemas.codec import Codec
from streams.runtime import Checkpoint, Out, Record, Replay, decode_record

__all__ = ["AlertSender", "Channel", "OpenAlerts", "deliver", "parse_channels"]

log = logging.getLogger(__name__)
Alert = AlertRaised | AlertResolved


class _Channel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WebhookChannel(_Channel):
    """A JSON POST signed with `secret`."""

    kind: Literal["webhook"]
    url: str = Field(min_length=1)
    secret: SecretStr


class SlackChannel(_Channel):
    """A Slack-compatible incoming webhook."""

    kind: Literal["slack"]
    url: str = Field(min_length=1)


class EmailChannel(_Channel):
    """A mail over SMTP."""

    kind: Literal["email"]
    host: str = Field(min_length=1)
    port: int = Field(default=25, ge=1, le=65535)
    sender: str = Field(min_length=3)
    to: list[str] = Field(min_length=1)
    starttls: bool = False
    username: str | None = None
    password: SecretStr | None = None


Channel = Annotated[WebhookChannel | SlackChannel | EmailChannel, Field(discriminator="kind")]
_CHANNELS = TypeAdapter(dict[str, Channel])


def parse_channels(text: str) -> dict[str, Channel]:
    """``HEADWATER_ALERT_CHANNELS`` parsed.

    Raises:
        pydantic.ValidationError: It is not an object of channels (the error names the field).
    """
    return _CHANNELS.validate_json(text)


class OpenAlerts:
    """Which alert keys are open: the fold of ``hw.alerts`` that deduplicates it."""

    def __init__(self) -> None:
        self._open: dict[str, str] = {}  # key -> the execution that raised it

    def admit(self, alert: Alert) -> bool:
        """Fold `alert`; True when it is news (a new incident, or the end of one)."""
        if isinstance(alert, AlertRaised):
            if alert.key in self._open:
                return False
            self._open[alert.key] = alert.execution_id
            return True
        return self._open.pop(alert.key, None) is not None

    def is_open(self, key: str) -> bool:
        """Whether an incident of `key` is open."""
        return key in self._open


def _text(alert: Alert) -> str:
    if alert.condition != "execution_failed":  # the monitor's conditions say it themselves
        state = "alert" if isinstance(alert, AlertRaised) else "resolved"
        return f"[headwater] {state}: {alert.summary or alert.key}"
    if isinstance(alert, AlertRaised):
        return (f"[headwater] workflow {alert.workflow_id} failed: execution "
                f"{alert.execution_id}: {alert.error_code} {alert.message}".strip())
    return (f"[headwater] resolved: workflow {alert.workflow_id} succeeds again "
            f"(execution {alert.execution_id})")


def _incident(alert: Alert) -> str:
    """The same for a redelivery of one record, different for the next incident of its key."""
    return f"{alert.type}:{alert.key}:{alert.execution_id or alert.time.isoformat()}"


def _sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


async def _send_once(alert: Alert, channel: Channel, client: httpx.AsyncClient,
                     now: datetime) -> None:
    if isinstance(channel, EmailChannel):
        await asyncio.to_thread(_mail, alert, channel)
        return
    if isinstance(channel, WebhookChannel):
        body = orjson.dumps(alert.model_dump(mode="json"))
        stamp = int(now.timestamp())
        headers = {"Content-Type": "application/json", "X-Headwater-Timestamp": str(stamp),
                   "X-Headwater-Signature": _sign(channel.secret.get_secret_value(), stamp, body),
                   "Idempotency-Key": _incident(alert)}
        response = await client.post(channel.url, content=body, headers=headers)
    else:
        response = await client.post(channel.url, json={"text": _text(alert)})
    if response.status_code >= 300:
        raise RuntimeError(f"HTTP {response.status_code}")


def _mail(alert: Alert, channel: EmailChannel) -> None:
    message = EmailMessage()
    message["Subject"] = _text(alert)[:200]
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.to)
    message.set_content(orjson.dumps(alert.model_dump(mode="json"),
                                     option=orjson.OPT_INDENT_2).decode())
    with smtplib.SMTP(channel.host, channel.port, timeout=30) as smtp:
        if channel.starttls:
            smtp.starttls()
        if channel.username and channel.password:
            smtp.login(channel.username, channel.password.get_secret_value())
        smtp.send_message(message)


async def deliver(alert: Alert, channel: Channel, client: httpx.AsyncClient, now: datetime, *,
                  attempts: int = 5, backoff_s: float = 0.5) -> bool:
    """Send `alert` to `channel`, retrying with exponential backoff; False once it gave up."""
    for attempt in range(1, attempts + 1):
        try:
            await _send_once(alert, channel, client, now)
            return True
        except (OSError, httpx.HTTPError, RuntimeError, smtplib.SMTPException) as exc:
            if attempt == attempts:
                log.error("alert %s %s not delivered to a %s channel after %d attempts: %s",
                          alert.type, alert.key, channel.kind, attempts, exc)
                return False
            await asyncio.sleep(backoff_s * 2 ** (attempt - 1))
    return False


class AlertSender:
    """The handler of ``hw.alerts`` (see the module docstring).

    Args:
        topic: The alerts topic.
        codec: The codec.
        channels: Channel name -> channel.
        client: The HTTP client (alerts go to the operator's own endpoints: not SSRF-guarded).
        backoff_s: The first retry's delay.
    """

    name = "alerts"

    def __init__(self, topic: str, codec: Codec, channels: Mapping[str, Channel],
                 client: httpx.AsyncClient, backoff_s: float = 0.5) -> None:
        self._topic, self._codec, self._channels = topic, codec, dict(channels)
        self._client, self._backoff_s = client, backoff_s
        self._open: dict[int, OpenAlerts] = {}
        self.delivered: list[tuple[str, str, str]] = []  # (type, key, channel): for tests, logs

    async def assigned(self, partition: int, committed: int) -> Replay | None:
        self._open[partition] = OpenAlerts()
        return Replay(self._topic, 0, committed) if committed > 0 else None

    def replay(self, record: Record) -> None:
        alert = decode_record(self._codec, record)
        if isinstance(alert, AlertRaised | AlertResolved):
            self._open.setdefault(record.partition, OpenAlerts()).admit(alert)

    def replayed(self, partition: int, position: int) -> None:
        pass

    async def process(self, record: Record, out: Out) -> None:
        alert = decode_record(self._codec, record)
        if not isinstance(alert, AlertRaised | AlertResolved):
            return
        if not self._open.setdefault(record.partition, OpenAlerts()).admit(alert):
            return  # a duplicate of an open incident, or the end of none
        for name in alert.channels:
            channel = self._channels.get(name)
            if channel is None:
                log.error("alert %s names channel %r, which HEADWATER_ALERT_CHANNELS does not "
                          "define", alert.key, name)
                continue
            if await deliver(alert, channel, self._client, out.now, backoff_s=self._backoff_s):
                self.delivered.append((alert.type, alert.key, name))

    async def tick(self, now: datetime, out: Out) -> None:
        pass

    def store(self, checkpoints: Mapping[int, Checkpoint]) -> None:
        pass

    def holding(self, partition: int) -> int | None:
        return None

    def revoked(self, partition: int) -> None:
        self._open.pop(partition, None)
