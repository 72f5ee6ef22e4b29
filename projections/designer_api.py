"""What the visual designer asks while a definition is edited, all without side effects:
``POST /definitions/validate`` (the problems publishing would give), ``POST /expressions/check``
(one CEL expression or mapping, as the user types it), ``POST /workflows/test`` (a test run
through the pure state machine, ``streams.machine.simulate``) and ``GET /actions`` (the action
types a palette offers).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from projections.access import Principal, Right
from projections.auth import check, require
from projections.context import ApiContext
from projections.errors import ErrorItem, problem
from projections.views import read_body
from projections.views.action_types import page_action_types
from projections.views.bodies import newest_active
from schemas.commands import ErrorInfo
from schemas.definitions import WorkflowDefinition
from schemas.expressions import (
    MAX_SOURCE_BYTES,
    ExpressionError,
    compile_expression,
    compile_mapping,
)
from schemas.validation import Problem, validate_definition, validate_workflow
from streams.machine.simulate import MAX_COMMANDS, Mock, Simulation, simulate

__all__ = ["TestRunIn", "TestRunOut", "designer_router", "run_test"]

limit_q = Annotated[int, Query(ge=1, le=500)]

BUILTIN_DOCS = {
    "http": "Send an HTTP request (`with`: url, method, headers, body)",
    "publish": "Publish a CloudEvent to hw.triggers (`with`: event_type, data, subject)",
    "transform": "Return its rendered `with` as the step's output",
    "log": "Write a line to the execution's log (`with`: message, level)",
    "delay": "Wait a number of seconds inside a worker (`with`: seconds)",
}


def _items(problems: list[Problem]) -> list[ErrorItem]:
    return [ErrorItem(path=p.path, code=p.code, message=p.message) for p in problems]


class ValidationOut(BaseModel):
    """What publishing would say about a definition, without publishing it."""

    valid: bool
    problems: list[ErrorItem]
    warnings: list[ErrorItem]


class ExpressionIn(BaseModel):
    """One expression (``kind: expression``, CEL) or mapping (``${ … }`` inside text)."""

    model_config = ConfigDict(extra="forbid")
    source: str = Field(max_length=4 * MAX_SOURCE_BYTES)
    kind: Literal["expression", "mapping"] = "expression"


class ExpressionOut(BaseModel):
    """Whether it compiles, and the names it reads (``input``, ``steps``…)."""

    valid: bool
    problems: list[ErrorItem]
    reads: list[str] = []


class MockError(BaseModel):
    """The error a mocked step answers with."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=256)
    message: str = Field(default="", max_length=4096)
    retryable: bool = True


class MockIn(BaseModel):
    """A step's pinned answer: ``{"output": …}`` or ``{"error": {…}}``; ``{}`` echoes."""

    model_config = ConfigDict(extra="forbid")
    output: Any = None
    error: MockError | None = None

    def mock(self) -> Mock:
        if self.error is not None:
            return Mock(error=ErrorInfo(**self.error.model_dump()))
        if "output" in self.model_fields_set:
            return Mock.returning(self.output)
        return Mock(echo=True)


class TestRunIn(BaseModel):
    """A test run: an inline definition, or a published (or draft) version by id."""

    model_config = ConfigDict(extra="forbid")
    definition: dict[str, Any] | None = None
    workflow_id: str | None = Field(default=None, min_length=1, max_length=256)
    version: str | None = Field(default=None, min_length=1, max_length=64,
                                description="default: the newest active version, else the latest")
    input: dict[str, Any] = Field(default_factory=dict)
    mocks: dict[str, MockIn] = Field(default_factory=dict, description="by step id")
    signals: dict[str, Any] = Field(default_factory=dict, description="payload by signal name")
    max_steps: int = Field(default=1000, ge=1, le=MAX_COMMANDS,
                           description="the most answers (tasks, timers, signals) the run gives")

    @model_validator(mode="after")
    def _one_source(self) -> TestRunIn:
        if (self.definition is None) == (self.workflow_id is None):
            raise ValueError("give exactly one of `definition` and `workflow_id`")
        return self


class StepRunOut(BaseModel):
    """One step's last run: rendered input and `with`, output or error, attempts."""

    status: str
    input: Any = None
    params: Any = None
    output: Any = None
    error: dict[str, Any] | None = None
    attempts: int
    runs: int
    mocked: bool


class TestRunOut(BaseModel):
    """The run: its end, the path taken, each step, and the execution events it made."""

    status: str
    stopped: Literal["max_commands", "stuck"] | None
    path: list[str]
    steps: dict[str, StepRunOut]
    output: Any = None
    error: dict[str, Any] | None = None
    notes: list[str]
    warnings: list[ErrorItem]
    events: list[dict[str, Any]]

    @classmethod
    def of(cls, run: Simulation, warnings: list[ErrorItem]) -> TestRunOut:
        steps = {k: StepRunOut(status=v.status, input=v.input, params=v.params, output=v.output,
                               error=v.error, attempts=v.attempts, runs=v.runs, mocked=v.mocked)
                 for k, v in run.steps.items()}
        return cls(status=run.status, stopped=run.stopped, path=run.path, steps=steps,
                   output=run.output, error=run.error, notes=run.notes, warnings=warnings,
                   events=[e.model_dump(mode="json") for e in run.events])


class ActionTypeOut(BaseModel):
    """A task type a step's ``action`` may name."""

    type: str
    builtin: bool
    description: str = ""
    seen_in: list[str]


class ActionTypePage(BaseModel):
    """One page of action types, by name."""

    items: list[ActionTypeOut]
    next_cursor: str | None = None


def designer_router(ctx: ApiContext) -> APIRouter:
    """``/definitions/validate``, ``/expressions/check``, ``/workflows/test``, ``/actions``."""
    router = APIRouter(tags=["designer"])
    caller = Depends(ctx.tokens.dependency)

    @router.post("/definitions/validate", summary="The problems publishing would give; no effect")
    async def validate(definition: Annotated[dict[str, Any], Body(
            description="a workflow or rule definition, as JSON")],
            who: Principal = caller) -> ValidationOut:
        require(who, Right.VIEW)
        report = validate_definition(definition)
        return ValidationOut(valid=report.ok, problems=_items(report.errors),
                             warnings=_items(report.warnings))

    @router.post("/expressions/check", summary="Whether one CEL expression or mapping compiles")
    async def check_expression(body: ExpressionIn, who: Principal = caller) -> ExpressionOut:
        require(who, Right.VIEW)
        try:
            if body.kind == "mapping":
                names = compile_mapping(body.source).variables
            else:
                names = compile_expression(body.source).variables
        except ExpressionError as exc:
            item = ErrorItem(path="$", code="invalid_expression", message=f"{exc.code}: {exc.message}")
            return ExpressionOut(valid=False, problems=[item])
        return ExpressionOut(valid=True, problems=[], reads=sorted(names))

    @router.post("/workflows/test", summary="Run a workflow with mocked steps; no effect")
    async def test_run(body: TestRunIn, who: Principal = caller) -> TestRunOut:
        if body.definition is not None:
            require(who, Right.VIEW)
            result, errors = run_test(body, ctx.clock())
            if result is None:
                raise problem(422, f"invalid definition: {len(errors)} problem(s)", errors)
            return result
        workflow = _stored_workflow(ctx, who, body)
        result, _ = run_test(body, ctx.clock(), workflow)
        assert result is not None  # a given workflow always runs
        return result

    @router.get("/actions", summary="Action types for steps: built-ins and those seen in use")
    async def actions(limit: limit_q = 100, cursor: str | None = None,
                      search: Annotated[str, Query(max_length=128)] = "",
                      who: Principal = caller) -> ActionTypePage:
        require(who, Right.VIEW)
        found, more = page_action_types(ctx.store, limit=limit, after=cursor, search=search)
        items = [ActionTypeOut(type=a.type, builtin="builtin" in a.seen_in,
                               description=BUILTIN_DOCS.get(a.type, ""), seen_in=list(a.seen_in))
                 for a in found]
        return ActionTypePage(items=items, next_cursor=more)

    return router


def run_test(body: TestRunIn, now: datetime, workflow: WorkflowDefinition | None = None
             ) -> tuple[TestRunOut | None, list[ErrorItem]]:
    """Run ``workflow``, or the request's inline definition once it validates.

    Returns:
        The run, or None and every problem of the inline definition (paths under
        ``$.definition``).
    """
    warnings: list[ErrorItem] = []
    if workflow is None:
        report = validate_workflow({**(body.definition or {}), "kind": "workflow"})
        if not isinstance(report.definition, WorkflowDefinition):
            return None, [ErrorItem(path=p.path.replace("$", "$.definition", 1), code=p.code,
                                    message=p.message) for p in report.errors]
        workflow, warnings = report.definition, _items(report.warnings)
    run = simulate(workflow, body.input, now=now, execution_id="test",
                   mocks={k: v.mock() for k, v in body.mocks.items()},
                   signals=body.signals, max_commands=body.max_steps)
    return TestRunOut.of(run, warnings), []


def _stored_workflow(ctx: ApiContext, who: Principal, body: TestRunIn) -> WorkflowDefinition:
    """A stored version the caller may see (default: the newest active, else the latest)."""
    assert body.workflow_id is not None
    what = f"workflow {body.workflow_id!r}"
    record = ctx.definition("workflow", body.workflow_id)
    if record is None:
        raise problem(404, f"{what} not found")
    check(who, Right.VIEW, record.acl, what)
    version = body.version or newest_active(record) or record.latest
    stored = read_body(ctx.store, "workflow", body.workflow_id, version) if version else None
    if stored is None:
        raise problem(404, f"{what} has no version {version!r}")
    # Stored versions were valid when published; a newer validator may still refuse one.
    report = validate_workflow(stored)
    if not isinstance(report.definition, WorkflowDefinition):
        raise problem(422, f"{what} version {version} is no longer valid",
                      _items(report.errors))
    return report.definition
