"""The fuzzed API, served in a process of its own: ``python -m tests.projections.fuzz_server``.

Why a process: CPython 3.11 shares one AST recursion counter between threads, so two threads
compiling modules at once (uvicorn's thread importing lazily while schemathesis or pytest's
assertion rewriter compiles in the test's thread) can fail with ``SystemError: AST constructor
recursion depth mismatch``. It happened on a loaded machine, where the two overlap more. In
its own interpreter the server cannot compile in the test process's threads at all.

Arguments: ``<bootstrap> <topics as JSON: role -> name> <port>``. Serves until terminated.
"""

from __future__ import annotations

import sys

import orjson
import uvicorn

from tests.projections.apikit import make_api, owned
from tests.projections.histories import Execution, matched


def main(argv: list[str]) -> None:
    """Serve the API over a few executions and definitions on ``127.0.0.1:<port>``."""
    bootstrap, topics, port = argv[0], orjson.loads(argv[1]), int(argv[2])
    events = [owned("workflow", "wf"), owned("rule", "r1"), matched("r1", "e1"),
              *Execution("x1").started().step_ok("a").completed().events,
              *Execution("x2").started().step_failed("b").failed("b").events]
    api = make_api(bootstrap, topics, events, project=True)
    uvicorn.run(api, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main(sys.argv[1:])
