"""Hostile bodies at the API: every answer is the documented JSON error shape, early.

An oversize body is refused before it is read (413 naming the limit), a record Kafka cannot
take is the client's 413 and not a 503, deep nesting is a 422, and anything unexpected is a
JSON 500, never plain text.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from projections import create_api
from projections.store import MemoryStore
from tests.projections.apikit import client_of, served

LIMIT = 64 * 1024


def _shape(body: dict[str, Any], code: str) -> None:
    assert set(body) == {"detail", "errors"}
    assert [e["code"] for e in body["errors"]] == [code]
    assert {"path", "code", "message"} == set(body["errors"][0])


def _nested_loops(depth: int) -> dict[str, Any]:
    step: dict[str, Any] = {"id": "leaf", "action": "log", "with": {"message": "x"}}
    for i in range(depth):
        step = {"id": f"l{i}", "type": "loop", "for_each": "input.items", "steps": [step]}
    return {"kind": "workflow", "id": "deep", "name": "Deep", "steps": [step]}


async def test_a_declared_oversize_body_is_413_before_it_is_sent() -> None:
    api = create_api("127.0.0.1:1", {}, store=MemoryStore(), project=False, body_limit=LIMIT)
    async with served(api) as base:
        host, port = base.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        # 50 MB announced, not one byte sent: the answer must come without them.
        writer.write(b"POST /triggers HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 52428800\r\n\r\n")
        await writer.drain()
        started = time.monotonic()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=5)
        body = await asyncio.wait_for(reader.read(4096), timeout=5)
        writer.close()
    assert head.startswith(b"HTTP/1.1 413")
    assert time.monotonic() - started < 5
    assert str(LIMIT).encode() in body and b'"body_too_large"' in body


async def test_a_streamed_oversize_body_is_cut_off_at_the_limit() -> None:
    api = create_api("127.0.0.1:1", {}, store=MemoryStore(), project=False, body_limit=LIMIT)
    sent = 0
    async with served(api) as base:
        host, port = base.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        # Chunked: no Content-Length to check, the body is counted as it arrives.
        writer.write(b"POST /triggers HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\n"
                     b"ce-type: t\r\nce-source: s\r\nce-id: 1\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n")
        answer = asyncio.ensure_future(reader.readuntil(b"\r\n\r\n"))
        chunk = b"1," * 2048
        # Twice the limit, and never the closing empty chunk: the body never ends, so an
        # answer proves the server stopped reading at the limit.
        while not answer.done() and sent < 2 * LIMIT:
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
            sent += len(chunk)
        head = await asyncio.wait_for(answer, timeout=5)
        writer.close()
    # (The server then closes with the body's rest unread, so the kernel resets the
    # connection and the answer's body may be lost: its shape is checked below.)
    assert head.startswith(b"HTTP/1.1 413")
    assert b"application/json" in head


@pytest.mark.parametrize("path", ["/definitions", "/triggers"])
def test_oversize_definitions_and_triggers_are_413(path: str) -> None:
    api = create_api("127.0.0.1:1", {}, store=MemoryStore(), project=False, body_limit=LIMIT)
    with TestClient(api) as client:
        answer = client.post(path, json={"kind": "workflow", "pad": "x" * (LIMIT + 1)})
    assert answer.status_code == 413
    _shape(answer.json(), "body_too_large")


@pytest.mark.kafka
async def test_a_record_kafka_cannot_take_is_413_not_503(
        kafka_bootstrap: str, hw_topics: dict[str, str]) -> None:
    # The API's limit is set above Kafka's, so the body reaches the producer.
    big = create_api(kafka_bootstrap, hw_topics, store=MemoryStore(), project=False,
                     body_limit=8 * 1024 * 1024)
    async with client_of(big) as client:
        answer = await client.post("/triggers", json={"blob": "x" * (2 * 1024 * 1024)},
                                   headers={"ce-type": "big", "ce-source": "test", "ce-id": "b1"})
        small = await client.post("/triggers", json={"ok": 1},
                                  headers={"ce-type": "small", "ce-source": "test", "ce-id": "s1"})
    assert answer.status_code == 413, answer.text
    _shape(answer.json(), "record_too_large")
    assert small.status_code == 202  # Kafka is fine, and so is the producer


@pytest.mark.parametrize("depth", [126, 200])
def test_a_definition_nested_past_the_writer_is_a_422_with_the_shape(depth: int) -> None:
    api = create_api("127.0.0.1:1", {}, store=MemoryStore(), project=False)
    with TestClient(api, raise_server_exceptions=False) as client:
        answer = client.post("/definitions", json=_nested_loops(depth))
    assert answer.status_code in (413, 422), answer.text
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert set(body) == {"detail", "errors"} and body["errors"]


def test_a_deeply_nested_json_body_is_a_422_with_the_shape() -> None:
    api = create_api("127.0.0.1:1", {}, store=MemoryStore(), project=False)
    with TestClient(api, raise_server_exceptions=False) as client:
        answer = client.post("/definitions", content=b"[" * 50_000 + b"]" * 50_000,
                             headers={"Content-Type": "application/json"})
    assert answer.status_code in (400, 422), answer.text  # FastAPI: "error parsing the body"
    assert set(answer.json()) == {"detail", "errors"}


def test_an_unexpected_failure_is_a_json_500() -> None:
    api = create_api("127.0.0.1:1", {}, store=MemoryStore(), project=False)

    @api.get("/boom")
    async def boom() -> None:
        raise KeyError("nobody expected this")

    with TestClient(api, raise_server_exceptions=False) as client:
        answer = client.get("/boom")
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/json"
    _shape(answer.json(), "internal_error")
