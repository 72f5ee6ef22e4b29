"""What the API and `headwater run` refuse before a start reaches the engine, and why."""

from __future__ import annotations

import pytest

from projections.store import MemoryStore
from projections.views import fold
from projections.views.definitions import read_definition, start_refusal
from tests.projections.apikit import client_of, make_api, owned


def _record(*versions: tuple[str, str]):  # type: ignore[no-untyped-def]
    store = MemoryStore()
    store.write(fold(store, [owned("workflow", "w", version=v, status=s) for v, s in versions]))
    return read_definition(store, "workflow", "w")


@pytest.mark.parametrize(("version", "want"), [
    (None, None), ("1.2.0", None), ("^1", None), ("~2.0", None), (">=1.0 <3", None),
    ("1.9.0", 404), ("^3", 404), ("not a range!", 422),
])
def test_versions_and_ranges_as_the_engine_resolves_them(version: str | None, want: int | None) -> None:
    refused = start_refusal(_record(("1.2.0", "active"), ("2.0.0", "active")), "w", version)
    assert (refused[0] if refused else None) == want


def test_unknown_or_without_an_active_version() -> None:
    assert start_refusal(None, "w", None) == (404, "workflow 'w' not found")
    paused = _record(("1.0.0", "paused"))
    assert start_refusal(paused, "w", None)[0] == 409  # type: ignore[index]
    assert start_refusal(paused, "w", "^1")[0] == 409  # type: ignore[index]


@pytest.mark.kafka
async def test_the_api_takes_a_range(kafka_bootstrap: str, hw_topics: dict[str, str]) -> None:
    api = make_api(kafka_bootstrap, hw_topics, [owned("workflow", "w", version="1.2.0")])
    async with client_of(api) as client:
        ok = await client.post("/workflows/w/executions", json={"version": "^1"})
        missing = await client.post("/workflows/w/executions", json={"version": "^2"})
    assert ok.status_code == 202
    assert missing.status_code == 404 and "no active version in '^2'" in missing.json()["detail"]
