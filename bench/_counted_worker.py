"""`headwater worker` with its Kafka requests counted (`bench._counting`), for benchmarks.

The counters are served on 127.0.0.1:`HW_BENCH_COUNTERS_PORT`; everything else is the worker
exactly as users run it (`python -m headwater worker`, configured by `HEADWATER_*`), unless
`HW_BENCH_PATCH` names a file of experimental patches (its `apply()` runs first).

    HW_BENCH_COUNTERS_PORT=7001 .venv/bin/python -m bench._counted_worker
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bench import _counting

PORT_ENV = "HW_BENCH_COUNTERS_PORT"
PATCH_ENV = "HW_BENCH_PATCH"


def main() -> None:
    _counting.install(os.environ.get("HEADWATER_TOPIC_PREFIX", "hw."))
    _counting.serve(int(os.environ[PORT_ENV]))
    if os.environ.get(PATCH_ENV):
        # An experiment: a file whose `apply()` patches the worker before it starts (to
        # measure what a setting or a part costs without changing the engine).
        namespace: dict[str, object] = {}
        exec(compile(Path(os.environ[PATCH_ENV]).read_text(), os.environ[PATCH_ENV], "exec"),
             namespace)
        namespace["apply"]()  # type: ignore[operator]
    from headwater.cli import main as headwater

    sys.argv = ["headwater", "worker"]
    headwater()


if __name__ == "__main__":
    main()
