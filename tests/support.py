"""Small helpers shared by tests."""

from __future__ import annotations

import random
import socket


def free_port_pair() -> int:
    """A port p such that p and p+1 are both free on 127.0.0.1 (outside the ephemeral range)."""
    return free_ports(2)


def free_ports(count: int) -> int:
    """A base port p such that p .. p+count-1 are all free."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 30000, 2)
        if all(_free(base + i) for i in range(count)):
            return base
    raise RuntimeError(f"no {count} consecutive free ports found")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
