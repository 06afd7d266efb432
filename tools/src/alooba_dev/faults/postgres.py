"""A PostgreSQL server the fault run may restart: a private cluster (initdb into a
temporary folder, its own port), so restarting it disturbs nobody else's databases.

Found the way this machine has it: `initdb`/`pg_ctl` on PATH or under
/usr/lib/postgresql/<version>/bin. PostgreSQL refuses to run as root, so as root the
commands run as the `postgres` user (runuser). Where no private cluster can be made,
`ProxiedServer` puts a TCP proxy in front of an existing server instead, and a
"restart" is the proxy cut (every connection dropped, new ones refused) and restored.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Protocol

from sqlalchemy.engine import make_url

from alooba_dev.faults.tcpproxy import TcpProxy


class Server(Protocol):
    admin_url: str
    description: str

    def restart(self, down_seconds: float) -> None: ...

    def close(self) -> None: ...


def _bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


class PrivateCluster:
    """initdb + pg_ctl on a free loopback port; restart = immediate stop (as a crash
    would), a pause, start (crash recovery runs)."""

    def __init__(self) -> None:
        initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
        if initdb is None or pg_ctl is None:
            raise RuntimeError("initdb/pg_ctl not found")
        self._pg_ctl = pg_ctl
        self._as_user: list[str] = []
        self.directory = Path(tempfile.mkdtemp(prefix="alooba-faults-pg-"))
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.directory, user.pw_uid, user.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self._run(initdb, "-D", str(self.directory / "data"), "-A", "trust", "-U", "postgres",
                  "--no-sync")  # fmt: skip
        self._start()
        self.admin_url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.description = f"private PostgreSQL cluster on :{self.port} (pg_ctl)"

    def _run(self, *args: str) -> None:
        subprocess.run(  # noqa: S603 - PostgreSQL's own tools, fixed arguments
            [*self._as_user, *args], check=True, capture_output=True, timeout=120
        )

    def _start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} "
            "-c fsync=off -c max_connections=200"
        )
        self._run(self._pg_ctl, "-D", str(self.directory / "data"), "-o", options,
                  "-l", str(self.directory / "server.log"), "-w", "start")  # fmt: skip

    def restart(self, down_seconds: float) -> None:
        self._run(self._pg_ctl, "-D", str(self.directory / "data"), "-m", "immediate", "stop")
        time.sleep(down_seconds)
        self._start()

    def close(self) -> None:
        try:
            self._run(self._pg_ctl, "-D", str(self.directory / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


class ProxiedServer:
    """An existing server behind a TCP proxy; a "restart" cuts the proxy."""

    def __init__(self, admin_url: str) -> None:
        url = make_url(admin_url)
        self._proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).open()
        self.admin_url = url.set(host="127.0.0.1", port=self._proxy.port).render_as_string(False)
        self.description = f"TCP proxy :{self._proxy.port} in front of {url.host}:{url.port}"

    def restart(self, down_seconds: float) -> None:
        self._proxy.cut()
        time.sleep(down_seconds)
        self._proxy.open()

    def close(self) -> None:
        self._proxy.close()


def restartable_server(admin_url: str) -> Server:
    try:
        return PrivateCluster()
    except (RuntimeError, OSError, KeyError, subprocess.SubprocessError):
        return ProxiedServer(admin_url)
