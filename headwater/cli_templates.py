"""`headwater templates …`: list, search, save, instantiate and delete workflow templates
through the API (bundled examples and user templates alike)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from headwater.cli_ops import JsonOpt, _call, _every, err, out, print_json

__all__ = ["templates_app"]

templates_app = typer.Typer(no_args_is_help=True,
                            help="Workflow templates: the bundled examples and your own")

ParamOpt = Annotated[list[str] | None, typer.Option(
    "--param", "-p", help="NAME=VALUE (VALUE as JSON when it parses, else text); repeatable")]


@templates_app.command("ls")
def templates_ls(
    category: Annotated[str | None, typer.Option("--category", "-c")] = None,
    tag: Annotated[str | None, typer.Option("--tag", "-t")] = None,
    query: Annotated[str | None, typer.Option("--search", "-q", help="words to look for")] = None,
    source: Annotated[str | None, typer.Option(help="bundled or user")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List templates by id, filtered by category, tag and words."""
    items = _every("/templates", limit=200, category=category, tag=tag, q=query,
                   source=source)
    if as_json:
        print_json(items)
        return
    table = Table("template", "name", "category", "tags", "parameters", "source")
    for t in items:
        table.add_row(t["template_id"], t["name"], t["category"] or "", ", ".join(t["tags"]),
                      ", ".join(p["name"] for p in t["parameters"]), t["source"])
    out.print(table)


@templates_app.command("show")
def templates_show(template_id: str, as_json: JsonOpt = False) -> None:
    """One template: its parameters and definition."""
    template = _call("GET", f"/templates/{template_id}")
    if as_json:
        print_json(template)
        return
    out.print(f"[bold]{escape(template['template_id'])}[/bold] ({template['source']}): "
              f"{escape(template['name'])}")
    for p in template["parameters"]:
        need = "required" if p["required"] else f"default {p['default']!r}"
        out.print(f"  {{{{ params.{p['name']} }}}} {p['type']}, {need}: {escape(p['description'])}",
                  highlight=False)
    print_json(template["definition"])


@templates_app.command("save")
def templates_save(
    template_id: str,
    file: Annotated[Path | None, typer.Option(
        "--file", "-f", exists=True, help="a template: YAML/JSON with name, parameters, definition")] = None,
    workflow: Annotated[str | None, typer.Option("--from-workflow", "-w",
                                                 help="copy a published workflow")] = None,
    version: Annotated[str | None, typer.Option(help="its version (default: the latest)")] = None,
    name: Annotated[str | None, typer.Option()] = None,
    category: Annotated[str | None, typer.Option("--category", "-c")] = None,
    tags: Annotated[list[str] | None, typer.Option("--tag", "-t")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Save a template from a file, or a published workflow as a template."""
    from schemas.validation import parse_text

    body: dict[str, Any] = {}
    if file is not None:
        try:
            body = dict(parse_text(file.read_bytes()))
        except ValueError as exc:
            err.print(f"[red]error:[/red] {escape(str(file))}: {escape(str(exc))}")
            raise typer.Exit(2) from None
    if workflow is not None:
        body["from_workflow"] = {"workflow_id": workflow, "version": version}
    if file is None and workflow is None:
        err.print("[red]error:[/red] give --file or --from-workflow")
        raise typer.Exit(2)
    overrides = {"name": name or body.get("name") or workflow or template_id,
                 "category": category, "tags": tags}
    body |= {"template_id": template_id} | {k: v for k, v in overrides.items() if v}
    result = _call("POST", "/templates", json=body)
    print_json(result) if as_json else out.print(f"saved template {template_id}")


def _values(pairs: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep:
            err.print(f"[red]error:[/red] --param {escape(pair)}: write NAME=VALUE")
            raise typer.Exit(2)
        try:
            values[name] = orjson.loads(text)
        except orjson.JSONDecodeError:
            values[name] = text
    return values


@templates_app.command("use")
def templates_use(
    template_id: str,
    params: ParamOpt = None,
    workflow_id: Annotated[str | None, typer.Option("--id", help="the new workflow's id")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write it to this file")] = None,
    deploy: Annotated[bool, typer.Option("--deploy", help="publish it at once")] = False,
) -> None:
    """Instantiate a template with parameters: print (or write, or publish) the workflow."""
    made = _call("POST", f"/templates/{template_id}/instantiate",
                 json={"parameters": _values(params or []), "workflow_id": workflow_id})
    definition = made["definition"]
    if output is not None:
        output.write_bytes(orjson.dumps(definition, option=orjson.OPT_INDENT_2) + b"\n")
        out.print(f"wrote {escape(str(output))}")
    if deploy:
        published = _call("POST", "/definitions", json=definition,
                          params={"reason": f"from template {template_id}"})
        out.print(f"[green]published[/green] {escape(published['key'])}")
    if output is None and not deploy:
        print_json(definition)


@templates_app.command("rm")
def templates_rm(template_id: str) -> None:
    """Delete one of your templates."""
    _call("DELETE", f"/templates/{template_id}")
    out.print(f"deleted template {template_id}")
