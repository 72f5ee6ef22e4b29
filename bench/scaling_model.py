"""The scaling model behind docs/scaling.md: from figures measured on this machine to 100 brokers
and 1,000,000 trigger events/s, where measuring is impossible here.

Inputs are the figures the benchmarks print (defaults: the ones recorded in BENCHMARKS.md and
RELIABILITY.md; pass the ones of your own run). Four parts:

1. sizing: partitions per topic, worker processes (one per core), broker traffic and replicas
   per broker for `--target` trigger events/s;
2. takeover: what a worker's failure costs, session timeout + heartbeat + rebalance + the
   replay of the state it held, for a warm successor (replays since its last checkpoint) and a
   cold one (replays the partition's whole retained history);
3. churn: a Monte Carlo of a group of W workers whose members fail at `--failures-per-day`
   each (restarted), with eager rebalancing (every member stops while the group re-forms):
   the share of processing time lost, against W;
4. growing hw.commands/hw.executions: with the default partitioner, doubling N partitions
   moves each key from p to p or p + N, never elsewhere (checked on sampled execution ids), so
   each new partition's state comes from exactly one old partition.

    .venv/bin/python -m bench.scaling_model [--target 1000000] [--brokers 100] [--trials 2000]
"""

from __future__ import annotations

import argparse
import math
import random
import uuid
from dataclasses import dataclass

from streams.runtime.topics import partition_for


@dataclass(frozen=True)
class Measured:
    """What this machine measured (one process on one core unless said)."""

    agent_rate: float  # triggers/s one agent process evaluates through 5,000 rules
    processor_rate: float  # W3 executions/s per worker process (commands, tasks, events)
    replay_rate: float  # records/s a processor folds while replaying hw.executions
    events_per_execution: float  # records on hw.executions per W3 execution
    session_s: float  # the group's session timeout
    heartbeat_s: float
    cycle_s: float  # the longest cycle a member finishes before it rejoins a rebalance


def sizing(m: Measured, target: float, match: float, brokers: int, headroom: float,
           trigger_bytes: int, event_bytes: int) -> list[str]:
    executions = target * match  # matching triggers start a workflow
    agents = math.ceil(target / (m.agent_rate * headroom))
    processors = math.ceil(executions / (m.processor_rate * headroom))
    # One partition is one consumer's at a time: at least one per process, rounded up to a
    # count with many divisors so that groups of any size split it evenly.
    p_triggers = _nice(max(agents, brokers * 6))
    p_exec = _nice(max(processors, brokers * 3))
    events = executions * m.events_per_execution
    in_mb = (target * trigger_bytes + events * event_bytes * 2) / 1e6  # executions + commands
    replicas = 3 * (p_triggers + 2 * p_exec + p_exec)  # triggers, commands+executions, tasks
    return [
        f"sizing for {target:,.0f} trigger events/s ({match:.0%} start a workflow = "
        f"{executions:,.0f} executions/s, {events:,.0f} execution events/s):",
        f"  trigger agents: {agents:,} processes (one core each, {headroom:.0%} busy at "
        f"{m.agent_rate:,.0f} triggers/s each); hw.triggers: {p_triggers:,} partitions",
        f"  execution processors: {processors:,} processes; hw.commands, hw.executions, "
        f"hw.tasks: {p_exec:,} partitions each (co-partitioned)",
        f"  brokers: {brokers}; produce in {in_mb:,.0f} MB/s = {in_mb / brokers:,.1f} MB/s per "
        f"broker, x3 with replication; {replicas / brokers:,.0f} partition replicas per broker",
    ]


def takeover(m: Measured, records_per_partition_s: float, checkpoint_lag_s: float,
             retention_h: float) -> list[str]:
    detect = m.session_s + m.heartbeat_s + m.cycle_s
    warm = records_per_partition_s * checkpoint_lag_s / m.replay_rate
    cold = records_per_partition_s * retention_h * 3600 / m.replay_rate
    return [
        f"takeover of one partition ({records_per_partition_s:,.0f} execution events/s on it):",
        f"  detection and rebalance: {detect:.1f} s (session {m.session_s:g} + heartbeat "
        f"{m.heartbeat_s:g} + cycle {m.cycle_s:g})",
        f"  warm successor (its store {checkpoint_lag_s:g} s behind): replay {warm:,.1f} s at "
        f"{m.replay_rate:,.0f} records/s",
        f"  cold successor (replays {retention_h:g} h of history): {cold:,.0f} s = "
        f"{cold / 3600:,.1f} h",
    ]


def churn(m: Measured, workers: int, failures_per_day: float, restart_s: float,
          trials: int, rng: random.Random) -> float:
    """Share of processing time lost in one group of `workers` over a simulated day."""
    day = 86_400.0
    lost = 0.0
    for _ in range(trials):
        t = 0.0
        while True:
            t += rng.expovariate(workers * failures_per_day / day)
            if t > day:
                break
            # Eager rebalance: every member stops until the slowest rejoins (its heartbeat phase
            # and the rest of its cycle); the dead one's share stops until it is back.
            rejoin = max(rng.uniform(0, m.heartbeat_s) + rng.uniform(0, m.cycle_s)
                         for _ in range(min(workers, 64)))
            stalled = min(restart_s, m.session_s + rejoin)
            lost += rejoin * workers + stalled  # worker-seconds of no progress
            if restart_s > m.session_s:
                lost += rejoin * workers  # its return is a second rebalance
    return lost / (trials * day * workers)


def doubling(samples: int, partitions: int) -> str:
    moved = same = elsewhere = 0
    for _ in range(samples):
        key = f"ex-{uuid.uuid4()}".encode()
        before, after = partition_for(key, partitions), partition_for(key, 2 * partitions)
        if after == before:
            same += 1
        elif after == before + partitions:
            moved += 1
        else:
            elsewhere += 1
    return (f"doubling {partitions} -> {2 * partitions} partitions, {samples:,} execution ids: "
            f"{same / samples:.1%} stay on p, {moved / samples:.1%} move to p + {partitions}, "
            f"{elsewhere} elsewhere")


def _nice(n: int) -> int:
    """The next multiple of 60 (divisible by 1..6, 10, 12, 15, 20, 30)."""
    return max(60, math.ceil(n / 60) * 60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=float, default=1_000_000)
    parser.add_argument("--brokers", type=int, default=100)
    parser.add_argument("--match", type=float, default=0.01)
    parser.add_argument("--headroom", type=float, default=0.5, help="planned busy share of a core")
    parser.add_argument("--agent-rate", type=float, default=3000.0)
    parser.add_argument("--processor-rate", type=float, default=400.0)
    parser.add_argument("--replay-rate", type=float, default=20_000.0)
    parser.add_argument("--events-per-execution", type=float, default=9.0)
    parser.add_argument("--session", type=float, default=3.0)
    parser.add_argument("--heartbeat", type=float, default=1.0)
    parser.add_argument("--cycle", type=float, default=0.5)
    parser.add_argument("--restart", type=float, default=3.0, help="restart to processing, s")
    parser.add_argument("--failures-per-day", type=float, default=1.0, help="per worker")
    parser.add_argument("--retention-h", type=float, default=168.0)
    parser.add_argument("--trials", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=100_000)
    args = parser.parse_args()
    m = Measured(args.agent_rate, args.processor_rate, args.replay_rate,
                 args.events_per_execution, args.session, args.heartbeat, args.cycle)
    for line in sizing(m, args.target, args.match, args.brokers, args.headroom, 400, 250):
        print(line)
    exec_partitions = _nice(max(math.ceil(args.target * args.match / (m.processor_rate
                                                                      * args.headroom)),
                                args.brokers * 3))
    per_partition = args.target * args.match * m.events_per_execution / exec_partitions
    for line in takeover(m, per_partition, 1.0, args.retention_h):
        print(line)
    rng = random.Random(17)
    print(f"churn: {args.failures_per_day:g} failure(s) per worker per day, restart "
          f"{args.restart:g} s, eager rebalances:")
    for workers in (3, 30, 300, 1000):
        share = churn(m, workers, args.failures_per_day, args.restart,
                      max(1, args.trials // workers), rng)
        print(f"  {workers:>5} workers in one group: {share:.3%} of processing time lost")
    print(doubling(args.samples, 60))


if __name__ == "__main__":
    main()
