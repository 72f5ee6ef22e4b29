"""`headwater rules test|insights|import`: try a rule on an event, read the analyser's
findings, bring rules in from durable_rules.

`rules test` with a file evaluates locally (the same `rules.trial` the API runs, no stack
needed); with a rule id it asks `POST /rules/test`, which knows the published versions, the
exclusive group and the limit state. `rules insights` reads `GET /rules/insights`.
`rules import` is local: it reads a durable_rules ruleset and writes headwater rules.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.tree import Tree

from headwater.cli_ops import JsonOpt, _call, _every, err, out, print_json

__all__ = ["rules_firings", "rules_import", "rules_insights", "rules_test"]


def _read_event(text: str) -> dict[str, Any]:
    """EVENT is a JSON file, `-` for stdin, or the JSON itself."""
    if text == "-":
        raw = sys.stdin.read()
    elif text.lstrip().startswith("{"):
        raw = text
    else:
        path = Path(text)
        if not path.is_file():
            err.print(f"[red]error:[/red] EVENT: no file {escape(text)} (give a file, - or JSON)")
            raise typer.Exit(2)
        raw = path.read_text()
    try:
        event = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        err.print(f"[red]error:[/red] EVENT is not JSON: {escape(str(exc))}")
        raise typer.Exit(2) from None
    if not isinstance(event, dict):
        err.print("[red]error:[/red] EVENT must be a JSON object (a CloudEvent)")
        raise typer.Exit(2)
    return event


def _local(path: Path, raw_event: dict[str, Any]) -> dict[str, Any]:
    from rules.trial import try_rule
    from schemas.definitions import RuleDefinition
    from schemas.triggers import TriggerEvent
    from schemas.validation import DefinitionInvalid, load_definition

    try:
        rule = load_definition(path)
    except DefinitionInvalid as exc:
        for p in exc.report.errors:
            err.print(escape(f"  error: {p.path} [{p.code}] {p.message}"), highlight=False)
        raise typer.Exit(1) from None
    if not isinstance(rule, RuleDefinition):
        err.print(f"[red]error:[/red] {escape(str(path))} is a workflow, not a rule")
        raise typer.Exit(2)
    try:
        event = TriggerEvent.model_validate(raw_event).model_dump(mode="json")
    except ValidationError as exc:
        err.print(f"[red]error:[/red] EVENT is not a CloudEvent: {escape(str(exc))}")
        raise typer.Exit(2) from None
    stamp = event.get("time")
    now = datetime.fromisoformat(stamp) if isinstance(stamp, str) else datetime.now(UTC)
    return try_rule(rule, event, now).as_json()


def rules_test(
    rule: Annotated[str, typer.Argument(help="a rule file (tried locally) or a published rule id")],
    event: Annotated[str, typer.Argument(help="a CloudEvent: JSON file, - for stdin, or JSON")],
    version: Annotated[str | None, typer.Option(help="with a rule id: this version")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Try RULE on EVENT without side effects: the condition tree, the rendered actions and
    the limit that would hold it back."""
    raw_event = _read_event(event)
    path = Path(rule)
    if path.is_file():
        result = _local(path, raw_event)
    else:
        body: dict[str, Any] = {"rule_id": rule, "event": raw_event}
        if version is not None:
            body["version"] = version
        result = _call("POST", "/rules/test", json=body)
    if as_json:
        print_json(result)
        return
    _print_trial(rule, result)


def _mark(ok: bool) -> str:
    return "[green]✓[/green]" if ok else "[red]✗[/red]"


def _label(node: dict[str, Any]) -> str:
    op, path = node["op"], node["path"]
    if op in ("$and", "$or"):
        text = op
    elif node["children"] and op.startswith("$") and op not in ("$iany", "$iall"):
        text = f"{op} {node['expected']}" if path is None else f"{op} {path}"
    else:
        found = "" if op in ("$item",) else f" (found {_short(node['actual'])})"
        target = "" if path is None else f"{path} "
        text = f"{target}{op} {_short(node['expected'])}{found}"
    return f"{_mark(node['result'])} {escape(text)}"


def _short(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= 60 else text[:57] + "..."


def _tree(node: dict[str, Any], into: Tree) -> None:
    branch = into.add(_label(node))
    for child in node["children"]:
        _tree(child, branch)


def _print_trial(rule: str, result: dict[str, Any]) -> None:
    verdict = "matches" if result["matched"] else "does not match"
    held = result["held_by"]
    if result["matched"] and held is None:
        verdict += " and fires"
    out.print(f"[bold]{escape(rule)}[/bold] {verdict}")
    out.print(f"  {_mark(result['trigger_matched'])} trigger (event type and source)")
    if result["conditions"] is not None:
        root = Tree("  conditions", guide_style="dim")
        _tree(result["conditions"], root)
        out.print(root)
    if held is not None:
        out.print(f"  [yellow]held by {escape(held['limit'])}[/yellow]: {escape(held['detail'])}")
    for action in result["actions"]:
        head = f"  action {action['index']} {action['type']}"
        if action["error"] is not None:
            out.print(f"{escape(head)}: [red]{escape(action['error']['message'])}[/red]")
        else:
            out.print(f"{escape(head)}: {escape(_short(action['rendered']))}", highlight=False)


def rules_insights(
    rule_id: Annotated[str | None, typer.Argument(help="only the findings of this rule")] = None,
    kind: Annotated[str | None, typer.Option(help="only this kind, e.g. shadowed")] = None,
    drafts: Annotated[Path | None, typer.Option(
        help="write each finding's drafts into this folder as JSON (publish with deploy)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """What to improve in the active rules: dead, duplicated, slow, held back or failing."""
    path = "/rules/insights" if rule_id is None else f"/rules/{rule_id}/insights"
    items = _every(path, kind=kind)
    if drafts is not None:
        drafts.mkdir(parents=True, exist_ok=True)
        for finding in items:
            for draft in finding["drafts"]:
                name = f"{draft['id']}@{draft['version']}.{finding['kind']}.json"
                (drafts / name).write_bytes(orjson.dumps(draft, option=orjson.OPT_INDENT_2))
    if as_json:
        print_json(items)
        return
    if not items:
        out.print("no findings")
    for finding in items:
        rules = ", ".join(finding["rules"])
        out.print(f"[bold]{escape(finding['kind'])}[/bold] {escape(rules)}")
        out.print(f"  {escape(finding['suggestion'])}")
        numbers = {k: v for k, v in finding["evidence"].items() if k != "conditions"}
        if numbers:
            out.print(f"  evidence: {escape(_short_long(numbers))}", highlight=False)
        if finding["drafts"]:
            out.print(f"  {len(finding['drafts'])} draft(s): "
                      + ", ".join(f"{d['id']}@{d['version']}" for d in finding["drafts"]))


def _short_long(value: Any) -> str:
    text = orjson.dumps(value).decode()
    return text if len(text) <= 300 else text[:297] + "..."


def rules_import(
    ruleset: Annotated[Path, typer.Argument(exists=True, help="a durable_rules ruleset (JSON)")],
    out_dir: Annotated[Path, typer.Option("--out", help="where to write the rules (YAML)")] = Path(
        "imported-rules"),
    event_type: Annotated[str | None, typer.Option(
        help="the trigger's event type (default: the ruleset's name)")] = None,
    prefix: Annotated[str, typer.Option(
        help="where the facts' fields live in a headwater event")] = "data.",
    workflow: Annotated[str | None, typer.Option(
        help="the workflow every rule starts (default: one named after the rule)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Convert a durable_rules ruleset into headwater rules; report what cannot be carried
    (joins, $s, arithmetic) and where the meaning changes. Exit 1 if a rule was left out."""
    import yaml

    from rules.durable_import import import_ruleset

    try:
        data = orjson.loads(ruleset.read_bytes())
    except orjson.JSONDecodeError as exc:
        err.print(f"[red]error:[/red] {escape(str(ruleset))} is not JSON: {escape(str(exc))}")
        raise typer.Exit(2) from None
    imported = import_ruleset(data, event_type=event_type, prefix=prefix, workflow=workflow)
    written = []
    for item in imported:
        if item.rule is not None:
            out_dir.mkdir(parents=True, exist_ok=True)
            target = out_dir / f"{item.rule['id']}.yaml"
            target.write_text(yaml.safe_dump(item.rule, sort_keys=False, allow_unicode=True))
            written.append(str(target))
    report: list[dict[str, Any]] = [{"ruleset": i.ruleset, "rule": i.name,
               "written": str(out_dir / f"{i.rule['id']}.yaml") if i.rule else None,
               "problems": list(i.problems), "warnings": list(i.warnings)} for i in imported]
    if as_json:
        print_json(report)
    else:
        for row in report:
            where = f"{row['ruleset']}/{row['rule']}"
            if row["written"]:
                out.print(f"[green]imported[/green] {escape(where)} -> {escape(row['written'])}")
            else:
                out.print(f"[red]not imported[/red] {escape(where)}")
            for problem in row["problems"]:
                out.print(f"  cannot carry: {escape(problem)}", highlight=False)
            for warning in row["warnings"]:
                out.print(f"  [yellow]meaning changes:[/yellow] {escape(warning)}",
                          highlight=False)
    if any(i.rule is None for i in imported):
        raise typer.Exit(1)


def rules_firings(
    rule_id: str,
    result: Annotated[str | None, typer.Option(
        "--result", "-r", help="only firings that ended so: succeeded, failed or pending")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=500,
                                       help="firings to show, newest first")] = 20,
    cursor: Annotated[str | None, typer.Option(help="a next_cursor of an earlier page")] = None,
    as_json: JsonOpt = False,
) -> None:
    """A rule's firings, newest first: the event, and how each action ended."""
    params = {k: v for k, v in {"result": result, "limit": limit, "cursor": cursor}.items()
              if v is not None}
    page = _call("GET", f"/rules/{rule_id}/firings", params=params)
    if as_json:
        print_json(page)
        return
    for firing in page["items"]:
        out.print(f"[bold]{escape(firing['evaluated_at'])}[/bold] event "
                  f"{escape(firing['event_id'])} ({escape(firing['event_type'])}): "
                  f"{firing['result']}")
        for action in firing["actions"]:
            took = "" if action["duration_ms"] is None else f" after {action['duration_ms']:.0f} ms"
            http = "" if action["http_status"] is None else f" HTTP {action['http_status']}"
            why = f" {action['code']}: {action['message']}" if action["code"] else ""
            out.print(f"  {action['index']} {action['action_type']} {escape(action['ref'] or '')}"
                      f": {action['status']}{http}{took}{escape(why)}")
    if page["next_cursor"]:
        out.print(f"more: --cursor '{escape(page['next_cursor'])}'")
