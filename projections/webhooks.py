"""Webhook signatures: HMAC-SHA256 over the raw body, a timestamp, rotation, no replays.

A sender signs ``f"{timestamp}.".encode() + body`` with a shared secret and sends

* ``X-Headwater-Timestamp: <unix seconds>``
* ``X-Headwater-Signature: sha256=<hex>`` (several, comma-separated, while it rotates).

The API accepts a request when the timestamp is within ``tolerance_s`` of its clock and one
signature matches one active secret of the target (its own, then the shared ``*`` ones), and
refuses the same signature a second time while the timestamp is still inside the window
(afterwards the timestamp check refuses it anyway). Time comes in as an argument.

Secrets are configured by name, never stored in definitions, events or views:
``HEADWATER_WEBHOOK_SECRETS='{"workflow/order-flow": ["new", "old"], "*": ["shared"]}'``
and ``HEADWATER_WEBHOOK_SECRET`` (one shared secret).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import orjson

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "WebhookRejected", "WebhookVerifier", "sign"]

SIGNATURE_HEADER = "X-Headwater-Signature"
TIMESTAMP_HEADER = "X-Headwater-Timestamp"


class WebhookRejected(Exception):
    """A webhook request is refused; ``reason`` is a stable code, ``status`` the HTTP one."""

    def __init__(self, reason: str, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value a sender computes (``sha256=<hex>``)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


@dataclass
class WebhookVerifier:
    """Checks signatures; remembers the ones it accepted until they go stale.

    Args:
        secrets: Target (``"<kind>/<id>"`` or ``"*"``) -> active secrets, newest first.
        tolerance_s: How far a timestamp may be from now, either way.
        max_seen: Bound on remembered signatures (the oldest are forgotten first).
    """

    secrets: Mapping[str, Sequence[str]]
    tolerance_s: int = 300
    max_seen: int = 100_000
    _seen: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> WebhookVerifier:
        """Secrets from ``HEADWATER_WEBHOOK_SECRETS`` and ``HEADWATER_WEBHOOK_SECRET``.

        Raises:
            ValueError: ``HEADWATER_WEBHOOK_SECRETS`` is not a JSON object of string lists.
        """
        return cls.from_text(os.environ.get("HEADWATER_WEBHOOK_SECRETS", ""),
                             os.environ.get("HEADWATER_WEBHOOK_SECRET", ""))

    @classmethod
    def from_text(cls, secrets_json: str, shared: str = "") -> WebhookVerifier:
        """Secrets per target as JSON (``{"workflow/<id>": ["<secret>", ...]}``) plus one
        secret shared by every target.

        Raises:
            ValueError: `secrets_json` is not a JSON object of string lists.
        """
        secrets: dict[str, list[str]] = {}
        if secrets_json.strip():
            loaded = orjson.loads(secrets_json)
            if not isinstance(loaded, dict) or not all(
                    isinstance(v, list) and all(isinstance(s, str) for s in v)
                    for v in loaded.values()):
                raise ValueError("webhook_secrets: a JSON object of string lists")
            secrets = loaded
        if shared:
            secrets["*"] = [*secrets.get("*", []), shared]
        return cls(secrets)

    def _candidates(self, target: str) -> list[str]:
        return [*self.secrets.get(target, ()), *self.secrets.get("*", ())]

    def verify(self, target: str, timestamp: str | None, signature: str | None, body: bytes,
               now: float) -> str:
        """Accept or refuse one request; returns the request's identity.

        The identity is a digest of target, timestamp and body, not of the signature: a
        request signed with two secrets (during a rotation) replayed with only one of its
        signatures is still the same request, and is refused as a replay.

        Raises:
            WebhookRejected: ``not_configured``, ``missing``, ``stale``, ``bad_signature``
                (401) or ``replayed`` (409).
        """
        secrets = self._candidates(target)
        if not secrets:
            raise WebhookRejected("not_configured", f"no webhook secret is configured for {target}")
        if not timestamp or not signature:
            raise WebhookRejected("missing", f"{TIMESTAMP_HEADER} and {SIGNATURE_HEADER} are required")
        try:
            stamp = int(timestamp)
        except ValueError:
            raise WebhookRejected("missing", f"{TIMESTAMP_HEADER} is not unix seconds") from None
        if abs(now - stamp) > self.tolerance_s:
            raise WebhookRejected("stale", f"timestamp is more than {self.tolerance_s} s from now")
        offered = [s.strip() for s in signature.split(",") if s.strip()]
        expected = [sign(secret, stamp, body) for secret in secrets]
        match = next((o for o in offered for e in expected if hmac.compare_digest(o, e)), None)
        if match is None:
            raise WebhookRejected("bad_signature", "no signature matches an active secret")
        identity = hashlib.sha256(f"{target}\0{stamp}\0".encode() + body).hexdigest()
        self._remember(identity, stamp + self.tolerance_s, now)
        return identity

    def _remember(self, signature: str, until: float, now: float) -> None:
        # Insertion order is nearly expiry order, so forgetting from the front stays cheap.
        while self._seen and next(iter(self._seen.values())) < now:
            del self._seen[next(iter(self._seen))]
        if signature in self._seen:
            raise WebhookRejected("replayed", "this signed request was already accepted", 409)
        while len(self._seen) >= self.max_seen:
            del self._seen[next(iter(self._seen))]
        self._seen[signature] = until
