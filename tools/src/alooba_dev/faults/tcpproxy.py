"""A loopback TCP proxy that can be cut (connections refused and dropped) or stalled
(connections accepted, bytes swallowed, nothing answered: the peer times out).

Runs in a thread of its own so that it keeps forwarding while the caller blocks (or while
a test awaits: the service behind it is another process). `make faults` uses it in front
of the Greenhouse callback port and, without a private cluster, of PostgreSQL; the tests
use it too (tests/support/tcpproxy.py re-exports it) to make a database unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any

from alooba_dev.ports import free_port


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, port: int = 0) -> None:
        self._target = (target_host, target_port)
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.stalled = False
        self.port = port or free_port()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

    def _call(self, coroutine: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    def open(self) -> TcpProxy:
        """Accepts and forwards (again)."""
        self.stalled = False
        self._call(self._open())
        return self

    def cut(self) -> None:
        """Refuses new connections and drops the open ones."""
        self._call(self._cut())

    def stall(self, on: bool = True) -> None:
        """New connections are accepted and then never answered (while `on`); open ones
        are dropped so the next request makes a new, stalled, connection."""
        self.stalled = on
        self._call(self._drop())

    def close(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            # A stopped loop still holds its self-pipe (a socket pair) until it is closed.
            self._loop.close()

    async def _open(self) -> None:
        if self._server is None:
            self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _cut(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        await self._drop()
        if server is not None:
            await server.wait_closed()

    async def _drop(self) -> None:
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        if self.stalled:
            with contextlib.suppress(Exception):
                while await reader.read(65536):
                    pass
            writer.close()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            writer.close()
            return
        self._writers.add(upstream_writer)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(Exception):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))
