"""`headwater workflows history|diff|comment`: who published each version and why, what
changed between two versions, and comments, through the API."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from headwater.cli_ops import JsonOpt, _call, _every, out, print_json, workflows_app

__all__ = ["workflows_comment", "workflows_diff", "workflows_history"]


@workflows_app.command("history")
def workflows_history(workflow_id: str, as_json: JsonOpt = False) -> None:
    """Versions published (by whom, why), status changes and comments, oldest first."""
    items = _every(f"/definitions/workflow/{workflow_id}/history")
    if as_json:
        print_json(items)
        return
    table = Table("time", "event", "version", "by", "status", "why / comment")
    for e in items:
        table.add_row(e["at"][:19].replace("T", " "), e["event"], e["version"] or "",
                      e["by"] or "", e["status"] or "", escape(e["text"]))
    out.print(table)


@workflows_app.command("diff")
def workflows_diff(workflow_id: str, from_version: str, to_version: str,
                   as_json: JsonOpt = False) -> None:
    """What changed from one published version to another."""
    diff = _call("GET", f"/definitions/workflow/{workflow_id}/diff",
                 params={"from": from_version, "to": to_version})
    if as_json:
        print_json(diff)
        return
    marks = {"added": "[green]+[/green]", "removed": "[red]-[/red]", "changed": "[yellow]~[/yellow]",
             "reordered": "[cyan]↕[/cyan]"}
    for c in diff["changes"]:
        before = "" if c["op"] == "added" else f" {c['before']!r}"
        after = "" if c["op"] == "removed" else f" {c['after']!r}"
        arrow = " →" if c["op"] in ("changed", "reordered") else ""
        out.print(f"{marks[c['op']]} {escape(c['path'])}:{escape(before)}{arrow}{escape(after)}",
                  highlight=False)
    if not diff["changes"]:
        out.print("no changes")


@workflows_app.command("comment")
def workflows_comment(
    workflow_id: str, text: str,
    version: Annotated[str | None, typer.Option(help="on this version only")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Comment on a workflow (or one version); it shows in its history."""
    result = _call("POST", f"/definitions/workflow/{workflow_id}/comments",
                   json={"text": text, "version": version})
    print_json(result) if as_json else out.print(f"commented on {workflow_id}")
