"""The documented external-worker protocol works: the example worker answers an `echo.upper`
step that the engine's own workers leave alone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from schemas.commands import StartExecution
from schemas.definitions import WorkflowDefinition
from tests.streams.kit import NOW, Client, finished, history, prefix_of, read_until, running_engine

pytestmark = pytest.mark.kafka

ROOT = Path(__file__).parents[3]


async def test_the_example_external_worker_completes_its_step(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    env = {**os.environ, "HEADWATER_KAFKA_BOOTSTRAP": kafka_bootstrap,
           "HEADWATER_TOPIC_PREFIX": prefix_of(hw_topics), "PYTHONPATH": str(ROOT)}
    worker = subprocess.Popen([sys.executable, str(ROOT / "examples/workers/echo_worker.py")],
                              env=env, cwd=ROOT)
    shout = WorkflowDefinition.model_validate({
        "id": "shout", "name": "Shout", "outputs": {"said": "${ steps.shout.output.text }"},
        "steps": [{"id": "shout", "action": "echo.upper", "with": {"text": "${ input.text }"}}]})
    try:
        async with Client(kafka_bootstrap, hw_topics) as client, running_engine(
            kafka_bootstrap, hw_topics, tmp_path
        ):
            await client.publish(shout)
            await client.send("commands", "ex-e", StartExecution(
                command_id="s", execution_id="ex-e", time=NOW, workflow_id="shout",
                input={"text": "hello"}))
            events = await read_until(kafka_bootstrap, hw_topics["executions"], client.codec,
                                      finished({"ex-e"}), timeout_s=60)
    finally:
        worker.terminate()
        worker.wait(timeout=20)
    assert history(events, "ex-e")[-1].output == {"said": "HELLO"}
