"""A partition loop in a process of its own, for the crash-loop test (`test_crash_loop`): an
`Echo` handler over the tasks topic that appends each offset it processed to a file, with the
crash quarantine on and ``HEADWATER_FAULT_CRASH_ON`` read from the environment. SIGTERM stops it
cleanly. Usage: ``python -m tests.streams.runtime.crash_child '<json arguments>'``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from schemas.codec import Codec
from streams.runtime import (
    DeadLetters,
    LoopConfig,
    Out,
    PartitionLoop,
    Quarantine,
    TopicTable,
    parse_crash_on,
)
from tests.streams.kit import prefix_of
from tests.streams.runtime.test_loop import Echo


class Logged(Echo):
    """An `Echo` that appends each processed offset to `path` (it outlives the process)."""

    def __init__(self, target: str, path: Path) -> None:
        super().__init__(target)
        self.path = path

    async def process(self, record: Any, out: Out) -> None:
        await super().process(record, out)
        with self.path.open("a") as log:
            log.write(f"{record.offset}\n")


async def main(bootstrap: str, topics: dict[str, str], data_dir: Path) -> None:
    config = LoopConfig()
    producer = AIOKafkaProducer(**config.producer(bootstrap))
    await producer.start()
    table = await TopicTable.read(bootstrap, topics.values(), config.max_request_size)
    loop = PartitionLoop(Logged(topics["triggers"], data_dir / "processed"), bootstrap=bootstrap,
                         group=f"{prefix_of(topics)}crash", topic=topics["tasks"],
                         producer=producer, table=table,
                         dead_letters=DeadLetters(topics["dead-letters"],
                                                  Codec(prefix=prefix_of(topics))),
                         config=config, quarantine=Quarantine(data_dir / "notes", deaths=2),
                         faults=parse_crash_on(os.environ.get("HEADWATER_FAULT_CRASH_ON")))
    await loop.start()
    task = asyncio.create_task(loop.run())
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await loop.stop()
    await producer.stop()


if __name__ == "__main__":
    args = json.loads(sys.argv[1])
    asyncio.run(main(args["bootstrap"], args["topics"], Path(args["data_dir"])))
