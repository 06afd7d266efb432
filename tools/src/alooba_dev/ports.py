"""Loopback ports for servers whose address must be known before they start: the stacks of
`make run --free-ports`, the tests, the images' smoke run.

Asking the OS for port 0 and closing the socket hands back a port from the ephemeral range
(`net.ipv4.ip_local_port_range`, 32768-60999 by default), the range every outgoing
connection also takes its local port from. Between that answer and the server's bind, a
connection to PostgreSQL or to another test's server can take the port (seen: a service
exiting on "Address already in use" for its health port). So ports are drawn at random from
below the ephemeral range, where no outgoing connection lands, each one checked by binding
it, and never handed out twice by one process. Parallel test workers (pytest-xdist) draw
from separate slices of that range, so two workers cannot pick the same port either.
"""

from __future__ import annotations

import os
import random
import socket
from pathlib import Path

LOWEST = 20000
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_issued: set[int] = set()


def free_port() -> int:
    """A loopback port nothing listens on now, outside the ephemeral range."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` different loopback ports nothing listens on now, outside the ephemeral range."""
    low, high = _slice()
    found: list[int] = []
    for port in random.sample(range(low, high), high - low):
        if port in _issued or not _bindable(port):
            continue
        _issued.add(port)
        found.append(port)
        if len(found) == count:
            return found
    raise RuntimeError(f"no {count} free loopback ports in {low}-{high - 1}")


def _slice() -> tuple[int, int]:
    """This process's ports: [low, high). A pytest-xdist worker (gw0, gw1, ...) gets its
    own part of the range below the ephemeral ports; any other process the whole range."""
    high = _ephemeral_start()
    worker, workers = (
        os.environ.get("PYTEST_XDIST_WORKER", ""),
        os.environ.get("PYTEST_XDIST_WORKER_COUNT", ""),
    )
    if not (worker.startswith("gw") and workers.isdigit()):
        return LOWEST, high
    size = (high - LOWEST) // int(workers)
    low = LOWEST + size * int(worker.removeprefix("gw"))
    return low, low + size


def _ephemeral_start() -> int:
    try:
        start = int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768
    # A machine whose ephemeral range starts lower than ours leaves nothing below it: draw
    # from the default's gap anyway (each port is still checked by binding it).
    return start if start > LOWEST + 1000 else 32768


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
