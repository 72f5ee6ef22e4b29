"""The monitor: every `interval_s`, reads the views and the projector's lag, asks the
`Watcher`, and writes the alerts it returns to ``hw.alerts`` (the engine's sender delivers
them, as it does the execution processor's).

It runs in the API process (the views are there) when ``HEADWATER_ALERT_CONDITIONS`` is set.
At its start it waits for the views to catch up and folds ``hw.alerts`` for the incidents its
conditions left open, so a restart neither repeats nor forgets one. Several API processes
with conditions would each judge their own views; set them on one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from projections.producer import EventProducer
from projections.store import ViewStore
from projections.views.dead_letters import read_summary
from projections.views.rule_stats import RuleStats
from projections.views.workflow_stats import WorkflowStats
from projections.watch.conditions import Condition
from projections.watch.watcher import MONITOR_KEY_PREFIXES, Sample, Watcher
from schemas.alerts import AlertRaised, AlertResolved
from schemas.codec import Codec, DecodeError

__all__ = ["CAUGHT_UP_RECORDS", "Monitor", "read_views"]

log = logging.getLogger(__name__)

CAUGHT_UP_RECORDS = 1000
"""Views fewer records than this behind the log are current enough to count windows on."""


def read_views(store: ViewStore, lag: int | None) -> Sample:
    """The counts the conditions judge, as the views hold them now."""
    workflows: dict[str, tuple[int, int]] = {}
    for _, data in store.scan("ws/"):
        stats = WorkflowStats.model_validate_json(data)
        by = stats.by_status
        finished = sum(by.get(s, 0) for s in ("completed", "failed", "cancelled", "timed_out"))
        workflows[stats.workflow_id] = (finished, by.get("failed", 0) + by.get("timed_out", 0))
    rules: dict[str, tuple[int, int]] = {}
    for _, data in store.scan("rs/"):
        rule = RuleStats.model_validate_json(data)
        rules[rule.rule_id] = (rule.actions_succeeded + rule.actions_failed, rule.actions_failed)
    return Sample(workflows, rules, read_summary(store).total, lag,
                  caught_up=lag is not None and lag < CAUGHT_UP_RECORDS)


class Monitor:
    """Runs the watcher over the views (see the module docstring).

    Args:
        store: The views.
        producer: Writes the alerts.
        conditions: What to watch (``parse_conditions``).
        lag: Records the views are behind the log now; None while unknown (no projector).
        caught_up: Returns once the views have folded the log as it was when called.
        clock: Now.
        bootstrap, topics, kafka_options: To read ``hw.alerts`` at the start.
        interval_s: Time between two looks.
    """

    def __init__(self, store: ViewStore, producer: EventProducer, conditions: Sequence[Condition],
                 *, lag: Callable[[], Awaitable[int | None]],
                 caught_up: Callable[[], Awaitable[None]], clock: Callable[[], datetime],
                 bootstrap: str, topics: Mapping[str, str],
                 kafka_options: Mapping[str, Any] | None = None, interval_s: float = 15.0) -> None:
        self.store, self.producer, self.conditions = store, producer, list(conditions)
        self._lag, self._caught_up, self._clock = lag, caught_up, clock
        self._bootstrap, self._topic = bootstrap, topics["alerts"]
        self._codec = Codec(prefix=topics["alerts"].removesuffix("alerts"))
        self._options = dict(kafka_options or {})
        self.interval_s = interval_s
        self.watcher: Watcher | None = None

    async def run(self) -> None:
        """Watch until cancelled; a failed look is logged and the next one comes."""
        while True:
            try:
                await self.prepare()
                break
            except Exception as exc:  # no broker yet: the API serves meanwhile
                log.warning("alert monitor not started yet: %s: %s", type(exc).__name__, exc)
                await asyncio.sleep(self.interval_s)
        log.info("alert monitor watching %d conditions, open: %s", len(self.conditions),
                 sorted(self.watcher.open_keys) if self.watcher else [])
        while True:
            try:
                await self.look()
            except Exception as exc:  # the next look tries again
                log.warning("alert monitor look failed: %s: %s", type(exc).__name__, exc)
            await asyncio.sleep(self.interval_s)

    async def prepare(self) -> None:
        """Wait for the views to catch up and learn which incidents are open."""
        await self._caught_up()
        self.watcher = Watcher(self.conditions, await self.open_keys())

    async def look(self) -> list[AlertRaised | AlertResolved]:
        """One look: sample, judge, write what changed; returns what was written."""
        assert self.watcher is not None, "prepare() first"
        try:
            lag = await self._lag()
        except Exception:  # Kafka away: the views are still there to judge
            lag = None
        alerts = self.watcher.observe(read_views(self.store, lag), self._clock())
        if alerts:
            try:
                await self.producer.send_many("alerts", [(a.key, a) for a in alerts])
            except Exception as exc:
                self.watcher.undo(alerts)  # said again at the next look
                raise RuntimeError(f"alerts not written, retried at the next look: {exc}"
                                   ) from exc
        return alerts

    async def open_keys(self) -> set[str]:
        """The monitor's alert keys open on ``hw.alerts`` (the fold: raise opens, resolve
        closes)."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, enable_auto_commit=False,
                                    group_id=None, **self._options)
        await consumer.start()
        opened: set[str] = set()
        try:
            for _ in range(50):
                found = consumer.partitions_for_topic(self._topic)
                if found:
                    break
                await consumer._client.force_metadata_update()  # no subscription asks for it
                await asyncio.sleep(0.1)
            else:
                raise RuntimeError(f"topic {self._topic} not found")
            parts = [TopicPartition(self._topic, p) for p in sorted(found)]
            consumer.assign(parts)
            await consumer.seek_to_beginning(*parts)
            ends = await consumer.end_offsets(parts)
            while [tp for tp in parts if await consumer.position(tp) < ends[tp]]:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        self._fold(opened, record.key, record.value, record.partition,
                                   record.offset)
        finally:
            await consumer.stop()
        return opened

    def _fold(self, opened: set[str], key: bytes | None, value: bytes | None, partition: int,
              offset: int) -> None:
        try:
            alert = self._codec.decode_value(self._topic, value, partition=partition,
                                             offset=offset)
        except DecodeError:
            return  # the sender dead-letters it; it opens nothing here
        if not isinstance(alert, AlertRaised | AlertResolved) \
                or not alert.key.startswith(MONITOR_KEY_PREFIXES):
            return
        if isinstance(alert, AlertRaised):
            opened.add(alert.key)
        else:
            opened.discard(alert.key)
