"""The designer's pinned test-run answers, stored on the server per workflow: a ``PUT`` is one
``MocksPinned`` record on the definitions topic, the view keeps the newest set, ``GET`` reads
it back; a bad mock is refused naming its field; who may read and pin follows the workflow's
rights. Also: ``versions/latest`` opens the highest version in one request."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from projections.access import Principal
from projections.auth import TokenTable
from projections.store import MemoryStore
from projections.views import fold
from projections.views.pinned_mocks import read_mocks
from schemas.pinned_mocks import MocksPinned
from tests.projections.apikit import NOW, client_of, make_api, owned, read_records
from tests.projections.histories import T0

pytestmark = pytest.mark.kafka

STEPS = [{"id": "fetch", "action": "http", "with": {"url": "https://x.example"}},
         {"id": "each", "type": "loop", "for_each": "[1]", "steps": [{"id": "inner", "action": "log"}]}]
TOKENS = TokenTable({"t-alice": Principal(subject="alice", role="editor"),
                     "t-vic": Principal(subject="vic", role="viewer")})


def _views() -> list[Any]:
    return [owned("workflow", "orders", "alice", steps=STEPS),
            owned("workflow", "orders", "alice", steps=STEPS, version="1.1.0-draft.1", status="draft"),
            owned("workflow", "secret", "bob", visibility="private", steps=STEPS)]


async def test_pinned_mocks_are_stored_per_workflow_and_read_back(
        kafka_bootstrap: str, hw_topics: dict[str, str], topic_prefix: str) -> None:
    api = make_api(kafka_bootstrap, hw_topics, _views(), tokens=TOKENS)
    mocks = {"fetch": {"output": {"total": 120}},
             "inner": {"error": {"code": "nope", "message": "pinned"}},
             "new_step": {}}
    async with client_of(api, "t-alice") as client:
        before = (await client.get("/workflows/orders/test-mocks")).json()
        put = await client.put("/workflows/orders/test-mocks", json={"mocks": mocks})
        latest = (await client.get("/definitions/workflow/orders/versions/latest")).json()
    assert before == {"workflow_id": "orders", "mocks": {}, "pinned_by": None, "pinned_at": None,
                      "warnings": []}
    assert put.status_code == 202, put.text
    assert put.json()["mocks"] == mocks and put.json()["pinned_by"] == "alice"
    # a step no version has yet (the draft being edited may): kept, and said
    assert [w["path"] for w in put.json()["warnings"]] == ["body.mocks.new_step"]
    assert latest["version"] == "1.1.0-draft.1"

    [record] = await read_records(kafka_bootstrap, hw_topics["definitions"], 1, topic_prefix)
    assert isinstance(record, MocksPinned)
    assert record.key == "workflow:orders#mocks" and record.mocks == mocks

    # The view keeps the newest set: an older one met later (a redelivery) changes nothing.
    store = MemoryStore()
    store.write(fold(store, [*_views(), record,
                             record.model_copy(update={"mocks": {}, "pinned_at": T0})]))
    assert read_mocks(store, "orders") == record
    read_back = make_api(kafka_bootstrap, hw_topics, [*_views(), record], tokens=TOKENS)
    async with client_of(read_back, "t-vic") as client:
        got = (await client.get("/workflows/orders/test-mocks")).json()
    assert got["mocks"] == mocks and got["pinned_by"] == "alice"


async def test_a_bad_mock_is_refused_by_field_and_rights_are_the_workflows(
        kafka_bootstrap: str, hw_topics: dict[str, str]) -> None:
    api = make_api(kafka_bootstrap, hw_topics, _views(), tokens=TOKENS)
    async with client_of(api, "t-alice") as alice, client_of(api, "t-vic") as vic:
        bad_shape = await alice.put("/workflows/orders/test-mocks",
                                    json={"mocks": {"fetch": {"outptu": 1}}})
        bad_error = await alice.put("/workflows/orders/test-mocks",
                                    json={"mocks": {"fetch": {"error": {"message": "no code"}}}})
        bad_id = await alice.put("/workflows/orders/test-mocks",
                                 json={"mocks": {"1bad id": {"output": 1}}})
        missing = await alice.put("/workflows/nope/test-mocks", json={"mocks": {}})
        hidden = await alice.get("/workflows/secret/test-mocks")
        viewer = await vic.put("/workflows/orders/test-mocks", json={"mocks": {}})
    assert bad_shape.status_code == 422
    assert any(e["path"].endswith("mocks.fetch.outptu") for e in bad_shape.json()["errors"])
    assert bad_error.status_code == 422
    assert any(e["path"].endswith("mocks.fetch.error.code") for e in bad_error.json()["errors"])
    assert bad_id.status_code == 422
    assert missing.status_code == 404 and hidden.status_code == 404
    assert viewer.status_code == 403


def test_an_older_set_never_replaces_a_newer_one() -> None:
    """Pure fold, no broker: the newest ``pinned_at`` wins whatever the order met."""
    new = MocksPinned(workflow_id="w", mocks={"a": {"output": 2}}, pinned_at=NOW)
    old = MocksPinned(workflow_id="w", mocks={"a": {"output": 1}}, pinned_at=NOW - timedelta(minutes=1))
    for order in ([old, new], [new, old]):
        store = MemoryStore()
        store.write(fold(store, order))
        assert read_mocks(store, "w") == new
