"""The state of one workflow execution: small, plain, and serialisable.

Only `evolve` writes it. Plain slotted dataclasses keep a waiting execution at a
few hundred bytes in memory and let `orjson` serialise it without a schema walk.
Free-form values (input, variables, outputs) are JSON and are never mutated in
place: a change replaces the value, so copies may share them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

import orjson

__all__ = [
    "ACTIVE_STEP",
    "RECENT_COMMANDS",
    "TERMINAL_STATUSES",
    "ScopeState",
    "Scopes",
    "State",
    "StepState",
    "TimerState",
    "join_path",
    "split_path",
]

TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled", "timed_out"})
"""Execution statuses after which only `RetryExecution` (from ``failed``) applies."""

ACTIVE_STEP = frozenset({"scheduled", "running", "retrying"})
"""Step statuses that still need something to happen."""

RECENT_COMMANDS = 64
"""How many applied command ids are remembered for de-duplication."""


def join_path(scope: str, name: str | int) -> str:
    """The path of a step or child scope inside ``scope`` (``""`` is the top level)."""
    return f"{scope}/{name}" if scope else str(name)


def split_path(path: str) -> tuple[str, str]:
    """Split a step path into ``(scope, step_id)``; the inverse of `join_path`."""
    scope, _, name = path.rpartition("/")
    return scope, name


@dataclass(slots=True)
class StepState:
    """One step instance in one scope. ``task`` is its open task or child id."""

    status: str
    attempt: int = 0
    output: Any = None
    error: dict[str, Any] | None = None
    task: str | None = None
    wait: dict[str, Any] | None = None
    items: list[Any] | None = None
    next_index: int = 0
    active: tuple[int, ...] = ()
    results: tuple[Any, ...] = ()
    errors: tuple[dict[str, Any], ...] = ()
    started_at: datetime | None = None
    finished_at: datetime | None = None

    def copy(self) -> StepState:
        """A copy that may be changed without touching this one (values are replaced, never
        changed in place, so they are shared)."""
        return StepState(
            self.status, self.attempt, self.output, self.error, self.task, self.wait,
            self.items, self.next_index, self.active, self.results, self.errors,
            self.started_at, self.finished_at,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form without defaults (so a waiting step costs a few dozen bytes)."""
        out: dict[str, Any] = {"status": self.status}
        for name in _STEP_OPTIONAL:
            value = getattr(self, name)
            if value is None or (name in _STEP_ZERO and not value):
                continue
            out[name] = value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], times: dict[str, datetime] | None = None) -> StepState:
        """Inverse of `to_dict`; ``times`` shares equal times between the steps of a state."""
        times = {} if times is None else times
        step = cls(**data)
        step.status = _same(step.status)
        step.started_at = _dt(step.started_at, times)
        step.finished_at = _dt(step.finished_at, times)
        step.active, step.results, step.errors = (
            tuple(step.active), tuple(step.results), tuple(step.errors)
        )
        return step


_STEP_OPTIONAL = (
    "attempt", "output", "error", "task", "wait", "items", "next_index", "active",
    "results", "errors", "started_at", "finished_at",
)
_STEP_ZERO = frozenset({"attempt", "next_index", "active", "results", "errors"})


@dataclass(slots=True)
class ScopeState:
    """A running list of steps: the top level, one loop iteration or one branch.

    Attributes:
        plan: The id of the static scope in the plan this instance runs.
        steps: Step states by step id, in the order they were first reached.
        index: The iteration index (loop scopes only).
        item: The iteration item (for-each loop scopes only).
        last: The step whose output is the scope's output (the last to complete).
    """

    plan: str
    steps: dict[str, StepState] = field(default_factory=dict)
    index: int | None = None
    item: Any = None
    last: str | None = None

    def copy(self) -> ScopeState:
        """A copy whose steps may be changed without touching this one."""
        steps = {k: v.copy() for k, v in self.steps.items()}
        return ScopeState(self.plan, steps, self.index, self.item, self.last)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        out: dict[str, Any] = {
            "plan": self.plan,
            "steps": {k: v.to_dict() for k, v in self.steps.items()},
        }
        if self.index is not None:
            out["index"] = self.index
            out["item"] = self.item
        if self.last is not None:
            out["last"] = self.last
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], times: dict[str, datetime] | None = None) -> ScopeState:
        """Inverse of `to_dict`; ``times`` shares equal times between the steps of a state."""
        times = {} if times is None else times
        steps = {k: StepState.from_dict(v, times) for k, v in data["steps"].items()}
        return cls(data["plan"], steps, data.get("index"), data.get("item"), data.get("last"))


_get = dict.__getitem__


class Scopes(dict[str, ScopeState]):
    """Scope states shared with the state this one was copied from until first read.

    Copying every scope for every command cost more than deciding it, and most
    commands touch one scope. Every way to read a scope (``[]``, ``get``, ``items``,
    ``values``) gives this state's own copy, made on first read; ``evolve`` writes
    only through those, so a scope shared with another state is never changed.
    """

    __slots__ = ("_own",)

    def __init__(self, fresh: Mapping[str, ScopeState] = MappingProxyType({})) -> None:
        super().__init__(fresh)
        # The keys whose scope is this state's own; None when all are (nothing shared).
        self._own: set[str] | None = None

    def share(self) -> Scopes:
        """A copy sharing every scope; from now on both copy a scope before using it."""
        shared = Scopes()
        dict.update(shared, self)
        shared._own = set()
        self._own = set()
        return shared

    def _owned(self, key: str) -> ScopeState:
        scope = _get(self, key)
        own = self._own
        if own is not None and key not in own:
            scope = scope.copy()
            dict.__setitem__(self, key, scope)
            self._claim(own, key)
        return scope

    def _claim(self, own: set[str], key: str) -> None:
        own.add(key)
        if len(own) == len(self):  # everything is ours again: forget the bookkeeping
            self._own = None

    def __getitem__(self, key: str) -> ScopeState:
        own = self._own
        if own is None or key in own:
            return _get(self, key)
        return self._owned(key)

    def get(self, key: str, default: Any = None) -> Any:
        """The scope at ``key`` (this state's own copy), or ``default``."""
        if key not in self:
            return default
        own = self._own
        return _get(self, key) if own is None or key in own else self._owned(key)

    def __setitem__(self, key: str, value: ScopeState) -> None:
        dict.__setitem__(self, key, value)
        if self._own is not None:
            self._claim(self._own, key)

    def __delitem__(self, key: str) -> None:
        dict.__delitem__(self, key)
        if self._own is not None:
            self._own.discard(key)
            if len(self._own) == len(self):
                self._own = None

    def items(self) -> list[tuple[str, ScopeState]]:  # type: ignore[override]
        """Each key with this state's own copy of its scope."""
        return [(key, self._owned(key)) for key in list(self)]

    def values(self) -> list[ScopeState]:  # type: ignore[override]
        """This state's own copy of each scope."""
        return [self._owned(key) for key in list(self)]


@dataclass(slots=True, frozen=True)
class TimerState:
    """An open durable timer. ``step`` is the owning step path, None for the workflow."""

    fire_at: datetime
    purpose: str
    step: str | None = None


@dataclass(slots=True)
class State:
    """Everything the state machine knows about one execution.

    ``seq`` is the sequence number of the last applied event; ``recent`` holds the
    last `RECENT_COMMANDS` command ids applied (newest last). ``slot`` is the ticket of the
    concurrency slot the execution holds (``status`` ``queued``: waits for), if its workflow
    has a ``concurrency_limit``.
    """

    execution_id: str
    workflow_id: str
    workflow_version: str
    status: str
    input: dict[str, Any]
    vars: dict[str, Any]
    started_at: datetime
    trigger_type: str = "manual"
    triggered_by: str | None = None
    trigger_event: dict[str, Any] | None = None
    parent_execution_id: str | None = None
    parent_step: str | None = None
    ended_at: datetime | None = None
    output: Any = None
    error: dict[str, Any] | None = None
    failed_step: str | None = None
    last_error: dict[str, Any] | None = None
    scopes: Scopes = field(default_factory=Scopes)
    tasks: dict[str, str] = field(default_factory=dict)
    children: dict[str, str] = field(default_factory=dict)
    timers: dict[str, TimerState] = field(default_factory=dict)
    signals: list[list[Any]] = field(default_factory=list)
    recent: list[str] = field(default_factory=list)
    seq: int = 0
    slot: str | None = None
    priority: str = "normal"

    def __post_init__(self) -> None:
        if type(self.scopes) is not Scopes:
            self.scopes = Scopes(self.scopes)

    @property
    def finished(self) -> bool:
        """True once the execution completed, failed, was cancelled or timed out."""
        return self.status in TERMINAL_STATUSES

    @property
    def last_command_id(self) -> str | None:
        """The id of the last command that changed this state."""
        return self.recent[-1] if self.recent else None

    def step(self, path: str) -> StepState | None:
        """The state of the step at ``path``, if it was reached."""
        scope, step_id = split_path(path)
        owner = self.scopes.get(scope)
        return owner.steps.get(step_id) if owner is not None else None

    def copy(self) -> State:
        """A copy that `evolve` may change without touching this one."""
        return State(
            self.execution_id, self.workflow_id, self.workflow_version, self.status,
            self.input, self.vars, self.started_at, self.trigger_type, self.triggered_by,
            self.trigger_event, self.parent_execution_id, self.parent_step, self.ended_at,
            self.output, self.error, self.failed_step, self.last_error,
            self.scopes.share(), dict(self.tasks),
            dict(self.children), dict(self.timers), list(self.signals), list(self.recent),
            self.seq, self.slot, self.priority,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (datetimes stay datetimes; orjson writes them as RFC 3339)."""
        out: dict[str, Any] = {}
        for name in _STATE_FIELDS:
            value = getattr(self, name)
            if value is None or (name in _STATE_EMPTY_OK and not value):
                continue
            out[name] = value
        out["scopes"] = {k: v.to_dict() for k, v in dict.items(self.scopes)}
        out["timers"] = {
            k: [t.fire_at, t.purpose, t.step] for k, t in self.timers.items()
        }
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> State:
        """Inverse of `to_dict` (accepts datetimes as RFC 3339 strings)."""
        values = dict(data)
        times: dict[str, datetime] = {}
        values["scopes"] = {k: ScopeState.from_dict(v, times) for k, v in data["scopes"].items()}
        values["timers"] = {
            k: TimerState(_dt(at, times), _same(purpose), step)  # type: ignore[arg-type]
            for k, (at, purpose, step) in data.get("timers", {}).items()
        }
        state = cls(**values)
        state.status, state.trigger_type = _same(state.status), _same(state.trigger_type)
        state.started_at = _dt(state.started_at, times)  # type: ignore[assignment]
        state.ended_at = _dt(state.ended_at, times)
        return state

    def to_bytes(self) -> bytes:
        """Serialise for a state store (compact JSON)."""
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_bytes(cls, data: bytes) -> State:
        """Inverse of `to_bytes`."""
        return cls.from_dict(orjson.loads(data))


_STATE_FIELDS = (
    "execution_id", "workflow_id", "workflow_version", "status", "input", "vars",
    "started_at", "trigger_type", "triggered_by", "trigger_event", "parent_execution_id",
    "parent_step", "ended_at", "output", "error", "failed_step", "last_error", "tasks",
    "children", "signals", "recent", "seq", "slot", "priority",
)
_STATE_EMPTY_OK = frozenset({"tasks", "children", "signals"})


# A decoded state holds one string object per status and one datetime per time; the
# same few words and the same few instants recur in every state, so they are shared.
_WORDS = {word: word for word in (
    *ACTIVE_STEP, *TERMINAL_STATUSES, "skipped", "waiting", "manual", "queued",
    "workflow_timeout", "step_timeout", "retry", "wait",
)}


def _same(word: str) -> str:
    return _WORDS.get(word, word)


def _dt(value: Any, times: dict[str, datetime]) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = times.get(value)
    if parsed is None:
        parsed = times[value] = datetime.fromisoformat(value)
    return parsed
