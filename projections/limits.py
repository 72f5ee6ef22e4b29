"""The request-body limit: an oversize body is refused before it is read.

A body larger than a Kafka record can hold could never be published anyway, so the default
limit is the topics' record limit (`KAFKA_RECORD_LIMIT`, Kafka's default `max.message.bytes`);
`HEADWATER_API_BODY_LIMIT` changes it. A declared `Content-Length` over the limit is answered
413 at once, without reading a byte; a chunked or lying body is counted as it streams and cut
off at the limit. Either way the answer is the API's one error shape.
"""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["KAFKA_RECORD_LIMIT", "BodyLimitMiddleware", "too_large_body"]

KAFKA_RECORD_LIMIT = 1_048_576
"""Kafka's default record limit (`max.message.bytes`, the producer's `max.request.size`)."""


class _TooLarge(Exception):
    """The body went over the limit while streaming in."""


def too_large_body(limit: int, size: int | None = None) -> dict[str, object]:
    """The 413 error body, naming the limit (and the size, when it is known)."""
    told = f"{size} bytes, over" if size is not None else "over"
    return {
        "detail": "request body too large",
        "errors": [{"path": "body", "code": "body_too_large",
                    "message": f"the body is {told} the limit of {limit} bytes"}],
    }


class BodyLimitMiddleware:
    """Answers 413 to any HTTP request whose body is over `limit` bytes."""

    def __init__(self, app: ASGIApp, limit: int = KAFKA_RECORD_LIMIT) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.limit:
            await _answer_413(send, self.limit, declared)
            return
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except _TooLarge:
            if not started:
                await _answer_413(send, self.limit, None)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _answer_413(send: Send, limit: int, size: int | None) -> None:
    body = orjson.dumps(too_large_body(limit, size))
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
