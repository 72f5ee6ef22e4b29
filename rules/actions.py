"""A rule's actions, compiled once and rendered against the event that fired them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from schemas.definitions import Action
from schemas.expressions import (
    CompiledMapping,
    Expression,
    ExpressionError,
    compile_expression,
    compile_mapping,
)

_EVENT_DATA = "${ event.data }"


@dataclass(frozen=True, slots=True)
class RenderedAction:
    """An action ready to run: its type and its fields with every `${ expr }` rendered.

    Attributes:
        index: position in the rule's `actions`.
        type: `start_workflow`, `publish_event`, `call_webhook` or `signal_execution`.
        params: the action's fields (without `type`), rendered.
    """

    index: int
    type: str
    params: Mapping[str, Any]


class CompiledAction:
    """One action with its mappings compiled.

    `start_workflow` without `input` passes the event's data. `signal_execution.execution_id`
    is a bare CEL expression (the contract says so), every other string may hold `${ expr }`.
    """

    __slots__ = ("_execution_id", "_fields", "index", "type")

    def __init__(self, index: int, action: Action) -> None:
        fields = action.model_dump(mode="json", by_alias=True, exclude={"type"})
        self.index = index
        self.type: str = action.type
        self._execution_id: Expression | None = None
        if self.type == "start_workflow" and fields.get("input") is None:
            fields["input"] = _EVENT_DATA
        if self.type == "signal_execution":
            self._execution_id = compile_expression(fields.pop("execution_id"))
        self._fields: CompiledMapping = compile_mapping(fields)

    def render(self, context: Mapping[str, Any]) -> RenderedAction:
        """Render against a size-checked context.

        Raises:
            ExpressionError: an expression failed or gave an execution id that is no string.
        """
        params = self._fields.render(context, size_checked=True)
        if self._execution_id is not None:
            execution_id = self._execution_id.evaluate(context, size_checked=True)
            if not isinstance(execution_id, str) or not execution_id:
                raise ExpressionError(
                    "evaluation_error", f"execution_id gave {execution_id!r}, not an id"
                )
            params["execution_id"] = execution_id
        return RenderedAction(self.index, self.type, params)


def compile_actions(actions: list[Action]) -> tuple[CompiledAction, ...]:
    """Compile every action of a rule.

    Raises:
        ExpressionError: the first mapping that does not compile.
    """
    return tuple(CompiledAction(i, a) for i, a in enumerate(actions))
