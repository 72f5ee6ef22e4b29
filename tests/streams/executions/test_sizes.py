"""Record sizes in the processor, on a real broker: a step output that fits `hw.commands` but
whose events would not fit their topic fails that step with `output_too_large` (its error path
runs), and a start whose events would not fit is a dead letter; the executions behind them go
on."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.commands import StartExecution
from schemas.dead_letters import DeadLetter
from schemas.definitions import WorkflowDefinition
from tests.streams.kit import NOW, Client, finished, history, read_until, running_engine
from tests.support import records_to_end

pytestmark = pytest.mark.kafka

# Step `double` answers 2 x 400 KB (fits); the task of `triple` would carry 1.2 MB (does not).
GROWING = WorkflowDefinition.model_validate({
    "id": "growing", "name": "Growing",
    "steps": [
        {"id": "double", "action": "transform",
         "with": {"x": "${ input.blob }", "y": "${ input.blob }"},
         "on_error": {"action": "goto", "goto": "fallback"}},
        {"id": "triple", "action": "transform",
         "with": {"x": "${ steps.double.output.x }", "y": "${ steps.double.output.y }",
                  "z": "${ input.blob }"}, "next": "$end"},
        {"id": "fallback", "action": "log", "with": {"message": "too large"}},
    ],
})


def start(execution_id: str, blob_size: int) -> StartExecution:
    return StartExecution(command_id=f"start-{execution_id}", execution_id=execution_id,
                          time=NOW, workflow_id="growing", input={"blob": "x" * blob_size})


async def test_an_output_whose_events_are_too_large_fails_its_step_and_the_error_path_runs(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    async with Client(kafka_bootstrap, hw_topics) as client, running_engine(
        kafka_bootstrap, hw_topics, tmp_path
    ):
        await client.publish(GROWING)
        await client.send("commands", "ex-big", start("ex-big", 400_000))
        await client.send("commands", "ex-small", start("ex-small", 10))
        events = await read_until(kafka_bootstrap, hw_topics["executions"], client.codec,
                                  finished({"ex-big", "ex-small"}), timeout_s=60)

    big = history(events, "ex-big")
    failed = [e for e in big if e.type == "step_failed"]
    assert [(f.step_id, f.error.code) for f in failed] == [("double", "output_too_large")]
    assert failed[0].error.details["size"] > failed[0].error.details["limit"]
    assert [e.step_id for e in big if e.type == "step_completed"] == ["fallback"]
    assert big[-1].type == "execution_completed"
    small = history(events, "ex-small")
    assert [e.step_id for e in small if e.type == "step_completed"] == ["double", "triple"]


async def test_a_start_whose_events_are_too_large_is_a_dead_letter(
    kafka_bootstrap: str, hw_topics: dict[str, str], tmp_path: Path,
) -> None:
    too_big = WorkflowDefinition.model_validate({
        "id": "growing", "name": "Start grows",
        "variables": {"a": "${ input.blob }", "b": "${ input.blob }", "c": "${ input.blob }"},
        "steps": [{"id": "n", "action": "log", "with": {"message": "hi"}}],
    })
    async with Client(kafka_bootstrap, hw_topics) as client, running_engine(
        kafka_bootstrap, hw_topics, tmp_path
    ):
        await client.publish(too_big)
        await client.send("commands", "ex-big", start("ex-big", 400_000))
        await client.send("commands", "ex-small", start("ex-small", 10))
        events = await read_until(kafka_bootstrap, hw_topics["executions"], client.codec,
                                  finished({"ex-small"}), timeout_s=60)
        letters = [client.codec.decode_value(r.topic, r.value)
                   for r in await records_to_end(kafka_bootstrap, hw_topics["dead-letters"])]

    assert not history(events, "ex-big")
    [letter] = letters
    assert isinstance(letter, DeadLetter)
    assert (letter.reason, letter.consumer) == ("input_too_large", "processor")
