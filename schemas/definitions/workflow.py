"""The workflow definition: triggers, steps, and how the whole runs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from pydantic import Field

from schemas.definitions._common import (
    DataMapping,
    Duration,
    ErrorHandling,
    ErrorPolicy,
    Frozen,
    Label,
    RetryPolicy,
    SemVer,
    Slug,
    Status,
    StepId,
)
from schemas.definitions.inputs import InputParam
from schemas.definitions.layout import Layout
from schemas.definitions.steps import AnyStep, LoopStep, ParallelStep, Step
from schemas.definitions.triggers import ManualTrigger, Trigger


def _manual_only() -> list[Trigger]:
    return [ManualTrigger(type="manual")]


class Monitoring(Frozen):
    """How much an execution logs, and whether a failure raises an alert."""

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    alert_on_failure: bool = False
    alert_channels: list[Label] = Field(default_factory=list)


class WorkflowDefinition(Frozen):
    """A workflow, as authored in YAML or JSON.

    Only `id`, `name` and `steps` are required; everything else has a working default.
    """

    kind: Literal["workflow"] = "workflow"
    id: Slug
    name: str = Field(min_length=1, max_length=256)
    description: str = ""
    version: SemVer = "1.0.0"
    triggers: list[Trigger] = Field(default_factory=lambda: _manual_only(), max_length=64)
    steps: list[Step] = Field(min_length=1)
    start_at: StepId | None = None
    inputs: dict[StepId, InputParam] | None = Field(
        default=None, max_length=256,
        description="declared input parameters, checked at every start (missing, ill-typed or "
                    "not in enum: refused with the field's path); defaults are filled in")
    variables: dict[str, Any] = Field(
        default_factory=dict, description="initial vars; a mapping over input"
    )
    outputs: DataMapping = None
    execution_mode: Literal["sequential", "parallel", "hybrid"] = "sequential"
    timeout: Duration | None = Field(default=None, gt=0)
    retry: RetryPolicy | None = None
    on_error: ErrorPolicy = Field(default_factory=ErrorHandling)
    concurrency_limit: int | None = Field(default=None, ge=1, le=100_000)
    # Removed from the language (docs/architecture.md, "Fields without effect"): still read,
    # so definitions published before load; validation refuses it in new ones.
    permissions: list[Label] = Field(default_factory=list)
    owner: str | None = None
    collaborators: list[Label] = Field(default_factory=list)
    visibility: Literal["private", "team", "public"] = "team"
    monitoring: Monitoring = Field(default_factory=Monitoring)
    status: Status = "active"
    category: str | None = None
    tags: list[Label] = Field(default_factory=list)
    layout: Layout | None = Field(
        default=None, description="where the visual designer draws each step; the engine ignores it"
    )

    def all_steps(self) -> Iterator[AnyStep]:
        """Every step, depth first, including loop bodies and parallel branches."""
        yield from iter_steps(self.steps)

    def step(self, step_id: str) -> AnyStep:
        """The step with this id, at any depth.

        Raises:
            KeyError: no such step.
        """
        for candidate in self.all_steps():
            if candidate.id == step_id:
                return candidate
        raise KeyError(step_id)


def iter_steps(steps: list[AnyStep]) -> Iterator[AnyStep]:
    """Every step of a list and of the scopes nested in it, depth first."""
    for step in steps:
        yield step
        if isinstance(step, LoopStep):
            yield from iter_steps(step.steps)
        elif isinstance(step, ParallelStep):
            for branch in step.branches:
                yield from iter_steps(branch.steps)
