"""Factories: a view store of either kind, and a fold that commits into it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest
from pydantic import BaseModel

from projections.store import MemoryStore, RocksStore, ViewStore
from projections.views import fold

StoreFactory = Callable[[], ViewStore]


@pytest.fixture(params=["memory", "rocksdb"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """Make empty stores of the parametrised kind; all are closed afterwards."""
    made: list[ViewStore] = []

    def make() -> ViewStore:
        store: ViewStore = (MemoryStore() if request.param == "memory"
                            else RocksStore(tmp_path / f"views-{len(made)}"))
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()


def fold_into(store: ViewStore, events: Iterable[BaseModel]) -> ViewStore:
    """Fold ``events`` into ``store`` in one batch and commit it."""
    store.write(fold(store, events))
    return store


@pytest.fixture
def folded() -> Callable[[Iterable[BaseModel]], ViewStore]:
    """``folded(events)``: a fresh in-memory store holding the views of ``events``."""
    return lambda events: fold_into(MemoryStore(), events)
