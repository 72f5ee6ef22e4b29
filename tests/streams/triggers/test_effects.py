"""What firings produce, without a broker: ids derived from rule and event (a redelivery makes
the same records), each action type's record, and a rulebook that follows the registry."""

from __future__ import annotations

from datetime import UTC, datetime

from rules import RenderedAction, RuleEngine
from schemas.commands import SignalReceived, StartExecution
from schemas.definition_events import DefinitionPublished, DefinitionStatusChanged
from schemas.definitions import RuleDefinition
from schemas.triggers import TriggerEvent
from streams.runtime.registry import DefinitionRegistry
from streams.triggers.effects import (
    DEPTH_EXTENSION,
    WEBHOOK_WORKFLOW,
    action_records,
    occasion_of,
)
from streams.triggers.rulebook import Rulebook

NOW = datetime(2026, 1, 1, tzinfo=UTC)
EVENT = {"id": "e-1", "source": "shop", "type": "order.created", "data": {"id": "o-1"}}
ACTIONS = (
    RenderedAction(0, "start_workflow", {"workflow_id": "review", "version": "*",
                                         "input": {"order": "o-1"}}),
    RenderedAction(1, "signal_execution", {"execution_id": "ex-9", "signal": "go",
                                           "payload": {"ok": True}}),
    RenderedAction(2, "publish_event", {"event_type": "order.flagged", "source": "rules",
                                        "subject": "o-1", "data": {"x": 1}}),
    RenderedAction(3, "call_webhook", {"url": "https://hooks.example/x", "method": "POST",
                                       "headers": {}, "body": {"id": "o-1"}}),
)


def test_a_redelivered_event_makes_the_same_records_and_another_event_other_ids() -> None:
    first = action_records(occasion_of("big-order", EVENT, NOW), ACTIONS)
    again = action_records(occasion_of("big-order", dict(EVENT), NOW), ACTIONS)
    other = action_records(occasion_of("big-order", {**EVENT, "id": "e-2"}, NOW), ACTIONS)
    same_id_other_source = action_records(
        occasion_of("big-order", {**EVENT, "source": "crm"}, NOW), ACTIONS)
    assert first == again
    assert first[0].key != other[0].key
    assert first[0].key != same_id_other_source[0].key
    assert first[0].key != action_records(occasion_of("other-rule", EVENT, NOW), ACTIONS)[0].key


def test_each_action_type_becomes_its_record() -> None:
    start, signal, publish, webhook = action_records(occasion_of("r", EVENT, NOW), ACTIONS)
    assert start.role == "commands" and isinstance(start.value, StartExecution)
    assert start.value.version is None and start.value.triggered_by == "r"
    assert start.value.trigger_event == EVENT and start.value.input == {"order": "o-1"}
    assert signal.key == "ex-9" and isinstance(signal.value, SignalReceived)
    assert signal.value.name == "go"
    assert publish.role == "triggers" and isinstance(publish.value, TriggerEvent)
    assert publish.value.extensions[DEPTH_EXTENSION] == 1 and publish.key == "o-1"
    assert isinstance(webhook.value, StartExecution)
    assert webhook.value.workflow_id == WEBHOOK_WORKFLOW
    assert webhook.value.input["url"] == "https://hooks.example/x"


def test_a_published_event_is_one_deeper_than_its_cause() -> None:
    deep = {**EVENT, DEPTH_EXTENSION: 3}
    publish = action_records(occasion_of("r", deep, NOW), ACTIONS[2:3])[0].value
    assert isinstance(publish, TriggerEvent) and publish.extensions[DEPTH_EXTENSION] == 4


def _publish(registry: DefinitionRegistry, rule: RuleDefinition) -> None:
    registry.apply(DefinitionPublished(kind="rule", definition_id=rule.id, version=rule.version,
                                       definition=rule.model_dump(mode="json"),
                                       published_at=NOW))


def _rule(rule_id: str, amount: int, version: str = "1.0.0") -> RuleDefinition:
    return RuleDefinition.model_validate({
        "id": rule_id, "name": rule_id, "version": version,
        "conditions": {"$gt": {"data.amount": amount}},
        "actions": [{"type": "start_workflow", "workflow_id": "w"}]})


def test_the_rulebook_follows_publishes_new_versions_and_pauses() -> None:
    registry, book = DefinitionRegistry(), Rulebook()
    _publish(registry, _rule("a", 10))
    _publish(registry, _rule("b", 100))
    book.sync(registry)
    event = {"id": "1", "source": "s", "type": "t", "data": {"amount": 50}}
    assert [e.rule_id for e in book.rules.match(event)] == ["a"]
    compiled_b = book.rules.rule("b")
    _publish(registry, _rule("a", 60, "1.1.0"))
    book.sync(registry)
    assert book.rules.match(event) == []
    assert book.rules.rule("b") is compiled_b  # untouched rules are not recompiled
    registry.apply(DefinitionStatusChanged(kind="rule", definition_id="b", version="1.0.0",
                                           status="paused", changed_at=NOW))
    book.sync(registry)
    assert book.rules.rule("b") is None


def test_a_workflow_event_trigger_is_a_rule_that_starts_that_workflow_version() -> None:
    from schemas.definitions import WorkflowDefinition

    registry, book = DefinitionRegistry(), Rulebook()
    workflow = WorkflowDefinition.model_validate({
        "id": "welcome", "name": "Welcome", "version": "2.0.0",
        "triggers": [{"type": "event", "type_pattern": "user.*"}],
        "steps": [{"id": "n", "action": "log", "with": {"message": "hi"}}]})
    registry.apply(DefinitionPublished(kind="workflow", definition_id="welcome", version="2.0.0",
                                       definition=workflow.model_dump(mode="json", by_alias=True),
                                       published_at=NOW))
    book.sync(registry)
    fired = book.triggers.decide({"id": "1", "source": "s", "type": "user.created",
                                  "data": {"n": 1}}, NOW).fired
    assert [f.actions[0].params["version"] for f in fired] == ["2.0.0"]
    assert len(book.rules) == 0 and isinstance(book.triggers, RuleEngine)
