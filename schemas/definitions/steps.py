"""The steps a workflow is made of, one model per step `type`.

`next` names the step that follows in the same scope (default: the next one in the list;
`$end` ends the scope). A loop body and each parallel branch are scopes of their own.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator
from pydantic_core import PydanticCustomError

from schemas.definitions._common import (
    DataMapping,
    Duration,
    ErrorPolicy,
    Frozen,
    Label,
    RetryPolicy,
    Slug,
    StepId,
    Target,
    infer_tag,
)

BUILTIN_ACTIONS = frozenset({"http", "publish", "transform", "log", "delay"})
"""Task types the engine's own workers run; any other name is an external worker's."""
MAX_LOOP_ITERATIONS = 100_000


class StepBase(Frozen):
    """Fields every step has."""

    id: StepId
    name: str = ""
    description: str = ""
    next: Target | None = None
    depends_on: list[StepId] = Field(default_factory=list)
    input: DataMapping = None
    output: DataMapping = Field(
        default=None,
        description="rendered with `output` = the raw result; an object's keys also set vars",
    )
    timeout: Duration | None = Field(default=None, gt=0)
    retry: RetryPolicy | None = None
    on_error: ErrorPolicy | None = None


class ActionStep(StepBase):
    """Run a task: a built-in (`http`, `publish`, `transform`, `log`, `delay`) or external."""

    type: Literal["action"]
    action: str = Field(pattern=r"^[a-z][a-z0-9_.-]{0,127}$")
    params: DataMapping = Field(
        default=None, alias="with", description="the action's configuration"
    )


class Branch(Frozen):
    """One arm of a condition step: go to `next` when `when` is true."""

    when: str = Field(min_length=1, description="CEL, true or false")
    next: Target


class ConditionStep(StepBase):
    """Branch: the first branch whose `when` holds wins; else `default`, else `next`."""

    type: Literal["condition"]
    branches: list[Branch] = Field(min_length=1, max_length=100)
    default: Target | None = None


class LoopStep(StepBase):
    """Repeat a body: once per item of `for_each`, or while `while` holds; always bounded."""

    type: Literal["loop"]
    for_each: str | None = Field(default=None, min_length=1, description="CEL giving a list")
    while_: str | None = Field(
        default=None, alias="while", min_length=1, description="CEL, checked first"
    )
    max_iterations: int = Field(default=1000, ge=1, le=MAX_LOOP_ITERATIONS)
    parallelism: int = Field(default=1, ge=1, le=1000, description="for_each only")
    steps: list[Step] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_kind(self) -> LoopStep:
        if (self.for_each is None) == (self.while_ is None):
            raise PydanticCustomError("invalid_loop", "give exactly one of `for_each` and `while`")
        if self.while_ is not None and self.parallelism != 1:
            raise PydanticCustomError("invalid_loop", "`parallelism` applies to for_each loops")
        return self


class ParallelBranch(Frozen):
    """One branch of a parallel step: its own scope of steps."""

    name: Label
    steps: list[Step] = Field(min_length=1)


class ParallelStep(StepBase):
    """Run branches at once and join: when all end (`all`) or the first ends (`any`)."""

    type: Literal["parallel"]
    branches: list[ParallelBranch] = Field(min_length=1, max_length=256)
    join: Literal["all", "any"] = "all"
    fail_fast: bool = Field(default=True, description="a failed branch cancels the others")


class SubprocessStep(StepBase):
    """Start another workflow as a child execution, and (by default) wait for it."""

    type: Literal["subprocess"]
    workflow_id: Slug
    version: str = Field(default="*", min_length=1, max_length=64, description="e.g. ^1.2, ~1.4, *")
    wait: bool = True


class WaitEvent(Frozen):
    """A correlated event: its type, and a CEL value that must equal its subject."""

    type: str = Field(min_length=1, max_length=256)
    correlation: str = Field(min_length=1, description="CEL; compared with the event subject")


class WaitStep(StepBase):
    """Pause for a duration, until a time, for a named signal, or for a correlated event."""

    type: Literal["wait"]
    duration: Duration | None = None
    until: str | None = Field(default=None, min_length=1, description="ISO 8601 time or CEL")
    signal: str | None = Field(default=None, min_length=1, max_length=256)
    event: WaitEvent | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> WaitStep:
        given = [self.duration, self.until, self.signal, self.event]
        if sum(x is not None for x in given) != 1:
            raise PydanticCustomError(
                "invalid_wait", "give exactly one of `duration`, `until`, `signal`, `event`"
            )
        return self


_STEP_CLUES = (
    ("action", "action"),
    ("for_each", "loop"),
    ("while", "loop"),
    ("default", "condition"),
    ("workflow_id", "subprocess"),
    ("duration", "wait"),
    ("until", "wait"),
    ("signal", "wait"),
    ("event", "wait"),
)

Step = Annotated[
    ActionStep | ConditionStep | LoopStep | ParallelStep | SubprocessStep | WaitStep,
    Field(discriminator="type"),
    infer_tag("type", _STEP_CLUES),
]
"""Any step, told apart by its `type`."""

AnyStep = ActionStep | ConditionStep | LoopStep | ParallelStep | SubprocessStep | WaitStep
"""The step classes, for `isinstance` and type hints."""

LoopStep.model_rebuild()
ParallelBranch.model_rebuild()
ParallelStep.model_rebuild()
