"""Operations commands: `headwater executions …`, `headwater rules …`, `headwater produce`.

They talk to the HTTP API (``HEADWATER_API_URL``, default ``http://<api_host>:<api_port>``,
with ``HEADWATER_API_TOKEN`` as the bearer token when tokens are configured), except
`produce`, which writes demo trigger events straight to Kafka. Human output by default,
``--json`` for scripts.
"""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

import httpx
import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from headwater.settings import Settings

__all__ = ["JsonOpt", "err", "executions_app", "out", "print_json", "produce", "rules_app",
           "wait_finished", "workflows_app"]

executions_app = typer.Typer(no_args_is_help=True, help="List, inspect, follow and act on executions")
rules_app = typer.Typer(no_args_is_help=True, help="Rules and their statistics")
workflows_app = typer.Typer(no_args_is_help=True, help="Workflows and their versions")
out = Console()
err = Console(stderr=True)

JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output")]


def _client() -> httpx.Client:
    settings = Settings()
    url = settings.api_url or f"http://{settings.api_host}:{settings.api_port}"
    token = settings.api_token.get_secret_value() if settings.api_token else None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=url, headers=headers, timeout=30)


def _call(method: str, path: str, **kwargs: Any) -> Any:
    """One API call; an error answer or no answer ends the command with its message."""
    try:
        with _client() as client:
            response = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        err.print(f"[red]error:[/red] the API does not answer: {escape(str(exc))}")
        raise typer.Exit(2) from None
    if response.status_code >= 400:
        try:
            body = response.json()
            detail = body.get("detail", "")
            problems = "; ".join(f"{e['path']}: {e['message']}" for e in body.get("errors", []))
        except ValueError:
            detail, problems = response.text[:200], ""
        err.print(f"[red]error {response.status_code}:[/red] {escape(str(detail))}"
                  + (f" ({escape(problems)})" if problems else ""))
        raise typer.Exit(1)
    return response.json()


def _every(path: str, limit: int = 500, **params: Any) -> list[Any]:
    """Every item of a paginated list, following `next_cursor` (parameters left None are not
    sent)."""
    items: list[Any] = []
    cursor: str | None = None
    while True:
        query = {k: v for k, v in {**params, "cursor": cursor, "limit": limit}.items() if v}
        page = _call("GET", path, params=query)
        items += page["items"]
        if (cursor := page["next_cursor"]) is None:
            return items


_FINISHED = ("completed", "failed", "cancelled", "timed_out")


def wait_finished(execution_id: str, timeout_s: float) -> dict[str, Any] | None:
    """The execution's summary once it has finished (polling the API), None on timeout."""
    deadline = time.monotonic() + timeout_s
    with _client() as client:
        while time.monotonic() < deadline:
            try:
                response = client.get(f"/executions/{execution_id}")
            except httpx.HTTPError:
                response = None  # the API is starting: try again
            if response is not None and response.status_code == 200:
                summary: dict[str, Any] = response.json()["summary"]
                if summary["status"] in _FINISHED:
                    return summary
            time.sleep(0.2)
    return None


def print_json(value: Any) -> None:
    """Print ``value`` as (coloured, indented) JSON on stdout."""
    out.print_json(orjson.dumps(value).decode())


@executions_app.command("ls")
def executions_ls(
    workflow: Annotated[str | None, typer.Option("--workflow", "-w")] = None,
    status: Annotated[str | None, typer.Option("--status", "-s")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=500)] = 20,
    as_json: JsonOpt = False,
) -> None:
    """List executions, newest first."""
    params = {k: v for k, v in {"workflow_id": workflow, "status": status, "limit": limit}.items()
              if v is not None}
    page = _call("GET", "/executions", params=params)
    if as_json:
        print_json(page)
        return
    table = Table("execution", "workflow", "version", "status", "started", "duration")
    for x in page["items"]:
        duration = "" if x.get("duration_ms") is None else f"{x['duration_ms'] / 1000:.2f} s"
        table.add_row(x["execution_id"], x["workflow_id"], x["workflow_version"],
                      _status(x["status"]), x["started_at"][:19].replace("T", " "), duration)
    out.print(table)
    if page.get("next_cursor"):
        out.print(f"[dim]more: --limit {limit * 2}[/dim]")


def _status(status: str) -> str:
    colour = {"completed": "green", "failed": "red", "running": "cyan",
              "waiting": "blue"}.get(status, "yellow")
    return f"[{colour}]{status}[/{colour}]"


@executions_app.command("show")
def executions_show(execution_id: str, as_json: JsonOpt = False) -> None:
    """One execution: summary, steps with attempts and errors, and its timeline."""
    view = _call("GET", f"/executions/{execution_id}")
    while view.get("timeline_next") is not None:  # the API answers long timelines in pages
        more = _call("GET", f"/executions/{execution_id}",
                     params={"timeline_after": view["timeline_next"], "timeline_limit": 10_000})
        view |= {"timeline": view["timeline"] + more["timeline"],
                 "timeline_next": more["timeline_next"]}
    if as_json:
        print_json(view)
        return
    summary = view["summary"]
    out.print(f"[bold]{escape(execution_id)}[/bold] {escape(summary['workflow_id'])}"
              f"@{escape(summary['workflow_version'])} {_status(summary['status'])}")
    if summary.get("error"):
        out.print(f"  error: {escape(str(summary['error']))} at {summary.get('failed_step')}")
    steps = Table("step", "type", "status", "attempts", "last error")
    for path, step in view["detail"]["steps"].items():
        last = step["errors"][-1]["code"] if step["errors"] else ""
        steps.add_row(path, step["step_type"], _status(step["status"]), str(len(step["attempts"])), last)
    out.print(steps)
    for event in view["timeline"]:
        out.print(f"  {event['seq']:>4} {event['time'][:23]} {escape(event['type'])}", highlight=False)


@executions_app.command("tail")
def executions_tail(execution_id: str, as_json: JsonOpt = False) -> None:
    """Follow an execution's events live until it finishes."""
    try:
        with _client() as client, client.stream("GET", f"/executions/{execution_id}/events",
                                                timeout=None) as response:
            if response.status_code >= 400:
                response.read()
                err.print(f"[red]error {response.status_code}:[/red] {escape(response.text[:200])}")
                raise typer.Exit(1)
            _follow(response.iter_lines(), as_json)
    except httpx.HTTPError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None


def _follow(lines: Any, as_json: bool) -> None:
    kind = ""
    for line in lines:
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            data = orjson.loads(line[6:])
            if as_json:
                typer.echo(orjson.dumps({"event": kind, "data": data}).decode())
            elif kind == "end":
                out.print(f"finished: {_status(data['status'])}")
            else:
                step = data.get("step_id", "")
                out.print(f"{data['seq']:>4} {data['time'][:23]} {escape(kind)} {escape(step)}",
                          highlight=False)


def _act(action: str, execution_id: str | None, workflow: str | None, yes: bool,
         as_json: bool, body: dict[str, Any]) -> None:
    if execution_id is not None:
        result = _call("POST", f"/executions/{execution_id}/{action}", json=body)
        print_json(result) if as_json else out.print(f"{action} sent to {execution_id}")
        return
    if workflow is None:
        err.print("[red]error:[/red] give an EXECUTION_ID, or --workflow for every match")
        raise typer.Exit(2)
    result = _call("POST", "/executions/bulk", json={"action": action, "workflow_id": workflow,
                                                     "dry_run": not yes, **body})
    if as_json:
        print_json(result)
        return
    verb = "sent" if yes else "would be sent (dry run; --yes to act)"
    out.print(f"{action} {verb} to {len(result['matched'])} execution(s)")
    for execution in result["matched"]:
        out.print(f"  {execution}", highlight=False)


@executions_app.command("retry")
def executions_retry(
    execution_id: Annotated[str | None, typer.Argument(help="a failed execution")] = None,
    workflow: Annotated[str | None, typer.Option("--workflow", "-w", help="every failed one")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="act (bulk is a dry run otherwise)")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Resume failed executions from the step that failed."""
    _act("retry", execution_id, workflow, yes, as_json, {})


@executions_app.command("cancel")
def executions_cancel(
    execution_id: Annotated[str | None, typer.Argument(
        help="a running, waiting or queued execution")] = None,
    workflow: Annotated[str | None, typer.Option(
        "--workflow", "-w", help="every running, waiting or queued one")] = None,
    reason: Annotated[str, typer.Option(help="recorded on the cancellation")] = "",
    yes: Annotated[bool, typer.Option("--yes", help="act (bulk is a dry run otherwise)")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Cancel running executions."""
    _act("cancel", execution_id, workflow, yes, as_json, {"reason": reason})


@executions_app.command("signal")
def executions_signal(
    execution_id: Annotated[str, typer.Argument(help="a running, waiting or queued execution")],
    name: Annotated[str, typer.Argument(help="the signal a wait step waits for")],
    payload: Annotated[str, typer.Option("--payload", "-p", help="JSON payload")] = "null",
    as_json: JsonOpt = False,
) -> None:
    """Send a named signal (a queued execution keeps it until it runs)."""
    try:
        value = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        err.print(f"[red]error:[/red] --payload is not JSON: {escape(str(exc))}")
        raise typer.Exit(2) from None
    result = _call("POST", f"/executions/{execution_id}/signals/{name}", json={"payload": value})
    print_json(result) if as_json else out.print(f"signal {name} sent to {execution_id}")


@rules_app.command("ls")
def rules_ls(as_json: JsonOpt = False) -> None:
    """Every rule with its latest version, status and counts."""
    rules = _call("GET", "/definitions", params={"kind": "rule"})
    rows = []
    for rule in rules:
        stats = _call("GET", f"/rules/{rule['definition_id']}/stats")
        rows.append({"rule_id": rule["definition_id"], "latest": rule["latest"],
                     "active": rule["active"], "evaluations": stats["evaluations"],
                     "matched": stats["matched"], "failed": stats["failed"]})
    if as_json:
        print_json(rows)
        return
    table = Table("rule", "latest", "active", "evaluations", "matched", "failed")
    for row in rows:
        table.add_row(row["rule_id"], str(row["latest"]), "yes" if row["active"] else "no",
                      str(row["evaluations"]), str(row["matched"]), str(row["failed"]))
    out.print(table)


@workflows_app.command("ls")
def workflows_ls(
    status: Annotated[str | None, typer.Option(
        "--status", "-s", help="only those with a version in it: draft, active, paused, deprecated")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Every workflow with its latest version, status and versions."""
    items = _every("/workflows", status=status)
    if as_json:
        print_json(items)
        return
    table = Table("workflow", "name", "latest", "status", "active", "versions", "owner")
    for w in items:
        table.add_row(w["definition_id"], w["name"], str(w["latest"]), str(w["status"]),
                      "yes" if w["active"] else "no",
                      ", ".join(f"{v['version']} ({v['status']})" for v in w["versions"]),
                      w["owner"] or "")
    out.print(table)


@rules_app.command("stats")
def rules_stats(rule_id: str, as_json: JsonOpt = False) -> None:
    """One rule's evaluations, matches, failures and evaluation time."""
    stats = _call("GET", f"/rules/{rule_id}/stats")
    if as_json:
        print_json(stats)
        return
    rate = stats["success_rate"]
    timing = stats["evaluation_us"]
    out.print(f"[bold]{escape(rule_id)}[/bold]: {stats['evaluations']} evaluations, "
              f"{stats['matched']} matched, {stats['skipped']} skipped, {stats['failed']} failed"
              + ("" if rate is None else f", success {rate:.1%}"))
    if timing["count"]:
        out.print(f"  evaluation p50 {timing['p50']:.0f} µs, p95 {timing['p95']:.0f} µs, "
                  f"p99 {timing['p99']:.0f} µs")
    firings, actions, took = stats["firings"], stats["actions"], stats["action_ms"]
    if firings["fired"]:
        out.print(f"  fired {firings['fired']}: {firings['succeeded']} succeeded, "
                  f"{firings['failed']} failed, {firings['pending']} pending; actions "
                  f"{actions['succeeded']} succeeded, {actions['failed']} failed, "
                  f"{actions['pending']} pending")
    if took["count"]:
        out.print(f"  event to action end p50 {took['p50']:.0f} ms, p95 {took['p95']:.0f} ms, "
                  f"p99 {took['p99']:.0f} ms")
    for reason, n in stats["skip_reasons"].items():
        out.print(f"  skipped ({escape(reason)}): {n}")
    if stats["last_match"]:
        out.print(f"  last match: {escape(str(stats['last_match']))}")


def produce(
    count: Annotated[int, typer.Option("--count", "-n", min=1, help="events to send")] = 1000,
    rate: Annotated[float, typer.Option("--rate", "-r", min=0, help="events/s; 0: as fast as possible")] = 200,
    event_type: Annotated[str, typer.Option("--type", help="CloudEvents type")] = "order.placed",
    source: Annotated[str, typer.Option(help="CloudEvents source")] = "shop/demo",
    as_json: JsonOpt = False,
) -> None:
    """Send demo trigger events (orders) to hw.triggers at a steady rate, with progress.

    With `headwater up` (its demo stub included) every execution they start completes.
    """
    settings = Settings()
    if not settings.kafka_bootstrap:
        err.print("[red]error:[/red] set HEADWATER_KAFKA_BOOTSTRAP (the broker `headwater up` prints)")
        raise typer.Exit(2)
    sent, elapsed = asyncio.run(_produce(settings.kafka_bootstrap, settings.topic_prefix, count,
                                         rate, event_type, source, progress=not as_json,
                                         kafka_options=settings.kafka_client_options()))
    figures = {"sent": sent, "seconds": round(elapsed, 3), "rate": round(sent / elapsed, 1)}
    print_json(figures) if as_json else out.print(
        f"sent {sent} events in {elapsed:.2f} s ({figures['rate']} events/s)")


def demo_order(i: int, order: str) -> dict[str, Any]:
    """The ``i``-th demo order: what the example order workflows read (items, total,
    currency, customer). Totals stay under the big-order review's 5,000 so the demo starts no
    approval that waits days for a manager."""
    return {"order_id": order, "total": 10 + (i * 37) % 4900, "currency": "EUR",
            "items": [{"sku": f"sku-{i % 7}", "qty": 1 + i % 3}],
            "customer": {"tier": "standard" if i % 3 else "gold", "email": f"c{i % 50}@example.com"}}


async def _produce(bootstrap: str, prefix: str, count: int, rate: float, event_type: str,
                   source: str, progress: bool,
                   kafka_options: dict[str, Any] | None = None) -> tuple[int, float]:
    from datetime import UTC, datetime

    from aiokafka import AIOKafkaProducer

    from schemas.codec import Codec
    from schemas.triggers import TriggerEvent

    codec, topic = Codec(prefix=prefix), f"{prefix}triggers"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                                **(kafka_options or {}))
    await producer.start()
    started = time.perf_counter()
    bar = Progress(TextColumn("producing"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                   TextColumn("{task.fields[rate]} ev/s"), TimeRemainingColumn(), disable=not progress)
    try:
        with bar:
            task = bar.add_task("produce", total=count, rate="-")
            for i in range(count):
                order = f"order-{i}"
                event = TriggerEvent(id=f"demo-{int(started * 1000)}-{i}", source=source,
                                     type=event_type, subject=order, time=datetime.now(UTC),
                                     data=demo_order(i, order))
                await producer.send(topic, codec.encode_value(topic, event),
                                    key=codec.encode_key(topic, event.key))
                now = time.perf_counter() - started
                bar.update(task, completed=i + 1, rate=f"{(i + 1) / max(now, 1e-6):.0f}")
                if rate and (ahead := (i + 1) / rate - now) > 0:
                    await asyncio.sleep(ahead)
            await producer.flush()
    finally:
        await producer.stop()
    return count, time.perf_counter() - started

