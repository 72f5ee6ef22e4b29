"""The crash note's cost (`streams.runtime.quarantine`): what the partition loop pays per cycle
on the normal path, and per record while a range is suspect after a death, next to references
measured in the same run: a bare 100-byte `pwrite` and `Out.put` (staging one record, which
every processed record costs the loop anyway).

    .venv/bin/python -m bench.crash_notes [--partitions 6] [--records 200] [--rounds 20000]
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench._broker import machine
from schemas.codec import Codec
from streams.runtime import DeadLetters, Out, Quarantine, TopicTable


@dataclass
class Rec:
    offset: int
    partition: int
    topic: str = "hw.triggers"
    value: bytes = b""


def per_call_us(work: Callable[[], None], rounds: int) -> float:
    started = time.perf_counter()
    for _ in range(rounds):
        work()
    return (time.perf_counter() - started) / rounds * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partitions", type=int, default=6)
    parser.add_argument("--records", type=int, default=200, help="records per partition a cycle")
    parser.add_argument("--rounds", type=int, default=20000)
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # the suspect phase says so once per partition
    print(f"machine: {machine()}; {os.cpu_count()} cores, shared")
    folder = Path(tempfile.mkdtemp(prefix="hw-bench-notes-"))
    notes = Quarantine(folder / "notes").open("bench.triggers", "hw.triggers", "triggers")
    polled = {p: [Rec(o, p) for o in range(args.records)] for p in range(args.partitions)}
    consumed = {p: args.records for p in range(args.partitions)}

    def cycle() -> None:  # what the normal path adds to one cycle with records
        notes.begin(polled)
        notes.stored(consumed)

    fd = os.open(folder / "raw", os.O_RDWR | os.O_CREAT, 0o644)
    line = b"x" * 100

    def raw() -> None:
        os.pwrite(fd, line, 0)

    table = TopicTable({"hw.commands": 6}, {"hw.commands": 1_000_000})
    out = Out(table, DeadLetters("hw.dead-letters", Codec()), "bench", datetime.now(UTC))
    value = b"v" * 200

    def put() -> None:
        out.put("hw.commands", b"key", value, 0)
        out.rollback(0)

    normal = per_call_us(cycle, args.rounds)
    # a suspect range: the note as a death leaves it (the first one is never closed), read by
    # the next start; each record is marked before the handler gets it
    notes = Quarantine(folder / "notes").open("bench.triggers", "hw.triggers", "triggers")
    records = polled[0]
    assert notes.careful(0)
    marked = per_call_us(lambda: [notes.enter(r) for r in records] and None,
                         max(1, args.rounds // args.records)) / len(records)
    notes.close()
    print(f"normal path, per cycle ({args.partitions} partitions x {args.records} records): "
          f"{normal:.1f} us = {normal / (args.partitions * args.records) * 1000:.1f} ns a record")
    print(f"suspect range, per record: {marked:.1f} us")
    print(f"reference: pwrite of 100 B {per_call_us(raw, args.rounds):.1f} us; "
          f"Out.put of one record {per_call_us(put, args.rounds):.1f} us")
    os.close(fd)


if __name__ == "__main__":
    main()
