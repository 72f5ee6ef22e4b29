"""A rule's actions, compiled once and rendered against the event that fired them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from rules.render import Render, compile_fast
from schemas.definitions import Action
from schemas.expressions import (
    CompiledMapping,
    Expression,
    ExpressionError,
    check_context,
    compile_expression,
    compile_mapping,
)

_EVENT_DATA = "${ event.data }"


class RenderedAction(NamedTuple):
    """An action ready to run: its type and its fields with every `${ expr }` rendered.

    Attributes:
        position: index in the rule's `actions`.
        type: `start_workflow`, `publish_event`, `call_webhook` or `signal_execution`.
        params: the action's fields (without `type`), rendered.
    """

    position: int
    type: str
    params: Mapping[str, Any]


class CompiledAction:
    """One action with its mappings compiled.

    `start_workflow` without `input` passes the event's data. `signal_execution.execution_id`
    is a bare CEL expression (the contract says so), every other string may hold `${ expr }`.
    Mappings that only copy event fields skip CEL (see `rules.render`).
    """

    __slots__ = ("_execution_id", "_fast", "_fields", "_names", "index", "type")

    def __init__(self, index: int, action: Action) -> None:
        fields = action.model_dump(mode="json", by_alias=True, exclude={"type"})
        self.index = index
        self.type: str = action.type
        self._execution_id: Expression | None = None
        if self.type == "start_workflow" and fields.get("input") is None:
            fields["input"] = _EVENT_DATA
        if fields.get("priority", "") is None:
            del fields["priority"]  # optional, and left out: the start takes `normal`
        if self.type == "signal_execution":
            source = fields.pop("execution_id")
            self._execution_id = compile_expression(source)
            fields["execution_id"] = "${ " + source + " }"  # for the fast path only
        self._fast: Render | None = compile_fast(fields)
        fields.pop("execution_id", None)
        self._fields: CompiledMapping = compile_mapping(fields)
        names = set(self._fields.variables)
        if self._execution_id is not None:
            names |= self._execution_id.variables
        self._names = frozenset(names)

    def render(self, context: Mapping[str, Any]) -> RenderedAction:
        """Render against a context (`event`, `events`, `now`, ...).

        Raises:
            ExpressionError: an expression failed, the context is too large, or the
                execution id is not a non-empty string.
        """
        params = self._fast(context) if self._fast is not None else self._render_with_cel(context)
        if self._execution_id is not None:
            execution_id = params.get("execution_id")
            if not isinstance(execution_id, str) or not execution_id:
                raise ExpressionError(
                    "evaluation_error", f"execution_id gave {execution_id!r}, not an id"
                )
        return RenderedAction(self.index, self.type, params)

    def _render_with_cel(self, context: Mapping[str, Any]) -> dict[str, Any]:
        # CEL converts its whole context on every call: hand it only the names it reads.
        scope = {name: context[name] for name in self._names if name in context}
        if isinstance(scope.get("events"), tuple):
            scope["events"] = list(scope["events"])
        check_context(scope)
        params: dict[str, Any] = self._fields.render(scope, size_checked=True)
        if self._execution_id is not None:
            params["execution_id"] = self._execution_id.evaluate(scope, size_checked=True)
        return params


def compile_actions(actions: list[Action]) -> tuple[CompiledAction, ...]:
    """Compile every action of a rule.

    Raises:
        ExpressionError: the first mapping that does not compile.
    """
    return tuple(CompiledAction(i, a) for i, a in enumerate(actions))
