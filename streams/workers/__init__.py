"""Built-in task workers: HTTP (with an SSRF guard), publish, transform, log and delay."""

from streams.workers.actions import ACTIONS, ActionContext, TaskError, run_action
from streams.workers.guard import Blocked, UrlGuard
from streams.workers.runner import TaskWorker, answer

__all__ = [
    "ACTIONS",
    "ActionContext",
    "Blocked",
    "TaskError",
    "TaskWorker",
    "UrlGuard",
    "answer",
    "run_action",
]
