"""``/dead-letters``: what the engine refused, why, and sending it back after a fix.

The list reads the dead-letters view (newest refusal first, paged, filtered by topic,
reason and time); each item carries the original record decoded where possible (the
topic's Avro event, else JSON, else UTF-8 text). A redrive sends a letter's original key,
value and headers back to the topic it came from, then records a ``DeadLetterRedriven``
event on the dead-letters topic: the view marks the letter and a second redrive sends
nothing. Between the send and the view catching up, this process remembers what it sent.
Dead letters hold raw payloads of any workflow: reading and redriving them needs the run
right (operators, editors, admins).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from projections.access import Principal, Right
from projections.auth import require
from projections.context import ApiContext
from projections.errors import ErrorItem, problem
from projections.views.dead_letters import (
    DeadLetterFilter,
    DeadLetterRecord,
    DeadLetterSummary,
    page_dead_letters,
    read_dead_letter,
    read_summary,
)
from schemas.codec import DecodeError
from schemas.dead_letters import DeadLetter, DeadLetterRedriven

__all__ = ["DeadLetterOut", "DeadLetterPage", "RedriveRequest", "RedriveResult",
           "dead_letters_router"]

limit_q = Annotated[int, Query(ge=1, le=500)]
_MAX_REDRIVE = 1000
_SHOWN = frozenset({"type", "topic", "partition", "offset", "key", "value", "headers", "reason",
                    "message", "failed_at", "consumer", "original_timestamp_ms"})
"""A letter's fields the items show by name; any other (the exception, the handler, as a
newer engine writes them) goes into ``details`` as written."""


class DeadLetterOut(BaseModel):
    """One dead letter as the API serves it.

    Attributes:
        id: ``<topic>:<partition>:<offset>`` of the refused record.
        key: The original key as text (undecodable bytes escaped), or None.
        time: When it was refused.
        decoded: The original value decoded (see ``decoded_as``), or None.
        decoded_as: ``avro`` (the topic's event), ``json``, ``text``, or None.
        redrivable: Whether it can be sent back (its topic is one of headwater's).
        details: Fields a newer engine added to the letter (e.g. the exception), as written.
    """

    id: str
    topic: str
    partition: int
    offset: int
    key: str | None
    reason: str
    message: str
    consumer: str
    time: datetime
    decoded: Any = None
    decoded_as: Literal["avro", "json", "text"] | None = None
    redriven_at: datetime | None = None
    redriven_by: str | None = None
    redrivable: bool
    details: dict[str, Any] = {}


class DeadLetterDetailOut(DeadLetterOut):
    """One dead letter with the raw record: value (base64) and headers."""

    value_base64: str | None
    headers: list[dict[str, str | None]]
    original_timestamp_ms: int | None


class DeadLetterPage(BaseModel):
    """One page of dead letters, newest first."""

    items: list[DeadLetterOut]
    next_cursor: str | None = None


class RedriveRequest(BaseModel):
    """Which letters to send back: ``ids``, or every letter a filter matches (not yet
    redriven, up to ``limit``). ``dry_run`` only says what would be sent."""

    ids: list[str] | None = Field(default=None, max_length=_MAX_REDRIVE)
    topic: str | None = None
    reason: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = Field(default=100, ge=1, le=_MAX_REDRIVE)
    dry_run: bool = False


class RedriveItem(BaseModel):
    """What happened to one letter.

    Attributes:
        outcome: ``sent``; ``would_send`` (dry run); ``already_redriven`` (nothing sent);
            ``not_found``; ``not_redrivable`` (its topic is not one of headwater's).
    """

    id: str
    topic: str | None = None
    outcome: Literal["sent", "would_send", "already_redriven", "not_found", "not_redrivable"]
    redriven_at: datetime | None = None


class RedriveResult(BaseModel):
    """Per letter what was (or would be) sent, and how many were sent."""

    dry_run: bool
    items: list[RedriveItem]
    sent: int


def dead_letters_router(ctx: ApiContext) -> APIRouter:
    """``GET /dead-letters``, ``/dead-letters/summary``, ``/dead-letters/{id}``,
    ``POST /dead-letters/redrive``."""
    router = APIRouter(tags=["operations"])
    caller = Depends(ctx.tokens.dependency)
    sent_here: dict[str, datetime] = {}  # redriven by this process, until the view has it
    own_topics = {t for role, t in ctx.producer.topics.items() if role != "dead-letters"}

    def topic_name(topic: str | None) -> str | None:
        return ctx.producer.topics.get(topic, topic) if topic is not None else None

    def out(record: DeadLetterRecord, detail: bool = False) -> DeadLetterOut:
        letter = record.dead_letter()
        assert letter is not None and record.letter is not None
        decoded, how = _decode(ctx, letter)
        if record.redriven_at is not None:
            sent_here.pop(record.id, None)  # the view has it now
        at = record.redriven_at or sent_here.get(record.id)
        fields: dict[str, Any] = {
            "id": record.id, "topic": letter.topic, "partition": letter.partition,
            "offset": letter.offset, "reason": letter.reason, "message": letter.message,
            "consumer": letter.consumer, "time": letter.failed_at, "decoded": decoded,
            "decoded_as": how, "redriven_at": at, "redriven_by": record.redriven_by,
            "redrivable": letter.topic in own_topics,
            "key": _key_text(ctx, letter),
            "details": {k: v for k, v in record.letter.items()
                        if k not in _SHOWN and v not in (None, "", [], {})},
        }
        if not detail:
            return DeadLetterOut(**fields)
        raw = orjson.loads(letter.model_dump_json(include={"value", "headers"}))
        return DeadLetterDetailOut(**fields, value_base64=raw["value"],
                                   headers=raw["headers"],
                                   original_timestamp_ms=letter.original_timestamp_ms)

    @router.get("/dead-letters", summary="Refused records, newest first (paged, filtered)")
    async def list_letters(topic: Annotated[str | None, Query(
                               description="topic name or role, e.g. hw.triggers or triggers")] = None,
                           reason: str | None = None, since: datetime | None = None,
                           until: datetime | None = None, redriven: bool | None = None,
                           limit: limit_q = 50, cursor: str | None = None,
                           who: Principal = caller) -> DeadLetterPage:
        require(who, Right.RUN)
        if cursor is not None and not cursor.startswith("dlt/"):
            raise problem(422, "invalid request", [ErrorItem(
                path="query.cursor", code="invalid_cursor", message="not a cursor this API returned")])
        where = DeadLetterFilter(topic=topic_name(topic), reason=reason, since=since, until=until,
                                 redriven=redriven)
        records, more = page_dead_letters(ctx.store, where, limit=limit, cursor=cursor,
                                          keep=lambda r: r.letter is not None)
        return DeadLetterPage(items=[out(r) for r in records], next_cursor=more)

    @router.get("/dead-letters/summary", summary="Dead letters counted by topic and reason")
    async def summary(who: Principal = caller) -> DeadLetterSummary:
        require(who, Right.RUN)
        return read_summary(ctx.store)

    @router.get("/dead-letters/{letter_id}", summary="One dead letter with its raw record",
                responses={404: {"description": "No such dead letter"}})
    async def one_letter(letter_id: str, who: Principal = caller) -> DeadLetterDetailOut:
        require(who, Right.RUN)
        record = read_dead_letter(ctx.store, letter_id)
        if record is None or record.letter is None:
            raise problem(404, f"dead letter {letter_id!r} not found")
        result = out(record, detail=True)
        assert isinstance(result, DeadLetterDetailOut)
        return result

    @router.post("/dead-letters/redrive",
                 summary="Send dead letters back to their topic (once each; dry_run to preview)")
    async def redrive(request: RedriveRequest, who: Principal = caller) -> RedriveResult:
        require(who, Right.RUN)
        if request.ids is None:
            where = DeadLetterFilter(topic=topic_name(request.topic), reason=request.reason,
                                     since=request.since, until=request.until, redriven=False)
            chosen, _ = page_dead_letters(
                ctx.store, where, limit=request.limit,
                keep=lambda r: r.letter is not None and r.id not in sent_here)
            targets: list[tuple[str, DeadLetterRecord | None]] = [(r.id, r) for r in chosen]
        else:
            targets = [(i, read_dead_letter(ctx.store, i)) for i in dict.fromkeys(request.ids)]
        items = [await _redrive_one(ctx, who, letter_id, record, request.dry_run, sent_here,
                                    own_topics) for letter_id, record in targets]
        return RedriveResult(dry_run=request.dry_run, items=items,
                             sent=sum(i.outcome == "sent" for i in items))

    return router


async def _redrive_one(ctx: ApiContext, who: Principal, letter_id: str,
                       record: DeadLetterRecord | None, dry_run: bool,
                       sent_here: dict[str, datetime], own_topics: set[str]) -> RedriveItem:
    letter = record.dead_letter() if record is not None else None
    if record is None or letter is None:
        return RedriveItem(id=letter_id, outcome="not_found")
    done = record.redriven_at or sent_here.get(letter_id)
    if done is not None:
        return RedriveItem(id=letter_id, topic=letter.topic, outcome="already_redriven",
                           redriven_at=done)
    if letter.topic not in own_topics:
        return RedriveItem(id=letter_id, topic=letter.topic, outcome="not_redrivable")
    if dry_run:
        return RedriveItem(id=letter_id, topic=letter.topic, outcome="would_send")
    now = ctx.clock()
    sent_here[letter_id] = now  # before the awaits: a concurrent request sees it at once
    try:
        await ctx.producer.send_raw(letter.topic, letter.key, letter.value,
                                    [(h.key, h.value or b"") for h in letter.headers])
        event = DeadLetterRedriven(dead_letter_id=letter_id, topic=letter.topic,
                                   redriven_at=now, redriven_by=who.subject)
        await ctx.producer.send("dead-letters", letter.key, event)
    except BaseException:
        sent_here.pop(letter_id, None)
        raise
    return RedriveItem(id=letter_id, topic=letter.topic, outcome="sent", redriven_at=now)


def _key_text(ctx: ApiContext, letter: DeadLetter) -> str | None:
    """The original key: decoded as the topic's key where it is one, else the bytes as text."""
    if letter.key is None:
        return None
    try:
        key = ctx.producer.codec.decode_key(letter.topic, letter.key)
    except DecodeError:
        key = letter.key
    return key.decode("utf-8", "backslashreplace") if isinstance(key, bytes) else key


def _decode(ctx: ApiContext, letter: DeadLetter) -> tuple[Any, Literal["avro", "json", "text"] | None]:
    """The original value, readable: the topic's event, else JSON, else text, else None."""
    if letter.value is None:
        return None, None
    try:
        event = ctx.producer.codec.decode_value(letter.topic, letter.value)
        return event.model_dump(mode="json"), "avro"
    except DecodeError:
        pass
    try:
        return orjson.loads(letter.value), "json"
    except orjson.JSONDecodeError:
        pass
    try:
        return letter.value.decode("utf-8"), "text"
    except UnicodeDecodeError:
        return None, None
