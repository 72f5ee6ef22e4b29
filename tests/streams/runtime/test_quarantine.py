"""The crash note of a partition loop, without Kafka: a process that dies mid-cycle (here: a
note dropped without `close`, as SIGKILL leaves it) makes the range suspect, a death while the
handler holds a record blames that record, and the same record blamed at `deaths` deaths in a
row is set aside once, while deaths elsewhere blame nobody."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from streams.runtime.faults import CrashOn, crashing, parse_crash_on
from streams.runtime.quarantine import CrashNotes, Quarantine


@dataclass
class Rec:
    offset: int
    partition: int = 0
    topic: str = "hw.triggers"
    value: bytes = b""


def die(notes: CrashNotes) -> None:
    """The process is gone: its file descriptor closes, nothing else happens."""
    os.close(notes._fd)


def start(tmp_path: Path, deaths: int = 2) -> CrashNotes:
    return Quarantine(tmp_path / "notes", deaths).open("app.triggers", "hw.triggers", "triggers")


def test_a_clean_cycle_leaves_nothing_suspect(tmp_path: Path) -> None:
    notes = start(tmp_path)
    notes.begin({0: [Rec(0), Rec(1)]})
    notes.stored({0: 2})
    notes.idle()
    die(notes)  # even a death right after: the cycle was stored and the note says so
    again = start(tmp_path)
    assert not again.careful(0)
    assert again.enter(Rec(1)) is None


def test_a_death_in_a_cycle_makes_its_range_suspect_but_blames_no_record(tmp_path: Path) -> None:
    notes = start(tmp_path)
    notes.begin({0: [Rec(5), Rec(6), Rec(7)], 3: [Rec(1)]})
    die(notes)
    again = start(tmp_path)
    assert again.careful(0) and again.careful(3) and not again.careful(1)
    assert again.suspect == {0: 8, 3: 2}
    # records of the range go to the handler (no record was blamed)
    assert all(again.enter(Rec(o)) is None for o in (5, 6, 7))


def test_the_same_record_in_the_handler_at_two_deaths_is_set_aside_once(tmp_path: Path) -> None:
    notes = start(tmp_path, deaths=2)
    notes.begin({0: [Rec(5), Rec(6), Rec(7)]})
    die(notes)  # death 1: somewhere in the cycle
    for _ in range(2):  # deaths 2 and 3: offset 6 in the handler each time
        notes = start(tmp_path, deaths=2)
        notes.begin({0: [Rec(5), Rec(6), Rec(7)]})
        assert notes.enter(Rec(5)) is None
        assert notes.enter(Rec(6)) is None
        die(notes)
    notes = start(tmp_path, deaths=2)
    notes.begin({0: [Rec(5), Rec(6), Rec(7)]})
    assert notes.enter(Rec(5)) is None
    message = notes.enter(Rec(6))
    assert message and "died 2 times in a row while triggers was processing" in message
    assert notes.enter(Rec(7)) is None
    notes.leave(0)
    # a death before its dead letter is acknowledged sets it aside again: a second dead
    # letter, never none
    die(notes)
    notes = start(tmp_path, deaths=2)
    notes.begin({0: [Rec(5), Rec(6), Rec(7)]})
    assert notes.enter(Rec(5)) is None
    assert notes.enter(Rec(6))
    notes.leave(0)
    notes.stored({0: 8})  # acknowledged and stored
    notes.idle()
    # a redelivery before the commit (the next death, say) hands it to nobody, without another
    # dead letter
    die(notes)
    notes = start(tmp_path, deaths=2)
    assert notes.careful(0)
    assert notes.enter(Rec(6)) == ""
    assert notes.enter(Rec(7)) is None
    # once committed past, it is forgotten
    notes.committed([(0, 8)])
    notes.stored({0: 8})
    assert not notes.careful(0)


def test_two_poison_records_in_a_row_are_both_set_aside(tmp_path: Path) -> None:
    def restart_and_die_in(offset: int) -> None:
        notes = start(tmp_path, deaths=2)
        notes.begin({0: [Rec(5), Rec(6), Rec(7)]})
        for o in range(5, offset + 1):  # the ones before are processed or set aside
            notes.enter(Rec(o))
        die(notes)  # with `offset` in the handler

    notes = start(tmp_path, deaths=2)
    notes.begin({0: [Rec(5), Rec(6), Rec(7)]})
    die(notes)
    restart_and_die_in(6)
    restart_and_die_in(6)  # 6 is doomed now
    # 6 is set aside (its dead letter staged), then 7 kills the process in the same cycle:
    # 6 stays doomed (its dead letter was never acknowledged) and 7 is blamed once
    restart_and_die_in(7)
    restart_and_die_in(7)  # 6 set aside again, 7 blamed twice
    notes = start(tmp_path, deaths=2)
    notes.begin({0: [Rec(5), Rec(6), Rec(7)]})
    assert notes.enter(Rec(5)) is None
    assert notes.enter(Rec(6)) and notes.enter(Rec(7))  # both set aside: no endless swap


def test_deaths_outside_the_handler_neither_blame_nor_reset(tmp_path: Path) -> None:
    notes = start(tmp_path, deaths=2)
    notes.begin({0: [Rec(5), Rec(6)]})
    die(notes)
    notes = start(tmp_path, deaths=2)
    notes.begin({0: [Rec(5), Rec(6)]})
    notes.enter(Rec(5))
    die(notes)  # blamed: 5, once
    notes = start(tmp_path, deaths=2)
    notes.begin({0: [Rec(5), Rec(6)]})
    notes.enter(Rec(5))
    notes.enter(Rec(6))
    notes.leave(0)
    die(notes)  # died in the flush or store: nobody blamed, 5 still once
    notes = start(tmp_path, deaths=2)
    notes.begin({0: [Rec(5), Rec(6)]})
    assert notes.enter(Rec(5)) is None  # once is not twice
    die(notes)  # blamed: 5, twice in a row
    notes = start(tmp_path, deaths=2)
    assert notes.enter(Rec(5))


def test_a_blamed_record_that_then_goes_through_is_cleared(tmp_path: Path) -> None:
    notes = start(tmp_path, deaths=2)
    notes.begin({0: [Rec(5)]})
    die(notes)
    notes = start(tmp_path, deaths=2)
    notes.begin({0: [Rec(5)]})
    notes.enter(Rec(5))
    die(notes)  # blamed once (an unlucky OOM, say)
    notes = start(tmp_path, deaths=2)
    notes.begin({0: [Rec(5)]})
    assert notes.enter(Rec(5)) is None
    notes.leave(0)
    notes.stored({0: 6})
    notes.idle()
    die(notes)
    notes = start(tmp_path, deaths=2)
    assert not notes.careful(0)


def test_a_partition_committed_past_the_note_elsewhere_is_not_suspect(tmp_path: Path) -> None:
    notes = start(tmp_path)
    notes.begin({0: [Rec(5), Rec(6)]})
    die(notes)
    again = start(tmp_path)
    again.assigned(0, 7)  # another worker processed and committed them meanwhile
    assert not again.careful(0)


def test_a_torn_note_is_ignored(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "app.triggers@hw.triggers").write_bytes(b'{"cycle": {"0": [1,')
    assert not start(tmp_path).careful(0)


def test_crash_on_parses_and_only_wraps_the_named_handler() -> None:
    faults = parse_crash_on("triggers:POISON,processor:x:y")
    assert faults == (CrashOn("triggers", b"POISON"), CrashOn("processor", b"x:y"))
    assert parse_crash_on(None) == () and parse_crash_on("") == ()
    with pytest.raises(ValueError, match="not <handler>:<substring>"):
        parse_crash_on("triggers")

    async def process(record: object, out: object) -> None: ...

    assert crashing("tasks", process, faults) is process  # unset for it: no cost at all
    assert crashing("triggers", process, faults) is not process
