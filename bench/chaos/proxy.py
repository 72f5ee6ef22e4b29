"""A fault-injecting TCP proxy between one client (a worker) and the brokers.

Why a proxy and not `tc netem` in network namespaces: netem on this machine's loopback would
slow every process on it (other tests, other brokers), and namespaces need root; a proxy the
brokers advertise (`cluster.ExtraListener`) puts faults on one worker's traffic only, with no
privileges, and only on 127.0.0.1.

Faults, set at run time over a control port (one line per command, answered `ok`):

- ``latency <mean_ms> <jitter_ms>``: each chunk is held mean ± jitter (uniform) before it is
  passed on, order kept per direction;
- ``loss <fraction>``: each chunk is, with that probability, the last of its connection: the
  connection is reset (TCP loses no bytes, so "packet loss" a client sees is a connection
  that breaks and is opened again);
- ``partition on|off``: nothing passes either way and new connections hang; on `off`, the
  connections held through the partition are reset (their bytes are lost);
- ``clear``: no faults.

    .venv/bin/python -m bench.chaos.proxy --control PORT --route LISTEN:TARGET [--route ...]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import socket
import struct
import time
from dataclasses import dataclass, field

__all__ = ["Faults", "ProxyClient", "serve"]


@dataclass
class Faults:
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    loss: float = 0.0
    partitioned: bool = False
    generation: int = 0
    """Bumped when a partition heals: connections of an older generation are reset."""
    rng: random.Random = field(default_factory=random.Random)
    stats: dict[str, int] = field(default_factory=lambda: {"connections": 0, "resets": 0})

    def delay(self) -> float:
        if not self.latency_ms:
            return 0.0
        return max(0.0, self.latency_ms + self.rng.uniform(-self.jitter_ms, self.jitter_ms)) / 1000


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST (SO_LINGER 0), as a dropped connection looks to the client."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, faults: Faults,
                generation: int, broken: asyncio.Event) -> None:
    """Pass chunks one way with the faults applied, until either side closes or a fault breaks it."""
    due = 0.0
    while not broken.is_set():
        chunk = await reader.read(65536)
        if not chunk:
            break
        while faults.partitioned:
            await asyncio.sleep(0.05)  # held: the bytes are lost when the partition heals
        if faults.generation != generation or faults.rng.random() < faults.loss:
            faults.stats["resets"] += 1
            break
        due = max(due, time.monotonic() + faults.delay())
        if due > time.monotonic():
            await asyncio.sleep(due - time.monotonic())
        writer.write(chunk)
        await writer.drain()
    broken.set()


async def _connection(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter,
                      target: int, faults: Faults) -> None:
    faults.stats["connections"] += 1
    while faults.partitioned:
        await asyncio.sleep(0.05)
    generation = faults.generation
    try:
        server_r, server_w = await asyncio.open_connection("127.0.0.1", target)
    except OSError:
        _reset(client_w)  # the broker is down: the client sees a refused connection
        return
    broken = asyncio.Event()
    pipes = [asyncio.create_task(_pipe(client_r, server_w, faults, generation, broken)),
             asyncio.create_task(_pipe(server_r, client_w, faults, generation, broken))]
    with contextlib.suppress(Exception):
        await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
    for task in pipes:
        task.cancel()
    _reset(client_w)
    _reset(server_w)


async def _control(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   faults: Faults) -> None:
    while line := (await reader.readline()).decode().split():
        match line:
            case ["latency", mean, jitter]:
                faults.latency_ms, faults.jitter_ms = float(mean), float(jitter)
            case ["loss", fraction]:
                faults.loss = float(fraction)
            case ["partition", "on"]:
                faults.partitioned = True
            case ["partition", "off"]:
                faults.partitioned = False
                faults.generation += 1
            case ["clear"]:
                faults.latency_ms = faults.jitter_ms = faults.loss = 0.0
                if faults.partitioned:
                    faults.partitioned = False
                    faults.generation += 1
            case ["stats"]:
                writer.write(f"{faults.stats['connections']} {faults.stats['resets']}\n".encode())
                await writer.drain()
                continue
            case _:
                writer.write(b"error\n")
                await writer.drain()
                continue
        writer.write(b"ok\n")
        await writer.drain()
    writer.close()


async def serve(control: int, routes: list[tuple[int, int]]) -> None:
    faults = Faults()
    servers = [await asyncio.start_server(
        lambda r, w, t=target: _connection(r, w, t, faults), "127.0.0.1", listen)
        for listen, target in routes]
    servers.append(await asyncio.start_server(lambda r, w: _control(r, w, faults),
                                              "127.0.0.1", control))
    await asyncio.gather(*(s.serve_forever() for s in servers))


class ProxyClient:
    """Sets faults on a running proxy through its control port."""

    def __init__(self, control: int) -> None:
        self.control = control

    def send(self, command: str) -> str:
        with socket.create_connection(("127.0.0.1", self.control), timeout=10) as sock:
            sock.sendall(command.encode() + b"\n")
            answer = sock.makefile().readline().strip()
        if answer == "error":
            raise ValueError(f"the proxy refused {command!r}")
        return answer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--control", type=int, required=True)
    parser.add_argument("--route", action="append", required=True, help="LISTEN:TARGET")
    args = parser.parse_args()
    routes = [tuple(int(p) for p in r.split(":")) for r in args.route]
    asyncio.run(serve(args.control, [(a, b) for a, b in routes]))


if __name__ == "__main__":
    main()
