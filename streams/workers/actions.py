"""The built-in actions: `http`, `publish`, `transform`, `log` and `delay`.

An action gets the task (its rendered `with` mapping is `task.params`) and returns the step's
output, or raises `TaskError` saying whether another attempt could help; the step's retry
policy then decides. Actions must be safe to run twice for one task: a task is redelivered
after a crash, which is why HTTP requests carry the task's `Idempotency-Key`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from schemas.definitions import parse_duration
from schemas.secrets import redact, substitute
from schemas.tasks import TaskRequested
from schemas.triggers import TriggerEvent
from streams.workers.guard import Blocked, UrlGuard, check_scheme
from streams.workers.secrets import MissingSecret, SecretStore, StepTemplates

__all__ = ["ACTIONS", "ActionContext", "TaskError", "run_action"]

log = logging.getLogger("headwater.workflow")

MAX_REDIRECTS = 5
MAX_DELAY_S = 300.0
"""A `delay` action holds a worker slot; longer pauses belong in a durable `wait` step."""
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_RETRYABLE_STATUS = frozenset({408, 425, 429})


class TaskError(Exception):
    """An attempt failed: `code` and `message` go into the `TaskFailed` command."""

    def __init__(self, code: str, message: str, *, retryable: bool = True,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.retryable = code, message, retryable
        self.details = details or {}


@dataclass(frozen=True)
class ActionContext:
    """What actions share: the HTTP client (`streams.workers.pinning.guarded_client`: every
    connection goes to an address the guard checked), the URL guard, a way to publish
    triggers, and the secrets HTTP steps may reference with where each step references them."""

    client: httpx.AsyncClient
    guard: UrlGuard
    publish: Callable[[TriggerEvent], Awaitable[None]]
    default_timeout_s: float = 30.0
    secrets: SecretStore = field(default_factory=SecretStore)
    templates: StepTemplates | None = None


def _params(task: TaskRequested) -> dict[str, Any]:
    if task.params is None:
        return {}
    if not isinstance(task.params, dict):
        raise TaskError("invalid_params", "`with` must be a mapping", retryable=False)
    return task.params


def _timeout(task: TaskRequested, params: dict[str, Any], default: float) -> float:
    value = params.get("timeout", default)
    seconds = float(parse_duration(value))
    if task.deadline is not None:
        seconds = min(seconds, (task.deadline - datetime.now(UTC)).total_seconds())
    if seconds <= 0:
        raise TaskError("timeout", "the step's deadline has passed")
    return seconds


async def http_action(task: TaskRequested, ctx: ActionContext) -> Any:
    """Send one HTTP request; the output is ``{"status", "headers", "body"}``.

    ``with``: ``url`` (required), ``method`` (GET, or POST when there is a ``body``),
    ``headers``, ``query``, ``body`` (sent as JSON), ``timeout`` (seconds or a duration).
    ``{{ secrets.NAME }}`` written in the step's ``with`` is put in here and nowhere else; a
    secret value the server echoes back is replaced by ``***`` in the output and errors.
    Redirects are followed (at most 5); credentials do not follow to another origin.
    """
    params, used = _with_secrets(task, ctx)
    try:
        return redact(await _request(task, params, ctx), used)
    except TaskError as exc:
        raise TaskError(exc.code, redact(exc.message, used), retryable=exc.retryable,
                        details=redact(exc.details, used)) from None


def _with_secrets(task: TaskRequested, ctx: ActionContext) -> tuple[dict[str, Any], set[str]]:
    params = _params(task)
    where = ctx.templates.references(task) if ctx.templates is not None else {}
    if not where:
        return params, set()
    try:
        resolved, used = substitute(params, where, ctx.secrets.__getitem__)
    except MissingSecret as exc:
        raise TaskError("secret_missing", str(exc), retryable=False) from None
    return resolved, used


async def _request(task: TaskRequested, params: dict[str, Any], ctx: ActionContext) -> Any:
    url = params.get("url")
    if not isinstance(url, str):
        raise TaskError("invalid_params", "`url` is required", retryable=False)
    body = params.get("body")
    method = str(params.get("method") or ("POST" if body is not None else "GET")).upper()
    headers = {str(k): str(v) for k, v in (params.get("headers") or {}).items()}
    headers.setdefault("Idempotency-Key", task.idempotency_key)
    timeout = _timeout(task, params, ctx.default_timeout_s)
    try:
        check_scheme(url)
        request = ctx.client.build_request(
            method, url, headers=headers, params=params.get("query"),
            json=body if body is not None else None, timeout=timeout)
        response = await asyncio.wait_for(_send(ctx, request), timeout)
    except Blocked as exc:
        raise TaskError("ssrf_blocked", str(exc), retryable=False) from None
    except (TimeoutError, httpx.TimeoutException):
        raise TaskError("timeout", f"no answer from {url} within {timeout:g}s") from None
    except httpx.HTTPError as exc:
        raise TaskError("connection_error", f"{type(exc).__name__}: {exc}") from None
    return _answer(response)


# Request headers that carry credentials: they go to the origin the author named, not to
# wherever that origin redirects (httpx's own rule, plus cookies and proxy credentials).
_CREDENTIALS = frozenset({"authorization", "proxy-authorization", "cookie"})
_BODY_HEADERS = frozenset({"content-length", "content-type", "transfer-encoding"})


async def _send(ctx: ActionContext, request: httpx.Request) -> httpx.Response:
    for _ in range(MAX_REDIRECTS + 1):
        response = await ctx.client.send(request, follow_redirects=False)
        if response.status_code not in _REDIRECTS or "location" not in response.headers:
            return response
        await response.aclose()
        request = _redirected(ctx, request, response)
    raise TaskError("too_many_redirects", f"more than {MAX_REDIRECTS} redirects", retryable=False)


def _redirected(ctx: ActionContext, request: httpx.Request,
                response: httpx.Response) -> httpx.Request:
    target = request.url.join(response.headers["location"])
    check_scheme(str(target))
    method = "GET" if response.status_code == 303 else request.method
    dropped = {"host"}
    if (target.scheme, target.host, target.port) != (request.url.scheme, request.url.host,
                                                      request.url.port):
        dropped |= _CREDENTIALS
    content = request.content if method != "GET" else None
    if content is None:
        dropped |= _BODY_HEADERS
    headers = {k: v for k, v in request.headers.items() if k.lower() not in dropped}
    return ctx.client.build_request(method, target, headers=headers, content=content,
                                    extensions=request.extensions)


def _answer(response: httpx.Response) -> dict[str, Any]:
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    output = {"status": response.status_code, "headers": dict(response.headers), "body": body}
    if response.status_code >= 400:
        retryable = response.status_code >= 500 or response.status_code in _RETRYABLE_STATUS
        raise TaskError(f"http_{response.status_code}", f"{response.reason_phrase}",
                        retryable=retryable, details=output)
    return output


async def publish_action(task: TaskRequested, ctx: ActionContext) -> Any:
    """Publish a trigger event; ``with``: ``event_type``, ``data``, ``subject``, ``source``.

    The event id is the task's idempotency key, so a redelivered task publishes an event
    that consumers recognise as the same one.
    """
    params = _params(task)
    event_type = params.get("event_type") or params.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise TaskError("invalid_params", "`event_type` is required", retryable=False)
    event = TriggerEvent(
        id=task.idempotency_key, type=event_type,
        source=str(params.get("source") or f"/headwater/workflows/{task.workflow_id}"),
        subject=params.get("subject") or task.execution_id, time=datetime.now(UTC),
        data=params.get("data"), datacontenttype="application/json")
    await ctx.publish(event)
    return {"event_id": event.id, "type": event.type}


async def transform_action(task: TaskRequested, ctx: ActionContext) -> Any:
    """The rendered `with` mapping itself: the expressions did the work."""
    return task.params


async def log_action(task: TaskRequested, ctx: ActionContext) -> Any:
    """Write ``with.message`` to the workflow log at ``with.level`` (default info)."""
    params = _params(task)
    level = logging.getLevelName(str(params.get("level", "info")).upper())
    message = str(params.get("message", ""))
    log.log(level if isinstance(level, int) else logging.INFO, "[%s %s] %s",
            task.execution_id, task.step_id, message)
    return {"message": message}


async def delay_action(task: TaskRequested, ctx: ActionContext) -> Any:
    """Pause ``with.duration`` (seconds or a duration, at most 5 minutes)."""
    value = _params(task).get("duration", 0)
    seconds = float(parse_duration(value))
    if not 0 <= seconds <= MAX_DELAY_S:
        raise TaskError("invalid_params", f"a delay is 0 to {MAX_DELAY_S:g}s; use a wait step",
                        retryable=False)
    await asyncio.sleep(seconds)
    return {"delayed": seconds}


Action = Callable[[TaskRequested, ActionContext], Awaitable[Any]]
ACTIONS: dict[str, Action] = {
    "http": http_action, "publish": publish_action, "transform": transform_action,
    "log": log_action, "delay": delay_action,
}
"""Built-in task type -> its action."""


async def run_action(task: TaskRequested, ctx: ActionContext) -> Any:
    """Run the built-in action of `task`.

    Raises:
        TaskError: The attempt failed (any unexpected error becomes one, not retryable).
    """
    action = ACTIONS[task.task_type]
    try:
        return await action(task, ctx)
    except TaskError:
        raise
    except Exception as exc:
        raise TaskError("action_error", f"{type(exc).__name__}: {exc}"[:1000],
                        retryable=False) from exc
