"""Test runs: one execution driven through the state machine with answers given up front.

The designer and ``headwater test`` use it to try a definition (draft or published) with
sample input and no side effects: no Kafka, no workers, no timers that really wait. Each
round picks what the engine would be waiting for and answers it at once, oldest first:

- a slot of a concurrency-limited workflow is granted;
- a task (action step) is answered from the step's mock: an output, an error, or by
  default an echo of its rendered ``with`` (what the built-in ``transform`` returns);
- a child execution (subprocess step) likewise; the default echo is the child's input;
- a wait for a signal gets ``signals[name]`` (or the step's mock output, else ``null``);
  a wait for a correlated event gets an event of that type and subject, the mock output as
  its ``data``; a wait step mocked with an error times out (when it has a timeout);
- otherwise the earliest timer fires at its due time (delays, retries, timeouts), so time
  jumps forward instead of passing.

Pure and deterministic: time and the execution id come in; command ids count up.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from schemas.commands import (
    ChildCompleted,
    ChildFailed,
    CommandBase,
    ErrorInfo,
    EventReceived,
    GrantSlot,
    SignalReceived,
    StartExecution,
    TaskCompleted,
    TaskFailed,
    TimerFired,
)
from schemas.definitions import WorkflowDefinition
from schemas.executions import (
    ChildStarted,
    ExecutionEvent,
    RetryScheduled,
    StepCancelled,
    StepCompleted,
    StepEventBase,
    StepFailed,
    StepScheduled,
    StepSkipped,
    StepStarted,
    TaskRequested,
)
from streams.machine.decide import apply_command
from streams.machine.gate import gate_id
from streams.machine.plan import Plan, compile_plan
from streams.machine.state import State, split_path

__all__ = ["MAX_COMMANDS", "Mock", "Simulation", "StepRun", "simulate"]

MAX_COMMANDS = 10_000
"""The most answers one test run may give (a loop of 100,000 tasks stops here)."""

StopReason = Literal["max_commands", "stuck"]


@dataclass(frozen=True, slots=True)
class Mock:
    """How a step's task, child or wait is answered. Neither field: the default echo."""

    output: Any = None
    error: ErrorInfo | None = None
    echo: bool = False

    @classmethod
    def returning(cls, output: Any) -> Mock:
        """Answer with ``output``."""
        return cls(output=output)

    @classmethod
    def failing(cls, code: str, message: str = "", *, retryable: bool = True) -> Mock:
        """Answer with an error (retried by the step's retry policy when ``retryable``)."""
        return cls(error=ErrorInfo(code=code, message=message, retryable=retryable))


ECHO = Mock(echo=True)


@dataclass(slots=True)
class StepRun:
    """What became of one step (its last run, for steps inside loops)."""

    status: str = "scheduled"
    input: Any = None
    params: Any = None
    output: Any = None
    error: dict[str, Any] | None = None
    attempts: int = 0
    runs: int = 0
    mocked: bool = False


@dataclass(slots=True)
class Simulation:
    """A finished (or stopped) test run.

    Attributes:
        status: The execution's status: ``completed``, ``failed``, ``timed_out``… or
            ``running``/``waiting`` when the run stopped before an end.
        stopped: Why the run stopped before the execution ended, else None.
        path: Step ids in the order they first started.
        steps: Each reached step's last run.
        notes: What the simulator decided on its own (echoes, null signals, fired timers).
    """

    status: str
    path: list[str]
    steps: dict[str, StepRun]
    output: Any
    error: dict[str, Any] | None
    events: list[ExecutionEvent]
    commands: int
    stopped: StopReason | None = None
    notes: list[str] = field(default_factory=list)


def simulate(
    definition: WorkflowDefinition | Plan,
    input: Mapping[str, Any],
    *,
    now: datetime,
    mocks: Mapping[str, Mock] | None = None,
    signals: Mapping[str, Any] | None = None,
    execution_id: str = "test",
    max_commands: int = 1000,
) -> Simulation:
    """Run one execution of ``definition`` to its end, answering everything it waits for.

    Args:
        definition: The workflow (or its compiled plan).
        input: The execution input.
        now: The start time; timers move the clock forward to when they are due.
        mocks: By step id, how that step's task, child or wait is answered.
        signals: By signal name, the payload a waiting step receives.
        execution_id: Ids of tasks, timers and children derive from it.
        max_commands: Stop after this many answers (at most `MAX_COMMANDS`).
    """
    plan = definition if isinstance(definition, Plan) else compile_plan(definition)
    driver = _Driver(plan, mocks or {}, signals or {}, execution_id, now)
    start = StartExecution(command_id="sim-0", execution_id=execution_id, time=now,
                           workflow_id=plan.workflow_id, version=plan.version, input=dict(input),
                           trigger_type="test")
    driver.apply(start)
    stopped: StopReason | None = None
    while driver.state is not None and not driver.state.finished:
        if driver.count > min(max_commands, MAX_COMMANDS):  # the start is not an answer
            stopped = "max_commands"
            break
        command = driver.next_command()
        if command is None:
            stopped = "stuck"
            break
        driver.apply(command)
    return driver.result(stopped)


class _Driver:
    """The state of a run and the choice of the next answer."""

    def __init__(self, plan: Plan, mocks: Mapping[str, Mock], signals: Mapping[str, Any],
                 execution_id: str, now: datetime) -> None:
        self.plan, self.mocks, self.signals = plan, mocks, signals
        self.execution_id, self.clock = execution_id, now
        self.state: State | None = None
        self.events: list[ExecutionEvent] = []
        self.count = 0
        self.notes: list[str] = []
        self.params: dict[str, Any] = {}  # task id -> its rendered `with`
        self.child_input: dict[str, Any] = {}  # child id -> its input

    def apply(self, command: CommandBase) -> None:
        events, self.state = apply_command(self.state, command, self.plan)
        self.count += 1
        for event in events:
            if isinstance(event, TaskRequested):
                self.params[event.task_id] = event.params
            elif isinstance(event, ChildStarted):
                self.child_input[event.child_execution_id] = event.input
        self.events.extend(events)

    def _base(self) -> dict[str, Any]:
        return {"command_id": f"sim-{self.count}", "execution_id": self.execution_id,
                "time": self.clock}

    def next_command(self) -> CommandBase | None:
        """The answer to the oldest thing the execution waits for, or None if nothing can."""
        state = self.state
        assert state is not None
        if state.status == "queued" and state.slot is not None:
            return GrantSlot(**self._base(), gate_id=gate_id(state.workflow_id), ticket=state.slot)
        if state.tasks:
            task_id = min(state.tasks, key=_seq)
            return self._answer_task(task_id, state.tasks[task_id])
        if state.children:
            child = min(state.children, key=_seq)
            return self._answer_child(child, state.children[child])
        waiting = self._answer_wait(state)
        if waiting is not None:
            return waiting
        if state.timers:
            timer_id = min(state.timers, key=lambda t: (state.timers[t].fire_at, _seq(t)))
            timer = state.timers[timer_id]
            self.clock = max(self.clock, timer.fire_at)
            self.notes.append(f"timer {timer.purpose} of {timer.step or 'the workflow'} fired "
                              f"at once (due {timer.fire_at.isoformat()})")
            return TimerFired(**self._base(), timer_id=timer_id)
        return None

    def _mock(self, path: str) -> Mock:
        return self.mocks.get(split_path(path)[1], ECHO)

    def _answer_task(self, task_id: str, path: str) -> CommandBase:
        mock = self._mock(path)
        if mock.error is not None:
            return TaskFailed(**self._base(), task_id=task_id, error=mock.error)
        output = self.params.get(task_id) if mock.echo else mock.output
        return TaskCompleted(**self._base(), task_id=task_id, output=output)

    def _answer_child(self, child: str, path: str) -> CommandBase:
        mock = self._mock(path)
        if mock.error is not None:
            return ChildFailed(**self._base(), child_execution_id=child, error=mock.error)
        output = self.child_input.get(child) if mock.echo else mock.output
        return ChildCompleted(**self._base(), child_execution_id=child, output=output)

    def _answer_wait(self, state: State) -> CommandBase | None:
        for scope_key, scope in state.scopes.items():
            for step_id, step in scope.steps.items():
                if step.status != "running" or step.wait is None:
                    continue
                mock = self.mocks.get(step_id, ECHO)
                if mock.error is not None:
                    timeout = self._timeout_of(state, f"{scope_key}/{step_id}" if scope_key
                                               else step_id)
                    if timeout is not None:
                        return timeout
                    self.notes.append(f"{step_id}: a wait without a timeout cannot fail; "
                                      "answered instead")
                payload = None if mock.echo or mock.error else mock.output
                if "signal" in step.wait:
                    name = step.wait["signal"]
                    payload = self.signals.get(name, payload)
                    if name not in self.signals and mock.echo:
                        self.notes.append(f"{step_id}: signal {name!r} given a null payload")
                    return SignalReceived(**self._base(), name=name, payload=payload)
                return EventReceived(**self._base(), event=self._event(step.wait, payload))
        return None

    def _timeout_of(self, state: State, path: str) -> CommandBase | None:
        for timer_id, timer in state.timers.items():
            if timer.step == path and timer.purpose == "step_timeout":
                self.clock = max(self.clock, timer.fire_at)
                return TimerFired(**self._base(), timer_id=timer_id)
        return None

    def _event(self, wait: dict[str, Any], data: Any) -> dict[str, Any]:
        wanted = str(wait.get("event_type", "event"))
        concrete = "".join("x" if c in "*?[]" else c for c in wanted)
        return {"specversion": "1.0", "id": f"{self.execution_id}:sim{self.count}",
                "source": "headwater.test", "type": concrete, "subject": wait.get("subject"),
                "data": data}

    def result(self, stopped: StopReason | None) -> Simulation:
        state = self.state
        assert state is not None
        path, runs = _runs(self.events, self.mocks)
        return Simulation(status=state.status, path=path, steps=runs, output=state.output,
                          error=state.error, events=self.events, commands=self.count,
                          stopped=stopped, notes=self.notes)


def _seq(ident: str) -> int:
    """The sequence number in a derived id (``<execution>:t<seq>``), for oldest-first order."""
    tail = ident.rpartition(":")[2].lstrip("abcdefghijklmnopqrstuvwxyz")
    return int(tail) if tail.isdigit() else 0


_ENDS: dict[type[Any], str] = {StepCompleted: "completed", StepFailed: "failed",
                              StepSkipped: "skipped", StepCancelled: "cancelled",
                              RetryScheduled: "retrying"}


def _runs(events: list[ExecutionEvent],
          mocks: Mapping[str, Mock]) -> tuple[list[str], dict[str, StepRun]]:
    """Each step's last run and the order in which steps first started, from the history."""
    path: list[str] = []
    runs: dict[str, StepRun] = {}
    for event in events:
        if not isinstance(event, StepEventBase):
            continue
        run = runs.setdefault(event.step_id, StepRun(mocked=event.step_id in mocks))
        if isinstance(event, StepScheduled):
            run.status, run.error, run.output = "scheduled", None, None
        elif isinstance(event, StepStarted):
            if event.step_id not in path:
                path.append(event.step_id)
            run.status, run.input, run.attempts = "running", event.input, event.attempt
            run.runs += event.attempt == 1
        elif isinstance(event, TaskRequested):
            run.params, run.attempts = event.params, event.attempt
        elif type(event) in _ENDS:
            run.status = _ENDS[type(event)]
            if isinstance(event, StepCompleted):
                run.output = event.output
            elif isinstance(event, StepFailed | RetryScheduled):
                run.error = event.error.model_dump(mode="json")
    return path, runs
