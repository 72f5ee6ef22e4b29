"""RocksDB (rocksdict) opened the one way the engine's stores use it: raw bytes, created if missing."""

from __future__ import annotations

from pathlib import Path

from rocksdict import Options, Rdict

__all__ = ["open_rocksdb"]


def open_rocksdb(path: Path) -> Rdict:
    """A raw-bytes RocksDB at `path`, created (folders included) if missing."""
    path.mkdir(parents=True, exist_ok=True)
    options = Options(raw_mode=True)
    options.create_if_missing(True)
    return Rdict(str(path), options)
