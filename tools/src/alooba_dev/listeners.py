"""Which process listens on a local TCP port (Linux /proc), so `make run` trusts a
readiness answer only from its own process, not from another stack on the same port."""

from __future__ import annotations

import os
import socket
from pathlib import Path

_PROC = Path("/proc")
_LISTEN = "0A"


def _listening_inodes(port: int) -> set[str] | None:
    """The socket inodes listening on `port` (any address), or None without /proc."""
    tables = [_PROC / "net" / "tcp", _PROC / "net" / "tcp6"]
    if not tables[0].exists():
        return None
    inodes = set()
    for table in tables:
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == _LISTEN and int(local.rsplit(":", 1)[1], 16) == port:
                inodes.add(inode)
    return inodes


def listened_by(port: int, pid: int) -> bool | None:
    """Whether process `pid` holds a socket listening on `port`; None when this system has
    no /proc to tell (then the caller has only the answer itself to go by)."""
    inodes = _listening_inodes(port)
    if inodes is None:
        return None
    targets = {f"socket:[{inode}]" for inode in inodes}
    try:
        descriptors = os.listdir(_PROC / str(pid) / "fd")
    except OSError:
        return False  # gone, or not ours to look at
    for descriptor in descriptors:
        try:
            if os.readlink(_PROC / str(pid) / "fd" / descriptor) in targets:
                return True
        except OSError:
            continue
    return False


def taken(ports: list[int], host: str = "127.0.0.1") -> list[int]:
    """The ports in `ports` something already listens on (a bind would fail)."""
    busy = []
    for port in ports:
        with socket.socket() as probe:
            # As the servers bind: a port left in TIME_WAIT by a stopped stack is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError:
                busy.append(port)
    return busy
