"""Fault injection for tests and chaos drills: kill the worker on a chosen record.

``HEADWATER_FAULT_CRASH_ON=<handler>:<substring>`` (several separated by commas) makes the
partition loop of `handler` (``triggers``, ``processor``, ``task-worker``, ``completions``,
``alerts``) end the process with ``os._exit(70)`` just before handing it a record whose value
contains `substring` (the record's raw bytes: a CloudEvent's data is in them as UTF-8). It
stands for a record that kills the process in a way no ``except`` sees (a segfault in a native
library, the out-of-memory killer), which is what the crash-loop quarantine
(`streams.runtime.quarantine`) exists for. Read once when the worker starts; unset, the loop
calls its handler directly and pays nothing.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["EXIT_FAULT", "CrashOn", "crashing", "parse_crash_on"]

log = logging.getLogger(__name__)

EXIT_FAULT = 70
"""The exit status of an injected crash (EX_SOFTWARE, as a failed engine part)."""

Process = Callable[[Any, Any], Awaitable[None]]


@dataclass(frozen=True)
class CrashOn:
    """Kill the worker before `handler` processes a record whose value contains `substring`."""

    handler: str
    substring: bytes


def parse_crash_on(spec: str | None) -> tuple[CrashOn, ...]:
    """The faults of a ``HEADWATER_FAULT_CRASH_ON`` value (None or empty: none).

    Raises:
        ValueError: An item is not ``<handler>:<substring>`` with both parts non-empty.
    """
    faults = []
    for item in (spec or "").split(","):
        if not item.strip():
            continue
        handler, sep, substring = item.partition(":")
        if not sep or not handler.strip() or not substring:
            raise ValueError(f"HEADWATER_FAULT_CRASH_ON: {item!r} is not <handler>:<substring>")
        faults.append(CrashOn(handler.strip(), substring.encode()))
    return tuple(faults)


def crashing(handler: str, process: Process, faults: Sequence[CrashOn]) -> Process:
    """`process`, or, when a fault names `handler`, `process` behind the crash check."""
    needles = tuple(f.substring for f in faults if f.handler == handler)
    if not needles:
        return process

    async def process_or_die(record: Any, out: Any) -> None:
        value = record.value or b""
        if any(needle in value for needle in needles):
            log.critical("fault injection: %s crashes the worker on %s[%d]@%d "
                         "(HEADWATER_FAULT_CRASH_ON)", handler, record.topic, record.partition,
                         record.offset)
            logging.shutdown()
            os._exit(EXIT_FAULT)
        await process(record, out)

    return process_or_die
