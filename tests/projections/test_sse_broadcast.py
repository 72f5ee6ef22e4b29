"""Live updates: a slow subscriber misses events (and is told so); the others miss nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from projections.sse import Broadcaster
from schemas.executions import VariablesUpdated

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def event(seq: int) -> VariablesUpdated:
    return VariablesUpdated(execution_id="e1", seq=seq, time=NOW, command_id=f"c{seq}",
                            values={"n": seq})


def test_a_full_queue_drops_its_oldest_and_never_breaks_the_batch_for_others() -> None:
    hub = Broadcaster(queue_size=2)
    with hub.subscribe() as slow, hub.subscribe() as fast:
        received = []
        for seq in range(1, 6):
            hub.publish([event(seq)])  # must not raise, however full `slow` is
            received.append(fast.get_nowait())
        drained = []
        while not slow.empty():
            drained.append(slow.get_nowait())

    assert [e.seq for e in received] == [1, 2, 3, 4, 5]
    assert None in drained  # the slow client learns it missed some
    assert drained[-1] is not None and drained[-1].seq == 5  # and still gets the newest
