"""One contract, every adapter: what the projector and the readers rely on from a store."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from projections.store import MemoryStore, ViewStore
from tests.projections.conftest import StoreFactory


def test_write_then_get_and_delete(store_factory: StoreFactory) -> None:
    store = store_factory()
    store.write({"a": b"1", "b": b"2"})
    store.write({"a": None, "c": b"3"})
    assert (store.get("a"), store.get("b"), store.get("c")) == (None, b"2", b"3")


def test_deleting_a_missing_key_is_harmless(store_factory: StoreFactory) -> None:
    store = store_factory()
    store.write({"missing": None})
    assert store.get("missing") is None


def test_scan_keeps_to_the_prefix_in_key_order(store_factory: StoreFactory) -> None:
    store = store_factory()
    store.write({"x/b": b"2", "x/a": b"1", "xa": b"no", "w": b"no", "x/c": b"3"})
    assert [k for k, _ in store.scan("x/")] == ["x/a", "x/b", "x/c"]
    assert [k for k, _ in store.scan("x/", reverse=True)] == ["x/c", "x/b", "x/a"]
    assert dict(store.scan("x/"))["x/b"] == b"2"


def test_scan_resumes_strictly_after_a_key(store_factory: StoreFactory) -> None:
    store = store_factory()
    store.write({f"k/{i}": b"" for i in range(5)})
    assert [k for k, _ in store.scan("k/", start_after="k/2")] == ["k/3", "k/4"]
    assert [k for k, _ in store.scan("k/", start_after="k/2", reverse=True)] == ["k/1", "k/0"]
    # a cursor need not be a stored key
    assert [k for k, _ in store.scan("k/", start_after="k/25", reverse=True)] == ["k/2", "k/1", "k/0"]


def test_scan_orders_non_ascii_keys_like_their_utf8_bytes(store_factory: StoreFactory) -> None:
    store = store_factory()
    keys = ["p/z", "p/é", "p/日本", "p/\U0001f600", "p/A"]
    store.write({k: b"" for k in keys})
    assert [k for k, _ in store.scan("p/")] == sorted(keys, key=str.encode)


def test_clear_empties_the_store_and_it_stays_usable(store_factory: StoreFactory) -> None:
    store = store_factory()
    store.write({"a": b"1", "b/c": b"2"})
    store.clear()
    assert store.get("a") is None and list(store.scan("")) == []
    store.write({"a": b"again"})
    assert store.get("a") == b"again"


def test_both_adapters_are_view_stores(store_factory: StoreFactory) -> None:
    assert isinstance(store_factory(), ViewStore)


_keys = st.text(alphabet="ab/é", min_size=1, max_size=4)
_batches = st.lists(st.dictionaries(_keys, st.none() | st.binary(max_size=3), max_size=6),
                    max_size=6)


# the factory makes a fresh store per call, so reusing the fixture across examples is safe
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=_batches, prefix=st.text(alphabet="ab/", max_size=2))
def test_any_sequence_of_batches_reads_like_a_dict(store_factory: StoreFactory,
                                                   batches: list[dict[str, bytes | None]],
                                                   prefix: str) -> None:
    store, model = store_factory(), MemoryStore()
    expected: dict[str, bytes] = {}
    for batch in batches:
        store.write(batch)
        model.write(batch)
        for key, value in batch.items():
            if value is None:
                expected.pop(key, None)
            else:
                expected[key] = value
    assert dict(store.scan(prefix)) == {k: v for k, v in expected.items() if k.startswith(prefix)}
    assert [k for k, _ in store.scan(prefix)] == sorted(
        (k for k in expected if k.startswith(prefix)), key=str.encode)


@pytest.mark.parametrize("reverse", [False, True])
def test_writes_during_a_scan_never_repeat_or_skip_the_keys_it_had(
        store_factory: StoreFactory, reverse: bool) -> None:
    store = store_factory()
    keys = [f"k/{i:03d}" for i in range(0, 200, 2)]
    store.write({k: b"" for k in keys})
    seen: list[str] = []
    for n, (key, _) in enumerate(store.scan("k/", reverse=reverse)):
        if key in keys:
            seen.append(key)
        # the projector writes between two reads of a page: around, before and after here
        store.write({f"k/{n * 2 + 1:03d}": b"", f"a/{n}": b"", f"z/{n}": b""})
    assert seen == (keys[::-1] if reverse else keys)
