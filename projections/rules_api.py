"""``POST /rules/test`` (try a rule on a sample event) and ``GET /rules/insights``.

Both are pure reads: the test runs the engine on a throwaway copy of the rule
(``rules.trial``), the insights run the analyser (``rules.insights``) over the active rulebook
and the rule statistics view. Nothing is published. See docs/rules.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel, ValidationError

from projections.access import Principal, Right
from projections.auth import check, require
from projections.context import ApiContext
from projections.errors import ErrorItem, problem
from projections.insights_api import insights_routes
from projections.rulebook import active_rules, rule_version
from projections.views.rule_stats import read_rule_stats
from rules.trial import Observed, try_rule
from schemas.definitions import ConditionError, RuleDefinition
from schemas.expressions import ExpressionError
from schemas.triggers import TriggerEvent
from schemas.validation import validate_definition

__all__ = ["ConditionNodeOut", "RuleTestIn", "RuleTestOut", "rules_router"]


class RuleTestIn(BaseModel):
    """A rule (inline, or by id and optional version) and a sample CloudEvent."""

    rule: dict[str, Any] | None = None
    rule_id: str | None = None
    version: str | None = None
    event: dict[str, Any]


class ConditionNodeOut(BaseModel):
    """One operator of the condition, evaluated (see docs/rules.md for the conventions)."""

    op: str
    path: str | None
    expected: Any = None
    actual: Any = None
    result: bool
    children: list[ConditionNodeOut]


class ActionErrorOut(BaseModel):
    """Why an action mapping did not render."""

    code: str
    message: str


class ActionOut(BaseModel):
    """One action rendered against the event."""

    index: int
    type: str
    rendered: dict[str, Any]
    error: ActionErrorOut | None


class HeldOut(BaseModel):
    """The limit that keeps a match from firing now."""

    limit: str
    detail: str


class RuleTestOut(BaseModel):
    """Whether the rule matches the event, why, what it would send, and what holds it."""

    matched: bool
    trigger_matched: bool
    conditions: ConditionNodeOut | None
    actions: list[ActionOut]
    held_by: HeldOut | None


def rules_router(ctx: ApiContext) -> APIRouter:
    """``/rules/test`` and ``/rules/insights``; mount before ``/rules/{rule_id}``."""
    router = APIRouter(tags=["rules"])
    caller = Depends(ctx.tokens.dependency)

    @router.post("/rules/test", summary="Try a rule on a sample event (no side effects)")
    async def test_rule(body: Annotated[RuleTestIn, Body()], who: Principal = caller
                        ) -> RuleTestOut:
        event = _event(body.event)
        rule, observed, group = _rule(ctx, who, body)
        now = _when(event, ctx)
        try:
            trial = try_rule(rule, event, now, observed=observed, group=group)
        except (ConditionError, ExpressionError) as exc:  # the validator let it through
            raise problem(422, "the rule does not compile", [ErrorItem(
                path="rule", code="invalid_rule", message=str(exc))]) from None
        return RuleTestOut.model_validate(trial.as_json())

    insights_routes(router, ctx, caller)
    return router


def _event(raw: dict[str, Any]) -> dict[str, Any]:
    try:
        event = TriggerEvent.model_validate(raw)
    except ValidationError as exc:
        raise problem(422, "event: not a CloudEvent", [ErrorItem(
            path="event." + ".".join(str(p) for p in e["loc"]) if e["loc"] else "event",
            code=str(e["type"]), message=str(e["msg"])) for e in exc.errors()]) from None
    return event.model_dump(mode="json")


def _when(event: dict[str, Any], ctx: ApiContext) -> datetime:
    stamp = event.get("time")
    # The worker evaluates at the event's time (replay decides the same); so does the test.
    return datetime.fromisoformat(stamp) if isinstance(stamp, str) else ctx.clock()


def _rule(ctx: ApiContext, who: Principal, body: RuleTestIn
          ) -> tuple[RuleDefinition, Observed, list[tuple[RuleDefinition, Observed]]]:
    if (body.rule is None) == (body.rule_id is None):
        raise problem(422, "give either `rule` or `rule_id`", [ErrorItem(
            path="rule", code="missing_rule", message="exactly one of rule, rule_id")])
    if body.rule is not None:
        require(who, Right.VIEW)
        if body.rule.get("kind", "rule") != "rule":
            raise problem(422, "invalid rule: 1 problem(s)", [ErrorItem(
                path="$.kind", code="wrong_kind", message="`kind` of a rule is rule")])
        report = validate_definition({"kind": "rule", **body.rule})
        if report.definition is None or not isinstance(report.definition, RuleDefinition):
            raise problem(422, f"invalid rule: {len(report.errors)} problem(s)", [
                ErrorItem(path=p.path, code=p.code, message=p.message) for p in report.errors])
        rule = report.definition
        return rule, Observed(), _group(ctx, rule)
    rule_id = body.rule_id or ""
    found = rule_version(ctx.store, rule_id, body.version)
    what = f"rule {rule_id!r}"
    if found is None:
        if ctx.definition("rule", rule_id) is not None:
            check(who, Right.VIEW, ctx.acl("rule", rule_id), what)
            raise problem(404, f"{what} has no version {body.version!r}")
        raise problem(404, f"{what} not found")
    record, rule = found
    check(who, Right.VIEW, record.acl, what)
    return rule, _observed(ctx, rule), _group(ctx, rule)


def _observed(ctx: ApiContext, rule: RuleDefinition) -> Observed:
    """What the views know of the rule's limit state: matches so far count as executions
    (exact for immediate rules; the views do not see running executions yet)."""
    stats = read_rule_stats(ctx.store, rule.id)
    if stats is None or rule.max_executions is None or rule.execution_mode == "batch":
        return Observed()
    return Observed(executions=stats.matched)


def _group(ctx: ApiContext, rule: RuleDefinition) -> list[tuple[RuleDefinition, Observed]]:
    if rule.exclusive_group is None:
        return []
    return [(other, _observed(ctx, other)) for _, other, _ in active_rules(ctx.store)
            if other.exclusive_group == rule.exclusive_group and other.id != rule.id]
