"""Operator commands over the API: `headwater dead-letters …` and `headwater views …`.

Like `headwater executions`, they call the HTTP API (``HEADWATER_API_URL``,
``HEADWATER_API_TOKEN``); ``--json`` prints what the API answered.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from headwater.cli_ops import JsonOpt, _call, err, out, print_json

__all__ = ["dead_letters_app", "views_app"]

dead_letters_app = typer.Typer(no_args_is_help=True,
                               help="Records the engine refused: list, inspect, send back")
views_app = typer.Typer(no_args_is_help=True, help="The API's views: rebuild from the log")


@dead_letters_app.command("ls")
def dead_letters_ls(
    topic: Annotated[str | None, typer.Option("--topic", "-t", help="e.g. triggers or hw.triggers")] = None,
    reason: Annotated[str | None, typer.Option("--reason", "-r")] = None,
    since: Annotated[str | None, typer.Option(help="ISO time, e.g. 2026-01-01T00:00:00Z")] = None,
    until: Annotated[str | None, typer.Option(help="ISO time")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=500)] = 20,
    as_json: JsonOpt = False,
) -> None:
    """List dead letters, newest first."""
    params = {k: v for k, v in {"topic": topic, "reason": reason, "since": since,
                                "until": until, "limit": limit}.items() if v is not None}
    page = _call("GET", "/dead-letters", params=params)
    if as_json:
        print_json(page)
        return
    table = Table("id", "time", "reason", "consumer", "key", "redriven")
    for x in page["items"]:
        table.add_row(x["id"], x["time"][:19].replace("T", " "), x["reason"], x["consumer"],
                      escape(str(x["key"] or "")), (x["redriven_at"] or "")[:19])
    out.print(table)
    if page.get("next_cursor"):
        out.print("[dim]more: narrow with --since/--until or raise --limit[/dim]")


@dead_letters_app.command("show")
def dead_letters_show(letter_id: str, as_json: JsonOpt = False) -> None:
    """One dead letter: why it was refused and its record, decoded where possible."""
    letter = _call("GET", f"/dead-letters/{letter_id}")
    if as_json:
        print_json(letter)
        return
    out.print(f"[bold]{escape(letter['id'])}[/bold] refused by {escape(letter['consumer'])} "
              f"at {letter['time']}: [red]{escape(letter['reason'])}[/red]")
    out.print(f"  {escape(letter['message'])}", highlight=False)
    for name, value in letter["details"].items():
        out.print(f"  {escape(name)}: {escape(str(value))}", highlight=False)
    if letter["redriven_at"]:
        out.print(f"  redriven at {letter['redriven_at']} by {letter['redriven_by']}")
    out.print(f"  key: {escape(str(letter['key']))}  decoded as: {letter['decoded_as']}")
    if letter["decoded"] is not None:
        print_json(letter["decoded"])


@dead_letters_app.command("redrive")
def dead_letters_redrive(
    ids: Annotated[list[str] | None, typer.Argument(help="dead letter ids (or use a filter)")] = None,
    topic: Annotated[str | None, typer.Option("--topic", "-t")] = None,
    reason: Annotated[str | None, typer.Option("--reason", "-r")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=1000)] = 100,
    yes: Annotated[bool, typer.Option("--yes", help="send (a filter is a dry run otherwise)")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Send dead letters back to their topic after a fix; each is sent once."""
    if not ids and topic is None and reason is None:
        err.print("[red]error:[/red] give dead letter ids, or --topic/--reason to match")
        raise typer.Exit(2)
    body: dict[str, Any] = ({"ids": ids} if ids else
                            {"topic": topic, "reason": reason, "limit": limit, "dry_run": not yes})
    result = _call("POST", "/dead-letters/redrive", json=body)
    if as_json:
        print_json(result)
        return
    for item in result["items"]:
        out.print(f"  {escape(item['id'])}: {item['outcome']}", highlight=False)
    verb = "would be sent (dry run; --yes to send)" if result["dry_run"] else "sent"
    count = sum(i["outcome"] in ("sent", "would_send") for i in result["items"])
    out.print(f"{count} {verb}")


@views_app.command("rebuild")
def views_rebuild(
    name: Annotated[str | None, typer.Argument(help="one view; all of them by default")] = None,
    wait: Annotated[bool, typer.Option(help="follow the progress until it is done")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Fold the log again from offset zero into the views (all, or NAME), showing progress."""
    status = _call("POST", "/admin/views/rebuild", json={"view": name})
    while wait and status["state"] == "running":
        if not as_json:
            out.print(f"  {status['applied']}/{status['total']} records folded", highlight=False)
        time.sleep(1.0)
        status = _call("GET", "/admin/views/rebuild")
    if as_json:
        print_json(status)
    elif status["state"] == "failed":
        err.print(f"[red]error:[/red] rebuild failed: {escape(str(status['error']))}")
        raise typer.Exit(1)
    else:
        out.print(f"rebuild of {', '.join(status['views'])}: {status['state']} "
                  f"({status['applied']}/{status['total']} records)")
