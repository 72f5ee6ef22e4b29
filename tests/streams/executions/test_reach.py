"""Ownership where the engine acts for a definition: a rule, or a workflow's subprocess step,
reaches another owner's private workflow only as its owner or a collaborator; a refusal is an
outcome with the reason (a `RuleFailed`, a failed step), never a silent start or drop."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.definition_events import DefinitionPublished
from schemas.definitions import RuleDefinition, WorkflowDefinition
from schemas.definitions.reach import may_reach, reach_refusal
from schemas.triggers import TriggerEvent
from tests.streams.kit import NOW, Client, eventually, history, read_until, running_engine


def _workflow(workflow_id: str, **fields: object) -> WorkflowDefinition:
    return WorkflowDefinition.model_validate({
        "id": workflow_id, "name": workflow_id,
        "steps": [{"id": "a", "action": "transform", "with": {"ok": True}}], **fields})


PRIVATE = _workflow("payroll", owner="alice", collaborators=["bob"], visibility="private")


def test_only_the_owner_and_collaborators_reach_a_private_workflow() -> None:
    assert may_reach("alice", PRIVATE) and may_reach("bob", PRIVATE)
    assert not may_reach("eve", PRIVATE) and not may_reach(None, PRIVATE)
    assert may_reach("eve", _workflow("open", owner="alice", visibility="team"))
    assert may_reach(None, _workflow("unowned", visibility="private"))
    assert reach_refusal("rule 'r'", "eve", PRIVATE) == (
        "rule 'r' (owned by 'eve') may not start private workflow 'payroll' of 'alice': "
        "only its owner and collaborators may")


VAULT = WorkflowDefinition.model_validate({
    "id": "vault", "name": "vault", "owner": "alice", "visibility": "private",
    "steps": [{"id": "wait", "type": "wait", "signal": "open"}]})


def _rule(rule_id: str, owner: str) -> RuleDefinition:
    return RuleDefinition.model_validate({
        "id": rule_id, "name": rule_id, "owner": owner, "trigger": {"event_type": "pay.*"},
        "actions": [{"type": "start_workflow", "workflow_id": "payroll", "input": {}}]})


def _signaller(rule_id: str, owner: str) -> RuleDefinition:
    return RuleDefinition.model_validate({
        "id": rule_id, "name": rule_id, "owner": owner,
        "trigger": {"event_type": f"open.{owner}"},
        "actions": [{"type": "signal_execution", "execution_id": "'v-1'", "signal": "open"}]})


async def _publish(client: Client, kind: str, definition: WorkflowDefinition | RuleDefinition
                   ) -> None:
    event = DefinitionPublished(kind=kind, definition_id=definition.id,  # type: ignore[arg-type]
                                version=definition.version, published_at=NOW,
                                definition=definition.model_dump(mode="json", by_alias=True))
    await client.send("definitions", event.key, event)


@pytest.mark.kafka
async def test_a_rule_of_another_owner_is_refused_with_an_outcome_and_a_subprocess_step_fails(
        kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path) -> None:
    parent = WorkflowDefinition.model_validate({
        "id": "nosy", "name": "nosy", "owner": "eve",
        "steps": [{"id": "peek", "type": "subprocess", "workflow_id": "payroll"}]})
    async with Client(kafka_bootstrap, hw_topics) as client, running_engine(
            kafka_bootstrap, hw_topics, tmp_path) as engine:
        for kind, definition in [("workflow", PRIVATE), ("workflow", parent),
                                 ("rule", _rule("eves", "eve")), ("rule", _rule("bobs", "bob"))]:
            await _publish(client, kind, definition)
        agent = engine.trigger_agent
        assert agent is not None
        await eventually(lambda: agent.book.rules.rule("bobs") is not None, 5.0)
        await client.send("triggers", "k", TriggerEvent(id="ev-1", source="hr", type="pay.day",
                                                        time=NOW, data={}))
        outcomes = await read_until(kafka_bootstrap, hw_topics["rule-outcomes"], client.codec,
                                    lambda found: any(o.type == "rule_failed" for o in found))
        await client.send("commands", "n-1", _start("n-1", "nosy"))
        events = await read_until(
            kafka_bootstrap, hw_topics["executions"], client.codec,
            lambda found: any(e.type == "execution_failed" for e in history(found, "n-1")))

        # Signals: eve's rule is refused (the execution keeps waiting), bob's is not.
        for kind, definition in [("workflow", VAULT), ("rule", _signaller("eve-opens", "eve")),
                                 ("rule", _signaller("bob-opens", "bob"))]:
            await _publish(client, kind, definition.model_copy(update={"collaborators": ["bob"]})
                           if definition is VAULT else definition)
        await eventually(lambda: agent.book.rules.rule("bob-opens") is not None, 5.0)
        await client.send("commands", "v-1", _start("v-1", "vault"))
        await client.send("triggers", "k", TriggerEvent(id="ev-2", source="x", type="open.eve",
                                                        time=NOW, data={}))
        signalled = await read_until(
            kafka_bootstrap, hw_topics["rule-outcomes"], client.codec,
            lambda found: any(o.type == "rule_failed" and o.rule_id == "eve-opens"
                              for o in found))
        waiting = history(await read_until(
            kafka_bootstrap, hw_topics["executions"], client.codec,
            lambda found: any(e.type == "execution_started" for e in history(found, "v-1"))), "v-1")
        await client.send("triggers", "k", TriggerEvent(id="ev-3", source="x", type="open.bob",
                                                        time=NOW, data={}))
        opened = await read_until(
            kafka_bootstrap, hw_topics["executions"], client.codec,
            lambda found: any(e.type == "execution_completed" for e in history(found, "v-1")))

    (failed,) = [o for o in outcomes if o.type == "rule_failed"]
    assert (failed.rule_id, failed.stage, failed.error_code) == ("eves", "action", "not_permitted")
    assert "may not start private workflow 'payroll' of 'alice'" in failed.message
    payroll_starts = [e for e in events if e.type == "execution_started"
                      and e.workflow_id == "payroll"]
    assert [e.triggered_by for e in payroll_starts] == ["bobs"]  # bob collaborates: started
    nosy = history(events, "n-1")
    (step_failed,) = [e for e in nosy if e.type == "step_failed"]
    assert step_failed.error.code == "not_permitted"
    assert nosy[-1].type == "execution_failed"
    (refused,) = [o for o in signalled if o.type == "rule_failed" and o.rule_id == "eve-opens"]
    assert refused.error_code == "not_permitted"
    assert "may not signal private workflow 'vault'" in refused.message
    assert not [e for e in waiting if "signal" in e.type]  # eve's signal changed nothing
    v1 = history(opened, "v-1")
    assert [e.type for e in v1 if "signal" in e.type] == ["signal_consumed"] or any(
        e.type == "step_completed" and e.step_id == "wait" for e in v1)


def _start(execution_id: str, workflow_id: str) -> object:
    from schemas.commands import StartExecution

    return StartExecution(command_id=f"start-{execution_id}", execution_id=execution_id,
                          time=NOW, workflow_id=workflow_id, input={})
