"""A forged log with one fault of each kind the verifier must report (its own test)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bench.chaos.load import Sent
from schemas.outcomes import RuleSkipped
from tests.projections.histories import Execution

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def forged_log() -> tuple[list[tuple[None, Any]], list[tuple[None, Any]], Sent]:
    good = Execution("good-1").started().step_ok("a").completed().events
    gap = Execution("gap-1").started().step_ok("a").completed().events
    twice = Execution("twice-1").started().step_ok("a").completed().events
    other = twice[1].model_copy(update={"time": T0})
    open_ = Execution("open-1").started().step_ok("a").events
    executions = [*good, gap[0], *gap[2:], *twice[:2], other, *twice[2:], *open_]
    pings = [RuleSkipped(rule_id="chaos-burst", rule_version="1.0.0", event_id=f"ping-{i}",
                         evaluated_at=T0, reason="pattern_pending") for i in range(3)]
    sent = Sent(starts={e: 0.0 for e in ("good-1", "gap-1", "twice-1", "open-1")},
                orders={"order-9": 99}, pings={f"ping-{i}": "u0" for i in range(3)})
    return [(None, e) for e in executions], [(None, o) for o in pings], sent
