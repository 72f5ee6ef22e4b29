"""The pattern state of the partitions a worker holds: a removed rule's partial matches go with
it, in every partition and in the store, so the rule published again under the same id starts
from nothing (no broker: the rulebook and the store are local)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from rules import Evaluation
from schemas.definition_events import DefinitionPublished, DefinitionStatusChanged
from schemas.definitions import RuleDefinition
from streams.runtime import DefinitionRegistry
from streams.triggers.pattern_slots import PartitionSlots
from streams.triggers.rule_state import RuleStateStore
from streams.triggers.rulebook import Rulebook

NOW = datetime(2026, 1, 1, tzinfo=UTC)
THREE_FAILURES = RuleDefinition.model_validate({
    "id": "brute-force", "name": "Three failed logins",
    "trigger": {"event_type": "login.failed"},
    "pattern": {"kind": "threshold", "count": 3, "within": 600},
    "actions": [{"type": "start_workflow", "workflow_id": "note"}],
})


def published(rule: RuleDefinition) -> DefinitionPublished:
    return DefinitionPublished(kind="rule", definition_id=rule.id, version=rule.version,
                               definition=rule.model_dump(mode="json", by_alias=True),
                               published_at=NOW)


def deprecated(rule: RuleDefinition) -> DefinitionStatusChanged:
    """The rule taken out of service (a version's content never changes once published)."""
    return DefinitionStatusChanged(kind="rule", definition_id=rule.id, version=rule.version,
                                   status="deprecated", changed_at=NOW)


def failure(n: int, user: str) -> dict[str, object]:
    return {"specversion": "1.0", "id": f"{user}-{n}", "source": "auth", "type": "login.failed",
            "subject": user, "data": {"user": user}}


async def no_replay(partition: int, when: datetime) -> int:
    return 0


def decide(slots: PartitionSlots, book: Rulebook, partition: int, n: int) -> Evaluation:
    evaluation = slots.engine_for(partition).decide(failure(n, "mallory"),
                                                    NOW + timedelta(seconds=n))
    slots.apply(partition, evaluation)
    return evaluation


async def test_a_removed_pattern_rule_leaves_no_partial_match_to_come_back(tmp_path: Path) -> None:
    # Given two partitions, each with two of the three failures the rule waits for
    registry, book = DefinitionRegistry(), Rulebook()
    store = RuleStateStore(tmp_path)
    slots = PartitionSlots(book, store)
    registry.apply(published(THREE_FAILURES))
    book.sync(registry)
    for partition in (0, 1):
        await slots.take(partition, 0, no_replay, NOW)
        for n in (1, 2):
            assert not decide(slots, book, partition, n).fired
        slots.save(partition, 2)
    assert dict(store.slots(0)) and dict(store.slots(1))

    # When the rule is removed (deprecated) and later published again under the same id
    registry.apply(deprecated(THREE_FAILURES))
    assert book.sync(registry)
    slots.retain()
    for partition in (0, 1):
        slots.save(partition, None)
    again = THREE_FAILURES.model_copy(update={"version": "1.0.1"})
    registry.apply(published(again))
    assert book.sync(registry)

    # Then the count starts again on both partitions: the fifth failure fires, not the third
    for partition in (0, 1):
        fired = [n for n in (3, 4, 5) if decide(slots, book, partition, n).fired]
        assert fired == [5], f"partition {partition} kept the removed rule's partial match"
    # and the stored state is deleted with the rule (a worker taking over loads none of it)
    decide(slots, book, 1, 6)
    slots.save(1, 7)
    assert list(store.slots(1))
    registry.apply(deprecated(again))
    book.sync(registry)
    slots.retain()
    slots.save(1, None)
    assert list(store.slots(1)) == []
    store.close()


async def test_a_partition_taken_after_the_rule_went_away_loads_none_of_its_slots(
    tmp_path: Path,
) -> None:
    # Given a stored partial match of a rule
    registry, book = DefinitionRegistry(), Rulebook()
    store = RuleStateStore(tmp_path)
    registry.apply(published(THREE_FAILURES))
    book.sync(registry)
    first = PartitionSlots(book, store)
    await first.take(0, 0, no_replay, NOW)
    decide(first, book, 0, 1)
    first.save(0, 1)

    # When the rule is removed while nobody holds the partition, and a worker takes it
    registry.apply(deprecated(THREE_FAILURES))
    book.sync(registry)
    second = PartitionSlots(book, store)
    await second.take(0, 1, no_replay, NOW)
    second.save(0, None)

    # Then nothing of the rule is held or stored any more
    assert second.engine_for(0).pattern_state == {}
    assert list(store.slots(0)) == []
    store.close()
