"""A rule in `hw.definitions` that does not compile is left out, never fatal: the trigger
agent re-reads every definition on start, so a raise here crashed it on every restart
(issue: a `$mt` regex the API took with 201)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from schemas.definition_events import DefinitionPublished
from streams.runtime.registry import DefinitionRegistry
from streams.triggers.rulebook import Rulebook

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _rule(rule_id: str, conditions: Any, version: str = "1.0.0") -> DefinitionPublished:
    body = {"id": rule_id, "name": rule_id, "version": version,
            "trigger": {"event_type": "t"}, "conditions": conditions,
            "actions": [{"type": "publish_event", "event_type": "out"}]}
    return DefinitionPublished(kind="rule", definition_id=rule_id, version=version,
                               definition=body, published_at=T0)


def test_an_uncompilable_rule_is_refused_and_the_others_apply() -> None:
    registry = DefinitionRegistry()
    registry.apply(_rule("lookahead", {"$mt": {"data.s": "(?=a)a"}}))  # RE2 cannot run it
    registry.apply(_rule("costly", {"$expr": " || ".join(
        f"event.data.items.all(x, event.data.items.all(y, y > {i}))" for i in range(9))}))
    registry.apply(_rule("fine", {"data.s": "a"}))
    book = Rulebook()
    assert book.sync(registry)  # does not raise
    assert book.rules.rule("fine") is not None
    assert book.rules.rule("lookahead") is None and book.rules.rule("costly") is None
    assert set(book.refused) == {"lookahead", "costly"}
    assert "RE2" in book.refused["lookahead"]
    assert "expression_too_costly" in book.refused["costly"]


def test_a_new_version_that_does_not_compile_replaces_the_old_one_and_a_fix_returns() -> None:
    registry = DefinitionRegistry()
    registry.apply(_rule("r", {"data.s": "a"}))
    book = Rulebook()
    book.sync(registry)
    registry.apply(_rule("r", {"$mt": {"data.s": r"(a)\1"}}, version="2.0.0"))
    book.sync(registry)
    assert book.rules.rule("r") is None and "r" in book.refused
    registry.apply(_rule("r", {"data.s": "b"}, version="3.0.0"))
    book.sync(registry)
    assert book.rules.rule("r") is not None and "r" not in book.refused
