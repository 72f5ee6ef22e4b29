"""Trigger events over HTTP into ``hw.triggers``, and signed webhooks.

``POST /triggers`` takes one event in either CloudEvents HTTP mode: **structured**
(``Content-Type: application/cloudevents+json``, the event is the body) or **binary** (a plain
body is the event's ``data``; attributes come from ``ce-*`` headers, ``ce-type`` or the
``type`` query parameter is required, ``ce-id`` and ``ce-source`` default to a fresh id and
``/headwater/api``). ``POST /triggers/batch`` takes a JSON array of structured events and
writes all of them or none. Every problem names its field (``[3].source`` in a batch).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from projections.access import Principal, Right
from projections.auth import require
from projections.context import ApiContext
from projections.errors import ErrorItem, problem
from projections.webhook_targets import find_target
from projections.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookRejected,
    WebhookVerifier,
)
from schemas.commands import StartExecution
from schemas.triggers import (
    InvalidTrigger,
    TriggerEvent,
    TriggerProblem,
    parse_binary,
    parse_structured,
)

__all__ = ["Ingested", "ingest_router"]

MAX_BATCH = 1000
_JSON_BODY = {"type": "object", "additionalProperties": True}
_ONE_EVENT = {"requestBody": {"required": True, "content": {
    "application/cloudevents+json": {"schema": _JSON_BODY},
    "application/json": {"schema": {}}}}}
_BATCH = {"requestBody": {"required": True, "content": {
    "application/cloudevents-batch+json": {"schema": {"type": "array", "items": _JSON_BODY}},
    "application/json": {"schema": {"type": "array", "items": _JSON_BODY}}}}}
_ANY_BODY = {"requestBody": {"required": False, "content": {"application/json": {"schema": {}}}}}


class Ingested(BaseModel):
    """What was written: events (``ids``) or the execution a webhook started."""

    accepted: int
    ids: list[str] = []
    execution_id: str | None = None


def _invalid(exc: InvalidTrigger, prefix: str = "") -> list[ErrorItem]:
    return [ErrorItem(path=f"{prefix}{p.field}", code="invalid_cloudevent", message=p.message)
            for p in exc.problems]


def _binary(request: Request, body: bytes) -> TriggerEvent:
    headers = [(name.replace("-", "_", 1), value.encode()) for name, value in request.headers.items()
               if name.lower().startswith("ce-")]
    names = {name for name, _ in headers}
    if "ce_type" not in names and (kind := request.query_params.get("type")):
        headers.append(("ce_type", kind.encode()))
    if "ce_type" not in {name for name, _ in headers}:
        raise InvalidTrigger([_required("type")])
    if "ce_id" not in names:
        headers.append(("ce_id", uuid.uuid4().hex.encode()))
    if "ce_source" not in names:
        headers.append(("ce_source", b"/headwater/api"))
    content_type = request.headers.get("content-type")
    if content_type:
        headers.append(("content-type", content_type.encode()))
    return parse_binary(headers, body)


def _required(name: str) -> TriggerProblem:
    return TriggerProblem(field=name, message="required (ce-type header or type query parameter)")


def _batch(body: bytes) -> list[TriggerEvent]:
    try:
        items = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise problem(422, "not JSON", [ErrorItem(path="$", code="not_json", message=str(exc))]) from None
    if not isinstance(items, list) or len(items) > MAX_BATCH:
        raise problem(422, f"a batch is a JSON array of at most {MAX_BATCH} events")
    events: list[TriggerEvent] = []
    errors: list[ErrorItem] = []
    for i, item in enumerate(items):
        try:
            events.append(parse_structured(item if isinstance(item, dict) else orjson.dumps(item)))
        except InvalidTrigger as exc:
            errors += _invalid(exc, f"[{i}].")
    if errors:
        raise problem(422, "invalid events; none was written", errors)
    return events


def ingest_router(ctx: ApiContext, verifier: WebhookVerifier,
                  on_webhook: Callable[[str, str], None] = lambda kind, outcome: None) -> APIRouter:
    """``/triggers``, ``/triggers/batch`` and ``/webhooks/{kind}/{id}``.

    ``on_webhook(kind, outcome)`` is told how each webhook request ended (for metrics).
    """
    router = APIRouter(tags=["triggers"])
    caller = Depends(ctx.tokens.dependency)

    @router.post("/triggers", status_code=202, summary="Ingest one trigger event",
                 openapi_extra=_ONE_EVENT)
    async def ingest(request: Request, who: Principal = caller) -> Ingested:
        require(who, Right.RUN)
        body = await request.body()
        structured = request.headers.get("content-type", "").lower().startswith(
            "application/cloudevents+json")
        try:
            event = parse_structured(body) if structured else _binary(request, body)
        except InvalidTrigger as exc:
            raise problem(422, "invalid CloudEvent", _invalid(exc)) from None
        await ctx.producer.send("triggers", event.key, event)
        return Ingested(accepted=1, ids=[event.id])

    @router.post("/triggers/batch", status_code=202, summary="Ingest trigger events, all or none",
                 openapi_extra=_BATCH)
    async def ingest_batch(request: Request, who: Principal = caller) -> Ingested:
        require(who, Right.RUN)
        events = _batch(await request.body())
        await ctx.producer.send_many("triggers", [(e.key, e) for e in events])
        return Ingested(accepted=len(events), ids=[e.id for e in events])

    @router.post("/webhooks/{target:path}", status_code=202, openapi_extra=_ANY_BODY,
                 summary="A signed webhook: starts the workflow, or feeds the rule an event",
                 description="`target` is `workflow/<id>`, `rule/<id>`, or the `path` of a "
                             "workflow's webhook trigger.")
    async def webhook(target: str, request: Request) -> Ingested:
        body = await request.body()
        found = find_target(ctx, target)
        kind = found.kind if found is not None else target.partition("/")[0]
        try:
            # Signed first: an unsigned caller learns nothing of which targets exist.
            signature = verifier.verify(found.secret_target if found else target,
                                        request.headers.get(TIMESTAMP_HEADER),
                                        request.headers.get(SIGNATURE_HEADER), body,
                                        ctx.clock().timestamp())
        except WebhookRejected as exc:
            on_webhook(kind, exc.reason)
            raise problem(exc.status, str(exc), [ErrorItem(
                path=SIGNATURE_HEADER, code=exc.reason, message=str(exc))]) from None
        if found is None:
            on_webhook(kind, "not_found")
            raise problem(404, f"no workflow or rule answers at /webhooks/{target}")
        if not found.active:
            # Paused or deprecated: refused here, not accepted and dead-lettered later.
            on_webhook(kind, "inactive")
            raise problem(409, f"{found.kind} {found.definition_id!r} has no active version")
        # Derived from the request's identity (target, timestamp, body), so a redelivery that
        # outlives the replay cache still names the same execution or event, applied once.
        digest = hashlib.sha256(signature.encode()).hexdigest()[:24]
        event = TriggerEvent(id=digest, source=f"/webhooks/{target}",
                             type=request.headers.get("X-Event-Type") or "headwater.webhook",
                             time=ctx.clock(), data=_payload(body))
        if found.kind == "rule":
            on_webhook(found.kind, "accepted")
            await ctx.producer.send("triggers", event.key, event)
            return Ingested(accepted=1, ids=[event.id])
        start_input = found.render_input(event.as_dict(), ctx.clock())
        on_webhook(found.kind, "accepted")
        execution_id = f"{found.definition_id}-wh-{digest}"
        command = StartExecution(
            command_id=f"start:{execution_id}", execution_id=execution_id, time=ctx.clock(),
            workflow_id=found.definition_id, input=start_input, trigger_type="webhook",
            triggered_by=f"webhook:{target}", trigger_event=event.as_dict())
        await ctx.producer.send("commands", execution_id, command)
        return Ingested(accepted=1, ids=[event.id], execution_id=execution_id)

    return router


def _payload(body: bytes) -> Any:
    if not body:
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode(errors="replace")
