"""The registry resolves workflow versions the way starts and running executions need."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas.definition_events import DefinitionPublished, DefinitionStatusChanged
from streams.runtime.registry import DefinitionConflict, DefinitionRegistry

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def published(version: str, status: str = "active") -> DefinitionPublished:
    definition = {"id": "wf", "name": "W", "version": version,
                  "steps": [{"id": "a", "action": "log"}]}
    return DefinitionPublished(kind="workflow", definition_id="wf", version=version,
                               definition=definition, status=status, published_at=T0)  # type: ignore[arg-type]


def test_a_start_gets_the_newest_active_version_and_a_running_execution_its_own() -> None:
    registry = DefinitionRegistry()
    for version, status in [("1.0.0", "active"), ("1.10.0", "active"), ("2.0.0", "draft")]:
        registry.apply(published(version, status))
    registry.apply(DefinitionStatusChanged(kind="workflow", definition_id="wf", version="1.10.0",
                                           status="paused", changed_at=T0))
    newest = registry.workflow("wf")
    assert newest is not None and newest.definition.version == "1.0.0"
    paused = registry.workflow("wf", "1.10.0")
    assert paused is not None and paused.plan().version == "1.10.0"
    ranged = registry.workflow("wf", "^1.0.0")
    assert ranged is not None and ranged.definition.version == "1.0.0"
    assert registry.workflow("wf", "3.0.0") is None
    assert registry.workflow("other") is None


def test_a_version_published_again_with_other_content_is_refused_and_the_first_kept() -> None:
    registry = DefinitionRegistry()
    registry.apply(published("1.0.0"))
    changed = published("1.0.0").model_copy(update={"definition": {
        "id": "wf", "name": "W", "version": "1.0.0", "steps": [{"id": "b", "action": "log"}]}})
    with pytest.raises(DefinitionConflict) as refused:
        registry.apply(changed)
    assert (refused.value.kind, refused.value.definition_id, refused.value.version) == (
        "workflow", "wf", "1.0.0")
    assert "workflow 'wf' version 1.0.0" in str(refused.value)
    kept = registry.workflow("wf", "1.0.0")
    assert kept is not None and [s.id for s in kept.definition.steps] == ["a"]


def test_the_same_content_again_changes_nothing_and_keeps_a_paused_status() -> None:
    registry = DefinitionRegistry()
    registry.apply(published("1.0.0"))
    registry.apply(DefinitionStatusChanged(kind="workflow", definition_id="wf", version="1.0.0",
                                           status="paused", changed_at=T0))
    moved = registry.changes
    registry.apply(published("1.0.0"))  # as each `headwater up` re-deploys the examples
    entry = registry.workflow("wf", "1.0.0")
    assert entry is not None and entry.status == "paused"
    assert registry.workflow("wf") is None  # still no active version
    assert registry.changes == moved
