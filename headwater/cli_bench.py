"""`headwater bench NAME [ARGS]...`: run a benchmark of the source checkout (`bench/<name>.py`).

Without ``--json`` its output goes straight to the terminal. With ``--json`` the output is
captured and one JSON object comes out: the bench, its arguments, exit code, seconds, its
output lines, and the figures it wrote to the file named by ``HEADWATER_BENCH_FIGURES`` (which
benchmarks may do; ``bench/api.py`` does), or null.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.markup import escape

from headwater.bundled import bench_dir
from headwater.cli_ops import JsonOpt, err, out, print_json

__all__ = ["FIGURES_ENV", "bench", "bench_names"]


FIGURES_ENV = "HEADWATER_BENCH_FIGURES"


def bench_names() -> list[str]:
    """The benchmarks installed (``bench/<name>.py``, in a checkout or a wheel) that run on
    their own."""
    folder = bench_dir()
    if folder is None:
        return []
    return sorted(p.stem for p in folder.glob("*.py")
                  if not p.stem.startswith("_") and "__main__" in p.read_text(encoding="utf-8"))


def bench(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="which: api, e2e, rules, ... (none: list them)")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run benchmark NAME (`bench/<name>.py`); arguments after NAME go to it (`-- --help`)."""
    names = bench_names()
    if name is None:
        print_json({"benchmarks": names}) if as_json else out.print("\n".join(names))
        return
    if name not in names:
        err.print(f"[red]error:[/red] NAME: no benchmark {escape(name)!r}; there are: "
                  f"{', '.join(names) or 'none (is the bench package installed?)'}")
        raise typer.Exit(2)
    command = [sys.executable, "-m", f"bench.{name}", *ctx.args]
    if not as_json:
        raise typer.Exit(subprocess.run(command, cwd=_root(), check=False).returncode)
    print_json(_bench_json(name, command))


def _root() -> Path | None:
    """The folder holding the ``bench`` package (a checkout's root), so ``-m bench.X`` finds it."""
    folder = bench_dir()
    return folder.parent if folder is not None else None


def _bench_json(name: str, command: list[str]) -> dict[str, Any]:
    """Run with the output captured: its lines, exit code, time and any figures it wrote."""
    with tempfile.TemporaryDirectory(prefix="hw-bench-") as tmp:
        figures_file = Path(tmp) / "figures.json"
        began = time.perf_counter()
        done = subprocess.run(command, cwd=_root(), capture_output=True, text=True,
                              check=False, env={**os.environ, FIGURES_ENV: str(figures_file)})
        figures = orjson.loads(figures_file.read_bytes()) if figures_file.exists() else None
    return {"bench": name, "args": command[3:], "exit_code": done.returncode,
            "seconds": round(time.perf_counter() - began, 2), "figures": figures,
            "output": done.stdout.splitlines(), "errors": done.stderr.splitlines()[-20:]}
