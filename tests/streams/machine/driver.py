"""A test driver for the state machine: sends commands, keeps the history, checks replay.

Every command goes through `apply_command`; after each one the driver asserts the
laws every history must keep (replay rebuilds the live state, `decide` agrees with
`apply_command` and leaves its input alone), so every test exercises them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.commands import (
    CommandBase,
    ErrorInfo,
    MigrateExecution,
    SignalReceived,
    StartExecution,
    TaskCompleted,
    TaskFailed,
    TimerFired,
)
from schemas.definitions import WorkflowDefinition
from streams.machine import State, apply_command, compile_plan, decide, replay

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def workflow(*steps: dict[str, Any], **fields: Any) -> WorkflowDefinition:
    """A workflow definition with id ``wf`` made of ``steps``."""
    data = {"id": "wf", "name": "test workflow", "steps": list(steps), **fields}
    return WorkflowDefinition.model_validate(data)


def action(step_id: str, task_type: str = "work", **fields: Any) -> dict[str, Any]:
    """An action step."""
    return {"id": step_id, "type": "action", "action": task_type, **fields}


class Run:
    """One execution driven command by command."""

    def __init__(
        self, definition: WorkflowDefinition, execution_id: str = "exec-1", *, check: bool = True
    ) -> None:
        self.plan = compile_plan(definition)
        self.plans = {self.plan.version: self.plan}
        self.execution_id = execution_id
        self.state: State | None = None
        self.events: list[Any] = []
        self.history: list[tuple[CommandBase, list[Any]]] = []
        self.clock = T0
        self.count = 0
        self.check = check

    # -- sending -------------------------------------------------------------------
    def command(self, cls: type[CommandBase], *, advance: float = 1.0,
                command_id: str | None = None, **fields: Any) -> CommandBase:
        """Build a command at the next tick of the test clock."""
        self.count += 1
        self.clock = self.clock + timedelta(seconds=advance)
        return cls(command_id=command_id or f"cmd-{self.count}",
                   execution_id=self.execution_id, time=self.clock, **fields)

    def apply(self, command: CommandBase) -> list[Any]:
        """Apply a command, record it, and check the history laws."""
        before = self.state.to_bytes() if self.state is not None else None
        target = (self.plans.get(command.to_version) if isinstance(command, MigrateExecution)
                  else None)
        events, state = apply_command(self.state, command, self.plan, target)
        if self.check:
            assert_valid(events)
            assert decide(self.state, command, self.plan, target) == events
            after = self.state.to_bytes() if self.state is not None else None
            assert before == after, "decide must not change the state it is given"
        self.state = state
        if state is not None:  # after a migration the execution runs another version
            self.plan = self.plans.get(state.workflow_version, self.plan)
        self.events.extend(events)
        self.history.append((command, events))
        if self.check:
            assert replay(self.events) == self.state
            if self.state is not None:
                assert State.from_bytes(self.state.to_bytes()) == self.state
        return events

    def send(self, cls: type[CommandBase], **fields: Any) -> list[Any]:
        """Build and apply a command."""
        return self.apply(self.command(cls, **fields))

    def start(self, input: dict[str, Any] | None = None, **fields: Any) -> list[Any]:
        """Start the execution."""
        return self.send(StartExecution, workflow_id=self.plan.workflow_id,
                         input=input or {}, **fields)

    def add_version(self, definition: WorkflowDefinition) -> None:
        """Publish another version of the workflow (a migration's target)."""
        plan = compile_plan(definition)
        self.plans[plan.version] = plan

    def migrate(self, to_version: str, mapping: dict[str, str] | None = None) -> list[Any]:
        """Move the execution to another published version."""
        return self.send(MigrateExecution, to_version=to_version, mapping=mapping or {})

    # -- answering -----------------------------------------------------------------
    def task(self, path: str | None = None) -> str:
        """The id of the open task of the step at ``path`` (or the only open task)."""
        open_tasks = self.live.tasks
        matches = [t for t, p in open_tasks.items() if path is None or p == path]
        assert len(matches) == 1, f"open tasks: {open_tasks}"
        return matches[0]

    def complete(self, path: str | None = None, output: Any = None, **fields: Any) -> list[Any]:
        """Answer a task with success."""
        return self.send(TaskCompleted, task_id=self.task(path), output=output, **fields)

    def fail(self, path: str | None = None, code: str = "boom", *, retryable: bool = True,
             **fields: Any) -> list[Any]:
        """Answer a task with a failure."""
        error = ErrorInfo(code=code, message="it broke", retryable=retryable)
        return self.send(TaskFailed, task_id=self.task(path), error=error, **fields)

    def timer(self, purpose: str | None = None, path: str | None = None) -> str:
        """The id of the open timer with this purpose (and owning step path)."""
        timers = self.live.timers
        matches = [t for t, v in timers.items()
                   if (purpose is None or v.purpose == purpose) and (path is None or v.step == path)]
        assert len(matches) == 1, f"open timers: {timers}"
        return matches[0]

    def fire(self, purpose: str | None = None, path: str | None = None) -> list[Any]:
        """Fire a timer at its due time."""
        timer_id = self.timer(purpose, path)
        due = self.live.timers[timer_id].fire_at
        command = TimerFired(command_id=f"fire-{timer_id}", execution_id=self.execution_id,
                             time=max(due, self.clock), timer_id=timer_id)
        self.clock = command.time
        return self.apply(command)

    def signal(self, name: str, payload: Any = None) -> list[Any]:
        """Send a signal."""
        return self.send(SignalReceived, name=name, payload=payload)

    # -- reading -------------------------------------------------------------------
    @property
    def live(self) -> State:
        """The state (the execution must have started)."""
        assert self.state is not None
        return self.state

    @property
    def status(self) -> str:
        """The execution status."""
        return self.live.status

    def step(self, path: str) -> Any:
        """The state of the step at ``path``."""
        step = self.live.step(path)
        assert step is not None, f"step {path} not reached"
        return step

    def of_type(self, type_: str) -> list[Any]:
        """All events of a type so far."""
        return [e for e in self.events if e.type == type_]


def assert_valid(events: list[Any]) -> None:
    """Each event is what validating its own fields gives (the core builds them unvalidated)."""
    for event in events:
        given = {k: v for k, v in dict(event).items() if k in event.model_fields_set}
        checked = type(event).model_validate(given)
        assert checked == event, f"{event!r} is not valid"
        assert checked.model_dump(mode="json") == event.model_dump(mode="json")
        assert [type(v) for v in dict(checked).values()] == [type(v) for v in dict(event).values()]
        assert checked.model_fields_set == event.model_fields_set


def types(events: list[Any]) -> list[str]:
    """The ``type`` of each event."""
    return [e.type for e in events]
