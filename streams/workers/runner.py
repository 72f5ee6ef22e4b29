"""The built-in task worker: runs `hw.tasks` records of the built-in types, answers on
`hw.commands`.

A handler on the partition loop (`streams.runtime.loop`). Actions that never wait (`transform`,
`log`) run inline and are answered in the same cycle. I/O actions (`http`, `delay`, `publish`)
run as asyncio tasks, at most `concurrency` at once per worker and `per_host` per HTTP host,
and are answered in the first `tick` after they finish: a slow call holds no other task, and
the next records are taken meanwhile. The loop commits a partition's offsets only up to its
oldest task still running (`holding`), so commits stay in offset order and a crash reruns
exactly the tasks not yet answered; answers carry ids derived from the task id, so the
execution applies one answer per task, and HTTP requests carry the task's idempotency key.

An answer larger than `hw.commands` takes is not produced: the step fails with
`output_too_large` (naming the size and the limit), so its retry and error paths apply and the
action is not run again because its answer could not be sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from schemas.codec import Codec, EncodeError
from schemas.commands import CommandBase, ErrorInfo, TaskCompleted, TaskFailed
from schemas.tasks import TaskRequested
from streams.runtime import Checkpoint, Clock, Out, Record, Replay, TooLarge, decode_record
from streams.workers.actions import ACTIONS, ActionContext, TaskError, run_action

__all__ = ["TaskWorker", "answer"]

log = logging.getLogger(__name__)
_INLINE = frozenset({"transform", "log"})
"""Built-in actions that return without waiting on anything."""


def answer(task: TaskRequested, outcome: Any, now: datetime) -> CommandBase:
    """The command answering `task`: completed with an output, or failed with a `TaskError`."""
    if isinstance(outcome, TaskError):
        error = ErrorInfo(code=outcome.code, message=outcome.message,
                          retryable=outcome.retryable, details=outcome.details)
        return TaskFailed(command_id=f"{task.task_id}:failed", execution_id=task.execution_id,
                          time=now, task_id=task.task_id, error=error)
    return TaskCompleted(command_id=f"{task.task_id}:completed", execution_id=task.execution_id,
                         time=now, task_id=task.task_id, output=outcome)


class TaskWorker:
    """The handler of `hw.tasks` for the built-in actions.

    Args:
        topics: Topic role -> topic name.
        codec: The codec for every topic.
        context: What the actions share (HTTP client, URL guard, publisher).
        clock: The wall clock (deadlines, answer times).
        concurrency: I/O actions running at once in this worker (intake pauses while ten times
            as many are started and not yet answered).
        per_host: HTTP actions running at once against one host.
    """

    name = "task-worker"

    def __init__(self, topics: dict[str, str], codec: Codec, context: ActionContext,
                 clock: Clock, concurrency: int = 200, per_host: int = 50) -> None:
        self._topics, self._codec, self._context, self._clock = topics, codec, context, clock
        self._slots = asyncio.Semaphore(concurrency)
        self._backlog = 10 * concurrency
        self._per_host = per_host
        self._hosts: dict[str, asyncio.Semaphore] = {}
        # partition -> offset -> (task, its run), in offset order (dicts keep insertion order)
        self._running: dict[int, dict[int, tuple[TaskRequested, asyncio.Task[Any]]]] = {}

    async def assigned(self, partition: int, committed: int) -> Replay | None:
        return None  # no state: an unanswered task is simply run again

    def replay(self, record: Record) -> None:
        raise AssertionError("the task worker replays nothing")

    def replayed(self, partition: int, position: int) -> None:
        pass

    def revoked(self, partition: int) -> None:
        # Its tasks still running are answered when they finish (the answers are idempotent);
        # the new owner runs them again only if it gets there first.
        pass

    def holding(self, partition: int) -> int | None:
        running = self._running.get(partition)
        return next(iter(running)) if running else None

    def store(self, checkpoints: Mapping[int, Checkpoint]) -> None:
        pass  # nothing is kept: the commit alone records progress

    async def close(self) -> None:
        """Stop the tasks still running (not committed: they run again, answered alike)."""
        runs = [run for running in self._running.values() for _, run in running.values()]
        for run in runs:
            run.cancel()
        await asyncio.gather(*runs, return_exceptions=True)
        self._running.clear()

    async def process(self, record: Record, out: Out) -> None:
        """Run an inline task and stage its answer, or start an I/O task."""
        task = decode_record(self._codec, record)
        assert isinstance(task, TaskRequested)
        if task.task_type not in ACTIONS:
            return  # an external worker's
        if task.deadline is not None and task.deadline <= out.now:
            log.info("task %s is past its deadline; the engine has timed it out", task.task_id)
            return
        if task.task_type in _INLINE:
            self._answer(out, task, await _attempt(task, self._context), out.now)
            return
        run = asyncio.create_task(self._io(task), name=f"task {task.task_id}")
        self._running.setdefault(record.partition, {})[record.offset] = (task, run)

    async def tick(self, now: datetime, out: Out) -> None:
        """Stage the answers of the I/O tasks that finished; take no more tasks while too many
        wait for a slot (they would only pile up in memory)."""
        waiting = 0
        for running in self._running.values():
            done = [offset for offset, (_, run) in running.items() if run.done()]
            for offset in done:
                task, run = running.pop(offset)
                self._answer(out, task, run.result(), now)
            waiting += len(running)
        out.pause_intake(waiting > self._backlog)

    async def _io(self, task: TaskRequested) -> Any:
        host = _host(task) if task.task_type == "http" else None
        async with self._slots:
            if host is None:
                return await _attempt(task, self._context)
            limit = self._hosts.get(host)
            if limit is None:
                limit = self._hosts[host] = asyncio.Semaphore(self._per_host)
            async with limit:
                return await _attempt(task, self._context)

    def _answer(self, out: Out, task: TaskRequested, outcome: Any, now: datetime) -> None:
        """Stage the answer; one that cannot be encoded or is too large fails the step."""
        topic = self._topics["commands"]
        key = self._codec.encode_key(topic, task.execution_id)
        try:
            value = self._codec.encode_value(topic, answer(task, outcome, now))
            out.put(topic, key, value)
        except EncodeError as exc:
            failure = TaskError("unencodable_output", str(exc)[:1000], retryable=False)
            out.put(topic, key, self._codec.encode_value(topic, answer(task, failure, now)))
        except TooLarge as exc:
            failure = TaskError("output_too_large", f"the step's answer is {exc.size} bytes, "
                                f"over the limit of {exc.limit} bytes", retryable=False,
                                details={"size": exc.size, "limit": exc.limit})
            out.put(topic, key, self._codec.encode_value(topic, answer(task, failure, now)))
        except Exception as exc:  # the action ran: answer it, whatever its output was
            log.exception("task %s: its answer cannot be produced", task.task_id)
            failure = TaskError("unanswerable_output", f"{type(exc).__name__}: {exc}"[:1000],
                                retryable=False)
            out.put(topic, key, self._codec.encode_value(topic, answer(task, failure, now)))


async def _attempt(task: TaskRequested, context: ActionContext) -> Any:
    """The action's output, or the `TaskError` it failed with."""
    try:
        return await run_action(task, context)
    except TaskError as exc:
        return exc


def _host(task: TaskRequested) -> str | None:
    url = task.params.get("url") if isinstance(task.params, dict) else None
    return urlsplit(url).hostname if isinstance(url, str) else None
