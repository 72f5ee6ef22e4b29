"""Checks of every expression in a definition: it compiles, and what it reads exists."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from schemas.definitions.conditions import check_condition, condition_expressions
from schemas.expressions import Expression, ExpressionError, compile_expression, mapping_expressions
from schemas.validation._graph import FlowGraph
from schemas.validation._report import Problem

ITEM_NAMES = frozenset({"item"})
"""What a `$expr` inside `$iall`/`$iany` reads: the list item (as the worker binds it)."""


class ExpressionChecker:
    """Collects problems of the expressions in one definition.

    Args:
        graph: the workflow's flow graph, for which steps and vars a site can see; None
            for rules.
        declared: var names the workflow declares in `variables`.
    """

    def __init__(self, graph: FlowGraph | None = None, declared: Collection[str] = ()) -> None:
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []
        self.graph = graph
        self.declared = frozenset(declared)
        self._writers: dict[str, int] | None = None

    def mapping(
        self, value: Any, path: str, names: frozenset[str], upstream: int | None = None
    ) -> None:
        """Check every `${ expr }` in a mapping at `path`."""
        for where, source in mapping_expressions(value, path):
            self.expression(source, where, names, upstream)

    def condition(self, value: Any, path: str, names: frozenset[str]) -> None:
        """Check a durable_rules-style condition and its `$expr` parts."""
        for problem in check_condition(value, path):
            self.errors.append(Problem(problem.path, problem.code, problem.message))
        for where, source, in_items in condition_expressions(value, path):
            scope = ITEM_NAMES if in_items else names
            self.expression(source, where, scope, None, report_compile=False)

    def expression(
        self,
        source: str,
        path: str,
        names: frozenset[str],
        upstream: int | None = None,
        *,
        report_compile: bool = True,
    ) -> Expression | None:
        """Check one CEL expression; `upstream` masks the steps that surely ran before."""
        try:
            compiled = compile_expression(source)
        except ExpressionError as exc:
            if report_compile:
                self.errors.append(
                    Problem(path, "invalid_expression", f"{exc.code}: {exc.message}")
                )
            return None
        for name in sorted(compiled.variables - names):
            self.errors.append(
                Problem(
                    path,
                    "unknown_variable",
                    f"{name!r} is not defined here; available: {', '.join(sorted(names))}",
                )
            )
        if "steps" in names:
            self._steps_read(compiled, path, upstream)
        if "vars" in names:
            self._vars_read(compiled, path, upstream)
        return compiled

    def _steps_read(self, compiled: Expression, path: str, upstream: int | None) -> None:
        if self.graph is None:
            return
        for step_id in sorted(compiled.steps_read):
            bit = self.graph.bit(step_id)
            if not bit:
                self.errors.append(Problem(path, "unknown_step", f"no step has id {step_id!r}"))
            elif upstream is not None and not upstream & bit:
                self.warnings.append(
                    Problem(
                        path, "step_not_upstream", f"step {step_id!r} may not have run yet here"
                    )
                )

    def _vars_read(self, compiled: Expression, path: str, upstream: int | None) -> None:
        if self.graph is None:
            return
        for name in sorted(compiled.vars_read - self.declared):
            if self._writers is None:
                self._writers = self.graph.writers()
            writers = self._writers.get(name, 0)
            if writers if upstream is None else upstream & writers:
                continue
            self.errors.append(
                Problem(
                    path,
                    "undefined_variable",
                    f"vars.{name} is read "
                    "before any step writes it; declare it in `variables` "
                    "or set it in an earlier step's `output`",
                )
            )
