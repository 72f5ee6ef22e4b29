"""Durable timers: delays, retries, step and workflow timeouts.

A timer is durable because it is part of the execution's state (`State.timers`), which the
log rebuilds. `TimerWheel` is only the owner's in-memory index of those timers, rebuilt from
the stored states when a worker takes a partition, so each timer fires from one place. A
timer fires as a `TimerFired` command whose id is derived from the timer id: if it is ever
sent twice (a crash between sending and applying it), the execution ignores the second.
"""

from __future__ import annotations

import heapq
from datetime import datetime

from schemas.commands import TimerFired
from streams.machine import State

__all__ = ["TimerWheel", "timer_command"]


class TimerWheel:
    """Open timers of one partition, soonest first."""

    def __init__(self) -> None:
        self._heap: list[tuple[datetime, str, str]] = []
        self._live: dict[str, dict[str, datetime]] = {}

    def __len__(self) -> int:
        return sum(len(timers) for timers in self._live.values())

    def sync(self, state: State) -> None:
        """Make the wheel hold exactly the open timers of `state`."""
        wanted = {timer_id: t.fire_at for timer_id, t in state.timers.items()}
        known = self._live.get(state.execution_id, {})
        for timer_id, fire_at in wanted.items():
            if known.get(timer_id) != fire_at:
                heapq.heappush(self._heap, (fire_at, state.execution_id, timer_id))
        if wanted:
            self._live[state.execution_id] = wanted
        else:
            self._live.pop(state.execution_id, None)

    def due(self, now: datetime) -> list[tuple[str, str]]:
        """Pop the (execution id, timer id) pairs due at `now`; each is returned once."""
        fired: list[tuple[str, str]] = []
        while self._heap and self._heap[0][0] <= now:
            fire_at, execution_id, timer_id = heapq.heappop(self._heap)
            timers = self._live.get(execution_id, {})
            if timers.get(timer_id) != fire_at:
                continue  # cancelled or rescheduled since it was pushed
            del timers[timer_id]
            if not timers:
                self._live.pop(execution_id, None)
            fired.append((execution_id, timer_id))
        return fired


def timer_command(execution_id: str, timer_id: str, now: datetime) -> TimerFired:
    """The command that fires a timer; the same id however often it is sent."""
    return TimerFired(command_id=f"{timer_id}:fired", execution_id=execution_id, time=now,
                      timer_id=timer_id)
