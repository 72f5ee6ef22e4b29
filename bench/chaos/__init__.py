"""Fault scenarios on a local 3-node cluster, checked by an independent verifier.

    .venv/bin/python -m bench.chaos <scenario> [--minutes M]

The pieces: `cluster` (3 KRaft nodes, replication 3, min.insync.replicas 2, optional proxied
listeners), `processes` (workers and the API as users start them), `proxy` (a fault-injecting
TCP proxy), `load` (the mixed workload), `verify` (reads the log from offset zero and checks the
guarantees), `scenarios` (the faults and their timings). RELIABILITY.md has the results.
"""
