"""`headwater test`: run a workflow with sample input and mocked steps, with no side effects.

WORKFLOW is a definition file (run here, through the pure state machine) or the id of a
published workflow (run by the API's ``POST /workflows/test``). Either way nothing is
published, no task reaches a worker and no timer waits.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape
from rich.table import Table

from headwater.cli_ops import _call, err, out, print_json

__all__ = ["test_workflow"]

MockOpt = Annotated[list[str], typer.Option(
    "--mock", "-m", help="STEP=JSON pins the step's output; STEP=error:CODE[:MESSAGE] fails it")]
SignalOpt = Annotated[list[str], typer.Option(
    "--signal", "-s", help="NAME=JSON: the payload a wait for that signal receives")]


def _fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {escape(message)}")
    return typer.Exit(2)


def _json(text: str, what: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise _fail(f"{what} is not JSON: {exc}") from None


def _pairs(values: list[str], what: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name:
            raise _fail(f"{what} {value!r}: write NAME=VALUE")
        pairs[name] = rest
    return pairs


def parse_mock(text: str) -> dict[str, Any]:
    """``error:CODE[:MESSAGE]`` is an error; JSON is an output; any other text a string output."""
    if text.startswith("error:"):
        code, _, message = text[len("error:"):].partition(":")
        if not code:
            raise _fail(f"mock {text!r}: give an error code, e.g. error:unavailable")
        return {"error": {"code": code, "message": message}}
    try:
        return {"output": orjson.loads(text)}
    except orjson.JSONDecodeError:
        return {"output": text}


def test_workflow(
    workflow: Annotated[str, typer.Argument(help="a definition file, or a published workflow's id")],
    input_json: Annotated[str, typer.Option("--input", "-i", help="input as a JSON object")] = "{}",
    mock: MockOpt = [],  # noqa: B006 - typer reads the default, never mutates it
    signal: SignalOpt = [],  # noqa: B006
    version: Annotated[str | None, typer.Option(help="version of a published workflow")] = None,
    max_steps: Annotated[int, typer.Option(min=1, max=10_000, help="most answers given")] = 1000,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Test-run WORKFLOW: print the path taken, each step's output, and the final output."""
    payload = _json(input_json, "--input")
    if not isinstance(payload, dict):
        raise _fail("--input must be a JSON object, e.g. '{\"id\": 7}'")
    mocks = {step: parse_mock(text) for step, text in _pairs(mock, "--mock").items()}
    signals = {name: _json(text, f"signal {name}") for name, text in _pairs(signal, "--signal").items()}
    request = {"input": payload, "mocks": mocks, "signals": signals, "max_steps": max_steps}
    path = Path(workflow)
    result = _local(path, request) if path.is_file() else _call(
        "POST", "/workflows/test", json={"workflow_id": workflow, "version": version, **request})
    if as_json:
        print_json(result)
    else:
        _print(result)
    if result["status"] != "completed":
        raise typer.Exit(1)


def _local(path: Path, request: dict[str, Any]) -> dict[str, Any]:
    """The run of a definition file, through the same request model as the API."""
    from projections.designer_api import TestRunIn, run_test
    from schemas.validation import DefinitionInvalid, parse_text

    try:
        definition = parse_text(path.read_bytes())
    except DefinitionInvalid as exc:
        raise _fail(f"{path}: {exc.report.errors[0].message}") from None
    if not isinstance(definition, dict):
        raise _fail(f"{path}: a definition is an object")
    body = TestRunIn.model_validate({"definition": definition, **request})
    result, errors = run_test(body, datetime.now(UTC))
    if result is None:
        err.print(f"[red]invalid[/red] {escape(str(path))}")
        for item in errors:
            err.print(escape(f"  error: {item.path} [{item.code}] {item.message}"), highlight=False)
        raise typer.Exit(1)
    return result.model_dump(mode="json")


def _print(result: dict[str, Any]) -> None:
    table = Table("step", "status", "attempts", "output / error", box=None)
    for step_id in result["path"]:
        step = result["steps"][step_id]
        shown = step["error"] if step["error"] else step["output"]
        mark = " (mocked)" if step["mocked"] else ""
        table.add_row(escape(step_id), escape(step["status"] + mark), str(step["attempts"]),
                      escape(orjson.dumps(shown).decode()[:100]))
    out.print(table)
    for note in result.get("notes", []):
        out.print(escape(f"note: {note}"), highlight=False)
    stopped = f" (stopped: {result['stopped']})" if result.get("stopped") else ""
    colour = "green" if result["status"] == "completed" else "red"
    out.print(f"[{colour}]{escape(result['status'])}[/{colour}]{escape(stopped)}")
    final = result["error"] if result["status"] == "failed" else result["output"]
    out.print(escape(orjson.dumps(final).decode()), highlight=False)
