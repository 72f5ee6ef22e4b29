"""The engine's RocksDB stores are checked when opened: a corrupt one is never served but moved
aside and replaced by an empty one (checkpoint 0: its owner rebuilds it from the log), and a
scan that meets a corrupt block raises instead of ending early as rocksdict's own does."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from rocksdict import Options, Rdict

from streams.executions.store import StateStore
from streams.runtime.rocks import StoreCorrupt, open_rocksdb, scan


def corrupt_tables(path: Path) -> None:
    """Overwrite a stretch of the middle of every table file with random bytes."""
    tables = list(path.glob("*.sst"))
    assert tables, "nothing was flushed to a table"
    for table in tables:
        size = table.stat().st_size
        with table.open("r+b") as out:
            out.seek(size // 3)
            out.write(os.urandom(4096))


def filled(path: Path, keys: int = 20_000) -> None:
    db = open_rocksdb(path)
    for i in range(keys):
        db[b"p0:%06d" % i] = os.urandom(100)
    db[b"c:0"] = b"12345"  # a checkpoint, as the stores keep one
    db.flush()
    db.close()


def test_a_scan_that_meets_a_corrupt_block_raises(tmp_path: Path) -> None:
    filled(tmp_path / "s")
    corrupt_tables(tmp_path / "s")
    db = Rdict(str(tmp_path / "s"), Options(raw_mode=True))  # unchecked, as before the fix
    try:
        assert sum(1 for _ in db.items()) < 20_001  # rocksdict's scan just stops there
        with pytest.raises(StoreCorrupt, match="Corruption"):
            for _ in scan(db):
                pass
    finally:
        db.close()


def test_a_corrupt_store_is_moved_aside_and_opened_empty(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "executions"
    filled(path)
    corrupt_tables(path)
    with caplog.at_level(logging.ERROR):
        store = StateStore(path)
    try:
        assert store.checkpoint(0) == 0  # empty: the processor replays the partition from 0
    finally:
        store.close()
    [aside] = tmp_path.glob("executions.corrupt-*")
    assert list(aside.glob("*.sst")), "the corrupt files are kept for inspection"
    assert "is corrupt" in caplog.text and "rebuilding it from the log" in caplog.text


def test_a_sound_store_keeps_its_data(tmp_path: Path) -> None:
    filled(tmp_path / "s", keys=100)
    db = open_rocksdb(tmp_path / "s")
    try:
        assert db[b"c:0"] == b"12345"
        assert sum(1 for _ in scan(db, b"p0:")) == 100
    finally:
        db.close()
    assert not list(tmp_path.glob("s.corrupt-*"))
