"""RocksDB (rocksdict) opened the one way the engine's stores use it: raw bytes, created if missing,
checked before use.

The engine's stores are caches of the log (an execution store of `hw.executions`, a rule-state
store of `hw.triggers`), each with the checkpoint it reflects written in the same batch as its
data. A store that fails its check is therefore never served: it is moved aside and an empty one
opened, whose checkpoint 0 makes its owner rebuild it from its topic (logged at ERROR, naming
the folder kept for inspection). RocksDB raises on a corrupt block read by key, but an iterator
that meets one simply ends: `scan` checks the iterator's status so a truncated scan raises too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

from rocksdict import Options, Rdict

__all__ = ["StoreCorrupt", "open_rocksdb", "scan"]

log = logging.getLogger(__name__)


class StoreCorrupt(RuntimeError):
    """A store's data failed RocksDB's checks (a block checksum, a broken table or log)."""


def _options() -> Options:
    options = Options(raw_mode=True)
    options.create_if_missing(True)
    options.set_paranoid_checks(True)
    return options


def scan(db: Rdict, from_key: bytes = b"") -> Iterator[tuple[bytes, bytes]]:
    """Every (key, value) from `from_key` on, in key order.

    Raises:
        StoreCorrupt: The scan met a corrupt block (rather than ending early, as rocksdict's
            own `items()` would).
    """
    it = db.iter()
    if from_key:
        it.seek(from_key)
    else:
        it.seek_to_first()
    while it.valid():
        yield it.key(), it.value()
        it.next()
    try:
        it.status()
    except Exception as exc:
        raise StoreCorrupt(str(exc)) from exc


def _check(db: Rdict) -> str | None:
    """Read every block once (each checksum is verified on read); what failed, if anything."""
    it = db.iter()
    it.seek_to_first()
    while it.valid():
        it.next()
    try:
        it.status()
        return None
    except Exception as exc:
        return str(exc)
    finally:
        del it  # an open iterator keeps the database (and its lock) alive past close()


def open_rocksdb(path: Path) -> Rdict:
    """A raw-bytes RocksDB at `path`, created (folders included) if missing, and checked.

    A store that fails the check is moved to ``<path>.corrupt-<unix time>`` and an empty one
    opened in its place (see the module's docstring: the owner rebuilds it from the log).
    Any other failure to open (a lock held by another process, a permission, a full disk)
    raises with RocksDB's reason and the path.
    """
    path.mkdir(parents=True, exist_ok=True)
    try:
        db = Rdict(str(path), _options())
    except Exception as exc:
        if "Corruption" not in str(exc):
            raise RuntimeError(f"cannot open the store at {path}: {exc}") from exc
        return _replace(path, str(exc))
    problem = _check(db)
    if problem is not None:
        db.close()
        del db
        return _replace(path, problem)
    return db


def _replace(path: Path, reason: str) -> Rdict:
    aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
    path.rename(aside)
    log.error("the store at %s is corrupt (%s): moved to %s; rebuilding it from the log",
              path, reason, aside)
    path.mkdir(parents=True)
    return Rdict(str(path), _options())
