"""Crash-loop quarantine: a record that kills the worker process is set aside, not read forever.

A handler's exception is the loop's to catch (a dead letter, ``handler_error``). A record that
kills the process itself (``os._exit``, a segfault in a native library, the OOM killer) leaves
no exception behind: the worker restarts, reads the same record and dies again, for ever. So
each loop keeps a note of what it is doing, a small file under the worker's data directory,
written without fsync (a killed process leaves the page cache behind; a machine crash may lose
the note, and then nothing is quarantined, as before):

1. Before a cycle processes records, the note names each partition's offsets in the cycle: one
   write per cycle that has records, and one on the first idle cycle after it.
2. A loop that starts and finds a cycle in the note knows the process died in it: those
   partitions are *suspect* up to the end of that range. A suspect partition's records go to
   the handler one by one with the offset of the one in the handler written into the note just
   before (a write per record, in suspect ranges only), so a death names its record.
3. A start that finds a record named there blames that record for the death; a record blamed
   at `deaths` consecutive deaths becomes a dead letter ``crashed_worker`` without going to the
   handler again, and the partition goes on. Once its dead letter is acknowledged (the cycle
   stored), it is remembered until its offset is committed, so a redelivery hands it to
   nobody; a death before that sets it aside again (a second dead letter, never none).

A death outside the handler (in a tick, a flush, a store, or while the loop's handler held no
record) blames no record: it only makes the range suspect again. The blame is per loop, so a
record of another loop in the same process that was in its handler at every one of the deaths
would be blamed too; its dead letter can be redriven (``POST /dead-letters/redrive``).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

__all__ = ["CRASHED_WORKER", "CrashNotes", "Quarantine"]

log = logging.getLogger(__name__)

CRASHED_WORKER = "crashed_worker"
"""The dead-letter reason of a record set aside by the quarantine."""


@dataclass(frozen=True)
class Quarantine:
    """Where the loops keep their notes, and how many deaths a record may cause.

    Attributes:
        notes_dir: The folder of the notes (one file per loop, created if missing).
        deaths: Consecutive deaths with the same record in the handler after which it is set
            aside (at least 1).
    """

    notes_dir: Path
    deaths: int = 2

    def open(self, group: str, topic: str, handler: str) -> CrashNotes:
        """The note of the loop of `handler` over `topic` in `group` (what it left is read)."""
        self.notes_dir.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9._-]", "_", f"{group}@{topic}")
        return CrashNotes(self.notes_dir / name, max(1, self.deaths), handler)


class CrashNotes:
    """One loop's note (see the module docstring); partitions are those of the loop's topic.

    Args:
        path: The note's file.
        deaths: Consecutive deaths that set a record aside.
        handler: The handler's name (in the dead letters' message).
    """

    def __init__(self, path: Path, deaths: int, handler: str) -> None:
        self._path, self._deaths, self._handler = path, deaths, handler
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        self._cycle: dict[int, tuple[int, int]] = {}  # in flight: partition -> [start, end)
        self._at: dict[int, int] = {}  # partition -> offset in the handler (suspect only)
        self.suspect: dict[int, int] = {}  # partition -> end of its suspect range
        self._blame: dict[int, tuple[int, int]] = {}  # partition -> (offset, deaths in a row)
        self._doomed: dict[int, dict[int, int]] = {}  # partition -> offset -> deaths: to set aside
        self._pending: dict[int, set[int]] = {}  # doomed, dead letter staged but not acked
        self._aside: dict[int, set[int]] = {}  # dead letter acked, offset not committed
        self._inherit(self._read())
        self._write()  # what was inherited is counted once, however soon the next death

    # -- the cycle ----------------------------------------------------------------------------

    def begin(self, polled: Mapping[int, Sequence[Any]]) -> None:
        """The cycle is about to process `polled` (partition -> records, in offset order)."""
        self._cycle = {p: (records[0].offset, records[-1].offset + 1)
                       for p, records in polled.items()}
        self._write()

    def idle(self) -> None:
        """A cycle without records: the note stops naming the last one (once)."""
        if self._cycle:
            self._cycle = {}
            self._write()

    def careful(self, partition: int) -> bool:
        """Whether `partition`'s records must go through `enter` (a suspect range, or a record
        set aside)."""
        return partition in self.suspect or partition in self._doomed or partition in self._aside

    def enter(self, record: Any) -> str | None:
        """Before `record` (of a `careful` partition) goes to the handler.

        Returns:
            None: process it. Else it is set aside: the message of its dead letter, or ""
            when it has one already (a redelivery).
        """
        partition, offset = record.partition, record.offset
        if offset in self._aside.get(partition, ()):
            return ""
        deaths = self._doomed.get(partition, {}).get(offset)
        if deaths is not None:
            # Doomed until its dead letter is acked (`stored`): a death before that finds it
            # doomed again and makes another, so there is never none.
            self._pending.setdefault(partition, set()).add(offset)
            log.error("%s: %s[%d]@%d killed the worker %d times in a row; set aside as a dead "
                      "letter", self._handler, record.topic, partition, offset, deaths)
            return (f"the worker process died {deaths} times in a row while {self._handler} "
                    "was processing this record (no exception: a fatal signal, os._exit or the "
                    f"out-of-memory killer); set aside without processing it after {self._deaths}")
        if offset < self.suspect.get(partition, -1):
            self._at[partition] = offset
            self._write()
        return None

    def leave(self, partition: int) -> None:
        """The handler is done with `partition`'s records of this cycle."""
        if self._at.pop(partition, None) is not None:
            self._write()

    def stored(self, consumed: Mapping[int, int]) -> None:
        """The cycle's state is stored: partition -> next offset (no write: the next `begin`
        or `idle` says so)."""
        for partition, offset in consumed.items():
            for acked in self._pending.pop(partition, ()):
                self._aside.setdefault(partition, set()).add(acked)
                self._doomed[partition].pop(acked, None)
                if not self._doomed[partition]:
                    del self._doomed[partition]
            if partition in self.suspect and self.suspect[partition] <= offset:
                del self.suspect[partition]
            blamed = self._blame.get(partition)
            if blamed is not None and blamed[0] < offset:
                del self._blame[partition]

    def committed(self, offsets: Iterable[tuple[int, int]]) -> None:
        """Offsets committed (partition, next offset): what is set aside before them is done."""
        for partition, offset in offsets:
            self._forget(partition, offset)

    def assigned(self, partition: int, committed: int) -> None:
        """The partition is this loop's from `committed` on: older notes of it are done."""
        self._forget(partition, committed)
        if partition in self.suspect and self.suspect[partition] <= committed:
            del self.suspect[partition]

    def close(self) -> None:
        """A clean stop: no cycle is in flight (suspect ranges and blame are kept)."""
        self._cycle, self._at = {}, {}
        self._write()
        os.close(self._fd)

    # -- the file -----------------------------------------------------------------------------

    def _forget(self, partition: int, offset: int) -> None:
        aside, doomed = self._aside.get(partition, set()), self._doomed.get(partition, {})
        aside.difference_update([o for o in aside if o < offset])
        for old in [o for o in doomed if o < offset]:
            del doomed[old]
        if not aside:
            self._aside.pop(partition, None)
        if not doomed:
            self._doomed.pop(partition, None)
        blamed = self._blame.get(partition)
        if blamed is not None and blamed[0] < offset:
            del self._blame[partition]

    def _inherit(self, left: dict[str, Any]) -> None:
        def pairs(key: str) -> dict[int, Any]:
            return {int(p): v for p, v in left.get(key, {}).items()}

        self.suspect = pairs("suspect")
        self._blame = {p: (int(v[0]), int(v[1])) for p, v in pairs("blame").items()}
        self._aside = {p: set(v) for p, v in pairs("aside").items()}
        self._doomed = {p: {int(o): int(d) for o, d in v.items()}
                        for p, v in pairs("doomed").items()}
        for partition, (_, end) in pairs("cycle").items():
            self.suspect[partition] = max(self.suspect.get(partition, 0), end)
            log.warning("%s: the worker died while partition %d was in a cycle; noting each "
                        "record in the handler up to offset %d", self._handler, partition, end)
        for partition, offset in pairs("at").items():
            blamed = self._blame.get(partition)
            deaths = blamed[1] + 1 if blamed is not None and blamed[0] == offset else 1
            self._blame[partition] = (offset, deaths)
            if deaths >= self._deaths:
                self._doomed.setdefault(partition, {})[offset] = deaths
                del self._blame[partition]
            log.warning("%s: the worker died while processing partition %d's offset %d (%d "
                        "time(s) in a row; set aside at %d)", self._handler, partition, offset,
                        deaths, self._deaths)

    def _read(self) -> dict[str, Any]:
        data = os.pread(self._fd, 1 << 20, 0).split(b"\n", 1)[0]
        if not data:
            return {}
        try:
            left = orjson.loads(data)
            if not isinstance(left, dict):
                raise ValueError("not an object")
            return left
        except ValueError as exc:  # a torn or foreign file: nothing to go on
            log.warning("%s: crash note %s unreadable (%s); ignored", self._handler, self._path, exc)
            return {}

    def _write(self) -> None:
        # One pwrite from offset 0; a shorter note leaves an old tail after its newline, which
        # `_read` ignores, so no truncation (and no moment without a note) is needed.
        note = {"cycle": self._cycle, "at": self._at, "suspect": self.suspect,
                "blame": self._blame, "doomed": self._doomed,
                "aside": {p: sorted(v) for p, v in self._aside.items()}}
        os.pwrite(self._fd, orjson.dumps(note, option=orjson.OPT_NON_STR_KEYS) + b"\n", 0)
