"""The independent verifier: reads `hw.executions`, `hw.rule-outcomes` and `hw.dead-letters`
from offset zero with its own consumer and checks what headwater promises, against what the load
generator sent (`load.Sent`), not against anything the engine reports about itself.

- every start sent has an execution, and every execution that started (children and the ones
  rules started included) completed exactly once, and nothing else ended it;
- no `(execution_id, seq)` gap; a duplicate only as an identical repeat of the same
  `(execution_id, seq)` (what readers drop);
- every trigger met by a rule has exactly one outcome per rule, apart from identical repeats
  of the same (rule id, event id): a big order matched, a small one never; a user's pings
  fired the threshold rule once per three pings; every firing's execution completed;
- the dead letters hold exactly the records sent undecodable on purpose, nothing valid;
- every view the API kept live through the faults equals a fold of the log from offset zero.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.chaos.load import USERS, Sent
from projections.projector import Projector
from projections.store import MemoryStore, RocksStore
from schemas.codec import Codec
from streams.executions.store import StateStore
from streams.machine import TERMINAL_STATUSES, replay

__all__ = ["Verdict", "check_stores", "read_topic", "verify"]

EXAMPLES = 5


@dataclass
class Verdict:
    """Each check's result (`ok` or what failed, with examples) and the counts behind them."""

    checks: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(result == "ok" for result in self.checks.values())

    def check(self, name: str, problems: list[str]) -> None:
        self.checks[name] = "ok" if not problems else (
            f"{len(problems)} problems, e.g. {'; '.join(problems[:EXAMPLES])}")

    def lines(self) -> list[str]:
        out = [f"  {'PASS' if result == 'ok' else 'FAIL'}  {name}: {result}"
               for name, result in self.checks.items()]
        out.append("  counts: " + ", ".join(f"{k} {v:,}" for k, v in self.counts.items()))
        return out


async def read_topic(bootstrap: str, topic: str, codec: Codec) -> list[tuple[Any, Any]]:
    """Every record of `topic` from offset zero to its end now: (record, decoded value)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                max_partition_fetch_bytes=8 * 1024 * 1024)
    await consumer.start()
    try:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic)
                                                            or await _partitions(consumer, topic))]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        found: list[tuple[Any, Any]] = []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for records in (await consumer.getmany(timeout_ms=500, max_records=5000)).values():
                found.extend((r, codec.decode_value(r.topic, r.value, partition=r.partition,
                                                    offset=r.offset)) for r in records)
        return found
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    for _ in range(50):
        await consumer._client.force_metadata_update()
        found = consumer.partitions_for_topic(topic)
        if found:
            return set(found)
        await asyncio.sleep(0.2)
    raise LookupError(f"{topic} has no partitions")


def check_executions(verdict: Verdict, records: list[tuple[Any, Any]], sent: Sent) -> set[str]:
    """The execution checks; returns the ids of executions that completed."""
    histories: dict[str, list[Any]] = {}
    for _, event in records:
        histories.setdefault(event.execution_id, []).append(event)
    gaps: list[str] = []
    duplicates = 0
    endings: list[str] = []
    completed: set[str] = set()
    for eid, events in histories.items():
        kept: list[Any] = []
        for event in events:
            if kept and event.seq <= kept[-1].seq:
                duplicates += 1
                if event.seq < 1 or event != kept[event.seq - 1]:
                    gaps.append(f"{eid} seq {event.seq} repeated with other content")
                continue
            if event.seq != len(kept) + 1:
                gaps.append(f"{eid} seq {len(kept) + 1} missing (next was {event.seq})")
            kept.append(event)
        terminal = [e.type for e in kept if e.type.removeprefix("execution_") in TERMINAL_STATUSES]
        if kept[0].type != "execution_started":
            endings.append(f"{eid} begins with {kept[0].type}")
        elif terminal != ["execution_completed"]:
            endings.append(f"{eid} ended {terminal or 'never'} (last: {kept[-1].type})")
        else:
            completed.add(eid)
    verdict.check("no (execution_id, seq) gap; duplicates only identical repeats", gaps)
    verdict.check("every started execution completed exactly once", endings)
    verdict.check("every start sent has an execution",
                  [eid for eid in sent.starts if eid not in histories])
    verdict.counts.update(executions=len(histories), execution_events=len(records),
                          repeated_events=duplicates)
    return completed


def check_outcomes(verdict: Verdict, records: list[tuple[Any, Any]], sent: Sent,
                   completed: set[str]) -> None:
    by_pair: dict[tuple[str, str], list[Any]] = {}
    for _, outcome in records:
        by_pair.setdefault((outcome.rule_id, outcome.event_id), []).append(outcome)
    problems: list[str] = []
    repeats = 0
    for (rule, event), outcomes in by_pair.items():
        repeats += len(outcomes) - 1
        if len({_essence(o) for o in outcomes}) > 1:
            problems.append(f"{rule}/{event}: repeats differ: {[o.type for o in outcomes]}")
    for event, amount in sent.orders.items():
        found = by_pair.get(("chaos-orders", event))
        # A small order never reaches the rule: its condition is in the rule index.
        if amount > 50 and not found:
            problems.append(f"order {event}: no outcome")
        elif amount > 50 and found and found[0].type != "rule_matched":
            problems.append(f"order {event} (amount {amount}): {found[0].type}")
        elif amount <= 50 and found and found[0].type == "rule_matched":
            problems.append(f"order {event} (amount {amount}) matched")
    fired: Counter[str] = Counter()
    for event, user in sent.pings.items():
        found = by_pair.get(("chaos-burst", event))
        if not found:
            problems.append(f"ping {event}: no outcome")
        elif found[0].type == "rule_matched":
            fired[user] += 1
        elif found[0].type != "rule_skipped":
            problems.append(f"ping {event}: {found[0].type}")
    per_user = Counter(sent.pings.values())
    for user in (f"u{i}" for i in range(USERS)):
        if fired[user] != per_user[user] // 3:
            problems.append(f"{user}: {per_user[user]} pings fired {fired[user]} times, "
                            f"not {per_user[user] // 3}")
    unfinished = [f"{rule}/{event} -> {action.ref}"
                  for (rule, event), outcomes in by_pair.items() if outcomes[0].type == "rule_matched"
                  for action in outcomes[0].actions
                  if action.action_type == "start_workflow" and action.ref not in completed]
    verdict.check("every trigger has exactly one outcome per rule (repeats identical)", problems)
    verdict.check("every rule firing's execution completed", unfinished)
    verdict.counts.update(outcomes=len(by_pair), repeated_outcomes=repeats,
                          firings=sum(1 for o in by_pair.values() if o[0].type == "rule_matched"))


def _essence(outcome: Any) -> tuple[Any, ...]:
    """What must agree between repeats of one (rule, event) outcome (not their timings)."""
    refs = tuple(a.ref for a in getattr(outcome, "actions", ()))
    return (outcome.type, getattr(outcome, "reason", None), refs)


def check_dead_letters(verdict: Verdict, records: list[tuple[Any, Any]], sent: Sent,
                       codec: Codec, triggers: str) -> None:
    keys = {str(codec.decode_key(letter.topic, letter.key)) if letter.topic == triggers
            else repr(letter) for _, letter in records if letter.type == "dead_letter"}
    valid = sorted(keys - sent.poison)
    missing = sorted(sent.poison - keys)
    verdict.check("the dead letters hold exactly the poison sent",
                  [f"unexpected {k}" for k in valid] + [f"missing {k}" for k in missing])
    verdict.counts["dead_letters"] = len(records)


async def check_views(verdict: Verdict, bootstrap: str, topics: dict[str, str],
                      live_path: Path | None) -> None:
    """The API's views (stopped, caught up) equal a fold of the log from offset zero."""
    if live_path is None:
        return
    fresh = MemoryStore()
    projector = Projector(fresh, bootstrap, topics)
    await projector.start()
    try:
        await projector.wait_caught_up(timeout_s=600)
    finally:
        await projector.stop()
    live = RocksStore(live_path)
    try:
        mine, theirs = dict(live.scan("")), dict(fresh.scan(""))
    finally:
        live.close()
    differ = sorted(k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k))
    verdict.check("every view equals a rebuild from offset zero",
                  [f"{k}: live {'has' if k in mine else 'lacks'} it, "
                   f"{'differs' if k in mine and k in theirs else 'one side only'}"
                   for k in differ])
    verdict.counts["view_keys"] = len(theirs)


async def verify(bootstrap: str, topics: dict[str, str], prefix: str, sent: Sent,
                 live_views: Path | None = None) -> Verdict:
    """Every check; call once the load stopped and the engine had time to finish it."""
    codec = Codec(prefix=prefix)
    verdict = Verdict()
    executions = await read_topic(bootstrap, topics["executions"], codec)
    completed = check_executions(verdict, executions, sent)
    check_outcomes(verdict, await read_topic(bootstrap, topics["rule-outcomes"], codec), sent,
                   completed)
    check_dead_letters(verdict, await read_topic(bootstrap, topics["dead-letters"], codec), sent,
                       codec, topics["triggers"])
    await check_views(verdict, bootstrap, topics, live_views)
    return verdict


async def check_stores(verdict: Verdict, bootstrap: str, topics: dict[str, str], prefix: str,
                       stores: list[Path]) -> None:
    """Never wrong state: per partition, a worker store that holds it up to the log's end (its
    last owner, stopped cleanly) holds exactly the states replayed from the log."""
    records = await read_topic(bootstrap, topics["executions"], Codec(prefix=prefix))
    ends: dict[int, int] = {}
    histories: dict[str, list[Any]] = {}
    partition_of: dict[str, int] = {}
    for record, event in records:
        ends[record.partition] = max(ends.get(record.partition, 0), record.offset + 1)
        history = histories.setdefault(event.execution_id, [])
        if not history or event.seq > history[-1].seq:
            history.append(event)
        partition_of[event.execution_id] = record.partition
    problems: list[str] = []
    compared = 0
    for partition, end in sorted(ends.items()):
        held: dict[str, Any] | None = None
        for path in stores:
            if not path.exists():
                continue
            try:
                store = StateStore(path)
            except Exception:  # a store the scenario corrupted: it serves nothing
                verdict.counts["stores_not_opening"] = verdict.counts.get("stores_not_opening", 0) + 1
                continue
            try:
                if store.checkpoint(partition) == end:
                    held = {s.execution_id: s for s in store.states(partition)}
                    break
            finally:
                store.close()
        if held is None:
            problems.append(f"partition {partition}: no store holds it up to offset {end}")
            continue
        for eid, events in histories.items():
            if partition_of[eid] == partition:
                compared += 1
                if held.get(eid) != replay(events):
                    problems.append(f"{eid}: the stored state differs from the replayed one")
    verdict.check("worker stores equal the state replayed from the log", problems)
    verdict.counts["states_compared"] = compared
