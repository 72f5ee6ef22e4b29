"""Short variants of the fault scenarios (`python -m bench.chaos` runs them at full length): the
mixed load on a 3-node cluster (replication 3, min.insync.replicas 2), faults injected while it
runs, then the independent verifier over the log from offset zero.

Three runs, one verdict each, so the suite pays for three engine start-ups instead of nine:
processes and brokers (worker SIGKILLs, a leader broker SIGKILLed and restarted, a broker frozen
past the session timeouts, a worker leaving and joining), the network (loss, latency, one worker
partitioned) and storage (a full disk, a corrupted store). The assertions are on correctness
only, never on speed: timeouts are generous, so a loaded machine makes them slower, not red.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.chaos.cluster import ChaosCluster, three_nodes
from bench.chaos.scenarios import (
    Result,
    broker_kill,
    broker_pause,
    corrupt_store,
    disk_full,
    kill_one_worker,
    leave_and_join,
    network,
    run,
    sequence,
)

pytestmark = [pytest.mark.kafka, pytest.mark.cluster, pytest.mark.timeout(1500)]

RATE = 5.0


@pytest.fixture(scope="module")
def chaos() -> Iterator[ChaosCluster]:
    with three_nodes(proxied_clients=2) as cluster:
        yield cluster


def verdict_of(result: Result) -> str:
    return "\n".join([*result.verdict.lines(), *result.notes])


async def test_killed_workers_and_brokers_lose_and_repeat_nothing(chaos: ChaosCluster) -> None:
    spec = {"workers": 3, "fault": lambda s: sequence(
        (0, kill_one_worker(0)),
        (3, broker_kill(restart_after_s=10)),
        (3, broker_pause(15)),  # past the brokers' (9 s) and the consumers' (10 s) sessions
        (0, leave_and_join(1, away_s=4)),
        (0, kill_one_worker(2)))}
    result = await run(chaos, "ci-processes", 40, RATE, spec)
    assert result.passed, verdict_of(result)
    assert result.verdict.counts["executions"] > 0 and result.verdict.counts["firings"] > 0


async def test_a_slow_lossy_or_partitioned_network_loses_and_repeats_nothing(
        chaos: ChaosCluster) -> None:
    spec = {"proxied": True, "fault": lambda s: sequence(
        (0, network("loss 0.05", 8)),
        (2, network("latency 100 50", 8)),
        (2, network("partition on", 15, [0])))}
    result = await run(chaos, "ci-network", 35, RATE, spec)
    assert result.passed, verdict_of(result)


async def test_a_full_disk_or_a_corrupted_store_never_serves_wrong_state(
        chaos: ChaosCluster) -> None:
    spec = {"disk_mib": 256, "fault": lambda s: sequence(
        (0, disk_full(8)), (3, corrupt_store(12)))}
    result = await run(chaos, "ci-storage", 30, RATE, spec)
    assert result.passed, verdict_of(result)
    # The worker whose store was corrupted said so and rebuilt it from the log.
    assert result.extra["rebuilt_from_log"], result.extra.get("log_tail")
    assert not result.extra["exited_on_corrupt_store"], result.extra.get("log_tail")
    # The full disk stopped its worker with RocksDB's reason (or it kept going, correct).
    # Under a file-size limit instead of a tmpfs, the worker cannot write its log either.
    if result.extra["exited_on_full_disk"] and result.extra["small_disk"] == "tmpfs":
        assert result.extra["exit_reason"], result.notes


def test_the_verifier_fails_on_a_lost_or_a_duplicated_transition() -> None:
    """The verifier can fail: a history with a gap, one with a differing repeat, an execution
    that never ended, and a trigger without its outcome are each reported."""
    from bench.chaos.verify import Verdict, check_executions, check_outcomes
    from tests.chaos.forged import forged_log

    executions, outcomes, sent = forged_log()
    verdict = Verdict()
    completed = check_executions(verdict, executions, sent)
    check_outcomes(verdict, outcomes, sent, completed)
    failed = {name: result for name, result in verdict.checks.items() if result != "ok"}
    text = " ".join(failed.values())
    assert "gap-1 seq 2 missing" in text
    assert "twice-1 seq 2 repeated with other content" in text
    assert "open-1 ended never" in text
    assert "order order-9: no outcome" in text
    assert "u0: 3 pings fired 0 times, not 1" in text
