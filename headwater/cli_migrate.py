"""`headwater executions migrate`: move running executions to another version, through the
API's `POST /executions/migrate` (a dry run unless `--yes`), page after page."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from headwater.cli_ops import JsonOpt, _call, err, executions_app, out, print_json

__all__ = ["executions_migrate"]


def _mapping(pairs: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for pair in pairs:
        old, sep, new = pair.partition("=")
        if not sep or not old or not new:
            err.print(f"[red]error:[/red] --map {escape(pair)!r}: write FROM_STEP=TO_STEP")
            raise typer.Exit(2)
        mapping[old] = new
    return mapping


@executions_app.command("migrate")
def executions_migrate(
    workflow_id: Annotated[str, typer.Argument(help="the workflow whose executions move")],
    to_version: Annotated[str, typer.Option("--to", help="the exact target version")],
    maps: Annotated[list[str] | None, typer.Option(
        "--map", "-m", help="FROM_STEP=TO_STEP (repeatable); other steps keep their id")] = None,
    ids: Annotated[list[str] | None, typer.Option(
        "--id", help="an execution to move (repeatable); default: every one the filter finds")] = None,
    from_version: Annotated[str | None, typer.Option("--from", help="only those on it")] = None,
    status: Annotated[str | None, typer.Option(help="running, waiting or queued")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="migrate (a dry run otherwise)")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Move running, waiting or queued executions to another version, with a step mapping.

    Exits 1 when any execution was refused (each with its reasons).
    """
    body: dict[str, Any] = {"workflow_id": workflow_id, "to_version": to_version,
                            "mapping": _mapping(maps or []), "dry_run": not yes, "limit": 500}
    if ids:
        body["execution_ids"] = ids
    if from_version is not None:
        body["from_version"] = from_version
    if status is not None:
        body["status"] = status
    items: list[dict[str, Any]] = []
    while True:
        page = _call("POST", "/executions/migrate", json=body)
        items += page["items"]
        if page["next_cursor"] is None:
            break
        body["cursor"] = page["next_cursor"]
    refused = [i for i in items if not i["migratable"]]
    if as_json:
        print_json({"dry_run": not yes, "to_version": to_version, "items": items})
    else:
        _show(items, yes, to_version)
    if refused:
        raise typer.Exit(1)


def _show(items: list[dict[str, Any]], yes: bool, to_version: str) -> None:
    table = Table("execution", "from", "status", "outcome", "why not")
    for item in items:
        outcome = ("sent" if item["sent"] else "would migrate") if item["migratable"] else "refused"
        why = "; ".join(f"{p['code']}: {p['message']}" for p in item["problems"])
        table.add_row(item["execution_id"], item["from_version"] or "", item["status"] or "",
                      outcome, escape(why))
    out.print(table)
    moved = sum(i["migratable"] for i in items)
    verb = "migrating" if yes else "would migrate"
    out.print(f"{verb} {moved} of {len(items)} execution(s) to {to_version}"
              + ("" if yes else " (dry run: --yes to migrate)"))
