"""What validation returns: every problem, each with a JSON path, a code and a message."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from schemas.definitions import RuleDefinition, WorkflowDefinition

Definition = WorkflowDefinition | RuleDefinition


@dataclass(frozen=True, order=True)
class Problem:
    """One problem in a definition.

    Attributes:
        path: JSONPath of the offending value, e.g. `$.steps[2].next`.
        code: stable machine-readable reason, e.g. `unknown_step`.
        message: what is wrong, for a person.
    """

    path: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message} [{self.code}]"


@dataclass(frozen=True)
class ValidationReport:
    """Errors (the definition is refused) and warnings (it is accepted) found at once.

    Attributes:
        errors: problems that make the definition invalid.
        warnings: likely mistakes that do not.
        definition: the parsed model when there are no errors, else None.
    """

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    definition: Definition | None = None

    @property
    def ok(self) -> bool:
        """True when there are no errors."""
        return not self.errors

    def codes(self, level: Literal["errors", "warnings"] = "errors") -> list[tuple[str, str]]:
        """`(path, code)` pairs of one level, for terse assertions and listings."""
        return [(p.path, p.code) for p in getattr(self, level)]


class DefinitionInvalid(ValueError):
    """A definition was refused; `report` holds every problem."""

    def __init__(self, report: ValidationReport, source: str = "") -> None:
        head = f"{source}: " if source else ""
        lines = "\n  ".join(str(p) for p in report.errors)
        super().__init__(f"{head}invalid definition\n  {lines}")
        self.report = report
