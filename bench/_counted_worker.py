"""`headwater worker` with its Kafka requests counted (`bench._counting`), for benchmarks.

The counters are served on 127.0.0.1:`HW_BENCH_COUNTERS_PORT`; everything else is the worker
exactly as users run it (`python -m headwater worker`, configured by `HEADWATER_*`).

    HW_BENCH_COUNTERS_PORT=7001 .venv/bin/python -m bench._counted_worker
"""

from __future__ import annotations

import os
import sys

from bench import _counting

PORT_ENV = "HW_BENCH_COUNTERS_PORT"


def main() -> None:
    _counting.install(os.environ.get("HEADWATER_TOPIC_PREFIX", "hw."))
    _counting.serve(int(os.environ[PORT_ENV]))
    from headwater.cli import main as headwater

    sys.argv = ["headwater", "worker"]
    headwater()


if __name__ == "__main__":
    main()
