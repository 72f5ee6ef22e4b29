"""Rebuilding views on demand, while the old ones keep being served.

The live projector pauses at its stored positions; the log is folded again from offset zero
up to exactly those positions into a side store; then the rebuilt view's keys replace the
live ones in one atomic write, and the live projector resumes where it paused. So a reader
sees the old view, then the rebuilt one, never an empty or half-built one, and the offsets
stay true for every view (the rebuilt view holds exactly what the others hold).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from aiokafka import AIOKafkaConsumer, TopicPartition

from projections.projector import Projector
from projections.store import MemoryStore, ViewStore
from projections.views import Tx, apply_event
from schemas.codec import DecodeError

__all__ = ["VIEWS", "Rebuild", "RebuildStatus"]

log = logging.getLogger(__name__)

VIEWS: Mapping[str, tuple[str, ...]] = {
    "executions": ("x/", "xd/", "xe/", "xi/", "xiw/", "xis/", "xiws/"),
    "workflow-stats": ("ws/",),
    "rule-stats": ("rs/", "rseen/"),
    "definitions": ("d/", "dbody/", "wh/", "dhist/", "dhistc/"),
    "dashboard": ("dash", "dh/"),
    "dead-letters": ("dl/", "dlt/", "dlsum"),
    "templates": ("tpl/", "tpldel/"),
}
"""Each view by name and the key prefixes it owns (docs/projections.md, "Views and keys")."""

_BOOKKEEPING = "_"


@dataclass
class RebuildStatus:
    """Where a rebuild stands.

    Attributes:
        state: ``idle`` (none yet), ``running``, ``done`` or ``failed``.
        views: The views being rebuilt (every one for a whole rebuild).
        applied: Records folded so far.
        total: Records to fold: the log up to the positions the views had when it began.
    """

    state: Literal["idle", "running", "done", "failed"] = "idle"
    views: list[str] = field(default_factory=list)
    applied: int = 0
    total: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str | None = None


class Rebuild:
    """One rebuild at a time, of the views a projector keeps."""

    def __init__(self) -> None:
        self.status = RebuildStatus()
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        """Whether a rebuild is under way."""
        return self._task is not None and not self._task.done()

    def start(self, projector: Projector, view: str | None) -> RebuildStatus:
        """Begin rebuilding ``view`` (every view for None) in the background.

        Raises:
            ValueError: ``view`` is not a view's name.
            RuntimeError: A rebuild is already running.
        """
        if view is not None and view not in VIEWS:
            raise ValueError(f"no view {view!r}: one of {', '.join(VIEWS)}")
        if self.running:
            raise RuntimeError("a rebuild is already running")
        self.status = RebuildStatus(state="running", views=[view] if view else list(VIEWS),
                                    started_at=datetime.now(UTC))
        self._task = asyncio.create_task(self._run(projector, view), name="headwater-rebuild")
        return self.status

    async def wait(self) -> RebuildStatus:
        """Return once the current rebuild (if any) has ended."""
        if self._task is not None:
            await asyncio.shield(self._task)
        return self.status

    async def _run(self, projector: Projector, view: str | None) -> None:
        try:
            async with projector.paused() as positions:
                self.status.total = sum(positions.values())
                side = await self._fold_up_to(projector, positions)
                projector.store.write(_replacement(projector.store, side, view))
            self.status.state = "done"
        except Exception as exc:  # reported through the status; the live views are untouched
            log.exception("rebuild failed")
            self.status.state, self.status.error = "failed", f"{type(exc).__name__}: {exc}"
        finally:
            self.status.finished_at = datetime.now(UTC)

    async def _fold_up_to(self, projector: Projector,
                          positions: Mapping[TopicPartition, int]) -> MemoryStore:
        side = MemoryStore()
        wanted = {tp: end for tp, end in positions.items() if end > 0}
        if not wanted:
            return side
        consumer = AIOKafkaConsumer(bootstrap_servers=projector.bootstrap, group_id=None,
                                    **projector.kafka_options,
                                    enable_auto_commit=False)
        await consumer.start()
        try:
            consumer.assign(list(wanted))
            await consumer.seek_to_beginning(*wanted)
            while wanted:
                batch = await consumer.getmany(*wanted, timeout_ms=500, max_records=1000)
                tx = Tx(side)
                for tp, records in batch.items():
                    for record in records:
                        if record.offset >= wanted.get(tp, 0):
                            break
                        try:
                            event = projector.codec.decode_value(record.topic, record.value)
                        except DecodeError:
                            event = None  # skipped, as the live projector skipped it
                        if event is not None:
                            apply_event(tx, event)
                        self.status.applied += 1
                    if await consumer.position(tp) >= wanted[tp]:
                        del wanted[tp]
                side.write(tx.changes())
                await asyncio.sleep(0)
        finally:
            await consumer.stop()
        return side


def _owned(key: str, view: str | None) -> bool:
    if view is None:
        return not key.startswith(_BOOKKEEPING)
    return key.startswith(VIEWS[view])


def _replacement(live: ViewStore, side: MemoryStore, view: str | None) -> dict[str, bytes | None]:
    """One batch: the view's live keys deleted, the rebuilt ones put."""
    prefixes = ("",) if view is None else VIEWS[view]
    batch: dict[str, bytes | None] = {}
    for prefix in prefixes:
        for key, _ in live.scan(prefix):
            if _owned(key, view):
                batch[key] = None
        for key, value in side.scan(prefix):
            if _owned(key, view):
                batch[key] = value
    return batch
