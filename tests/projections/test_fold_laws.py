"""The laws of the folds: duplicates and redeliveries change nothing, chunking changes nothing.

Histories are random: several executions (steps succeeding, retried, failing; executions
completing, failing, cancelled, resumed, or still running), rule outcomes and definition
events, interleaved as partitions would deliver them.
"""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from projections.store import MemoryStore
from projections.views import ExecutionFilter, ExecutionSummary, fold, list_executions
from schemas.definition_events import DefinitionStatusChanged
from tests.projections.histories import (
    T0,
    Execution,
    matched,
    published,
    rule_failed,
    skipped,
)

_STEP_OPS = ("ok", "retried", "failed", "variables")
_ENDINGS = ("completed", "failed", "cancelled", "running", "resumed")


@st.composite
def _execution(draw: st.DrawFn, index: int) -> list[BaseModel]:
    run = Execution(f"e{index}", workflow_id=draw(st.sampled_from(["wf-a", "wf-b"])),
                    trigger_type=draw(st.sampled_from(["manual", "webhook"])),
                    start=T0 + timedelta(minutes=draw(st.integers(0, 300)))).started(k=index)
    for n, op in enumerate(draw(st.lists(st.sampled_from(_STEP_OPS), max_size=4))):
        if op == "ok":
            run.step_ok(f"s{n}", output=n)
        elif op == "retried":
            run.step_retried(f"s{n}")
        elif op == "failed":
            run.step_failed(f"s{n}")
        else:
            run.variables(**{f"v{n}": n})
    ending = draw(st.sampled_from(_ENDINGS))
    if ending == "completed":
        run.completed()
    elif ending == "failed":
        run.failed()
    elif ending == "cancelled":
        run.cancelled()
    elif ending == "resumed":
        run.failed().resumed().step_ok("again").completed()
    return list(run.events)


@st.composite
def _outcomes(draw: st.DrawFn) -> list[BaseModel]:
    pairs = draw(st.lists(st.tuples(st.sampled_from(["r1", "r2"]), st.integers(0, 20)),
                          unique=True, max_size=12))
    made: list[BaseModel] = []
    for rule, event in pairs:
        kind = draw(st.sampled_from(["matched", "action_failed", "skipped", "failed"]))
        event_id = f"ev{event}"
        if kind in ("matched", "action_failed"):
            made.append(matched(rule, event_id, at_s=draw(st.integers(0, 50)),
                                us=draw(st.integers(0, 5000)), action_ok=kind == "matched"))
        elif kind == "skipped":
            made.append(skipped(rule, event_id, us=draw(st.integers(0, 5000))))
        else:
            made.append(rule_failed(rule, event_id))
    return made


@st.composite
def _definitions(draw: st.DrawFn) -> list[BaseModel]:
    made: list[BaseModel] = [published("workflow", "wf-a"), published("rule", "r1")]
    for minute, status in enumerate(draw(st.lists(
            st.sampled_from(["active", "paused", "deprecated"]), max_size=4)), start=1):
        made.append(DefinitionStatusChanged(kind="workflow", definition_id="wf-a",
                                            version="1.0.0", status=status,  # type: ignore[arg-type]
                                            changed_at=T0 + timedelta(minutes=minute)))
    return made


@st.composite
def _streams(draw: st.DrawFn) -> list[list[BaseModel]]:
    count = draw(st.integers(1, 4))
    return [*(draw(_execution(i)) for i in range(count)), draw(_outcomes()), draw(_definitions())]


@st.composite
def histories(draw: st.DrawFn, streams: list[list[BaseModel]] | None = None) -> list[BaseModel]:
    """Streams interleaved at random, each keeping its own order (as a partition does)."""
    if streams is None:
        streams = draw(_streams())
    order = draw(st.permutations([i for i, s in enumerate(streams) for _ in s]))
    cursors = [0] * len(streams)
    merged: list[BaseModel] = []
    for stream in order:
        merged.append(streams[stream][cursors[stream]])
        cursors[stream] += 1
    return merged


@st.composite
def with_redeliveries(draw: st.DrawFn, history: list[BaseModel]) -> list[BaseModel]:
    """The history with copies of events after their originals, and replayed slices."""
    events = list(history)
    for _ in range(draw(st.integers(0, 6))):
        if not history:
            break
        original = draw(st.integers(0, len(history) - 1))
        position = events.index(history[original]) + 1
        events.insert(draw(st.integers(position, len(events))), history[original])
    if history and draw(st.booleans()):
        start = draw(st.integers(0, len(history) - 1))
        events += history[start:draw(st.integers(start, len(history)))]  # a consumer rewound
    return events


def _chunks(draw: st.DrawFn, events: list[Any]) -> list[list[Any]]:
    cuts = sorted(draw(st.lists(st.integers(0, len(events)), max_size=5)))
    bounds = [0, *cuts, len(events)]
    return [events[a:b] for a, b in itertools.pairwise(bounds)]


def _fold_in_chunks(chunks: list[list[BaseModel]]) -> dict[str, bytes]:
    store = MemoryStore()
    for chunk in chunks:
        store.write(fold(store, chunk))
    return dict(store.scan(""))


def _fold_once(events: list[BaseModel]) -> dict[str, bytes]:
    return _fold_in_chunks([events])


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_duplicates_and_redeliveries_fold_like_the_history_once(data: st.DataObject) -> None:
    history = data.draw(histories())
    noisy = data.draw(with_redeliveries(history))
    assert _fold_once(noisy) == _fold_once(history)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_folding_in_chunks_equals_folding_in_one_go(data: st.DataObject) -> None:
    history = data.draw(histories())
    noisy = data.draw(with_redeliveries(history))
    assert _fold_in_chunks(_chunks(data.draw, noisy)) == _fold_once(history)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_any_interleaving_of_the_partitions_folds_to_the_same_bytes(data: st.DataObject) -> None:
    streams = data.draw(_streams())
    one, other = data.draw(histories(streams)), data.draw(histories(streams))
    assert _fold_once(one) == _fold_once(other)


_FILTERS = st.fixed_dictionaries({}, optional={
    "workflow_id": st.sampled_from(["wf-a", "wf-b", "wf-c"]),
    "status": st.sampled_from(["running", "completed", "failed", "cancelled", "waiting"]),
    "trigger_type": st.sampled_from(["manual", "webhook"]),
    "started_after": st.integers(0, 300).map(lambda m: T0 + timedelta(minutes=m)),
    "started_before": st.integers(0, 300).map(lambda m: T0 + timedelta(minutes=m)),
})


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_every_filter_pages_through_exactly_what_a_full_scan_matches(data: st.DataObject) -> None:
    store = MemoryStore()
    store.write(fold(store, data.draw(with_redeliveries(data.draw(histories())))))
    where = ExecutionFilter.model_validate(data.draw(_FILTERS))
    everything = [ExecutionSummary.model_validate_json(v) for _, v in store.scan("x/")]
    wanted = sorted(
        (s for s in everything if where.matches(s)
         and (where.started_after is None or s.started_at >= where.started_after)
         and (where.started_before is None or s.started_at < where.started_before)),
        key=lambda s: (s.started_at, s.execution_id), reverse=True)
    listed: list[ExecutionSummary] = []
    cursor = None
    for _ in range(len(everything) + 2):
        page = list_executions(store, where, limit=data.draw(st.integers(1, 3)), cursor=cursor)
        listed += page.items
        if (cursor := page.next_cursor) is None:
            break
    assert listed == wanted
