"""The load generator: its own process, keep-alive connections, a minimal HTTP/1.1 client.

Why not aiohttp's client: on a 2-core machine the load generator shares the CPU with the
system under test, and aiohttp's client costs about as much per request as aiohttp's
server. This client sends pre-encoded request bytes and reads `Content-Length` framed
answers (what aiohttp's server sends for these endpoints), several times cheaper. The
floor is measured with the very same client, so the ratios compare like with like.

Two ways to load a server:
- closed loop ("saturation"): `concurrency` connections, each sending its next request as
  soon as the previous answer arrives, for `duration` seconds or `count` requests;
- open loop: requests start on a fixed schedule (`rate` per second) whatever the answers
  do; latency is measured from the *scheduled* start, so a stall is not hidden by the
  generator politely waiting for it (no coordinated omission).

Run as `python -m alooba_dev.bench.loadgen` with a JSON spec on stdin; the result is JSON
on stdout. `run_load()` is the same thing in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from alooba_dev.bench.scenarios import request_factory

_HEADER_END = b"\r\n\r\n"


class HttpConnection(asyncio.Protocol):
    """One keep-alive connection; one request in flight at a time."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._status = 0
        self._body_start = -1
        self._length = -1
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError(f"connection lost: {exc!r}"))

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if self._body_start < 0:
            end = self._buffer.find(_HEADER_END)
            if end < 0:
                return
            head = bytes(self._buffer[:end]).decode("latin-1")
            status_line, _, headers = head.partition("\r\n")
            self._status = int(status_line.split(" ", 2)[1])
            self._length = 0
            for line in headers.split("\r\n"):
                name, _, value = line.partition(":")
                lowered = name.strip().lower()
                if lowered == "content-length":
                    self._length = int(value.strip())
                elif lowered == "transfer-encoding":
                    self._fail(ValueError("chunked answers are not supported"))
                    return
            self._body_start = end + len(_HEADER_END)
        if len(self._buffer) >= self._body_start + self._length:
            body = bytes(self._buffer[self._body_start : self._body_start + self._length])
            del self._buffer[: self._body_start + self._length]
            self._body_start = self._length = -1
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_result((self._status, body))

    def _fail(self, error: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(error)
        if self._transport is not None:
            self._transport.close()

    def send(self, raw: bytes) -> asyncio.Future[tuple[int, bytes]]:
        assert self._transport is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self._transport.write(raw)
        return self._waiter

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


async def connect(host: str, port: int) -> HttpConnection:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(HttpConnection, host, port)
    return protocol


@dataclass
class LoadResult:
    mode: str
    sent: int = 0
    completed: int = 0
    measured: int = 0
    elapsed: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.measured / self.elapsed if self.elapsed > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "sent": self.sent,
            "completed": self.completed,
            "measured": self.measured,
            "elapsed": self.elapsed,
            "rps": self.rps,
            "statuses": {str(k): v for k, v in self.statuses.items()},
            "errors": dict(self.errors),
            "latencies_ms": self.latencies_ms,
            "bodies": self.bodies,
        }


async def closed_loop(
    host: str,
    port: int,
    make: Callable[[int], bytes],
    *,
    concurrency: int,
    duration: float | None,
    warmup: float,
    count: int | None,
    collect: bool,
) -> LoadResult:
    """Saturation: every connection sends again as soon as it is answered. With `count`,
    exactly that many requests (indexes 0..count-1) and the whole run is measured."""
    result = LoadResult("closed")
    if collect:
        result.bodies = [""] * (count or 0)
    next_index = 0
    loop = asyncio.get_running_loop()
    started = loop.time()
    measure_from = started + (warmup if count is None else 0.0)
    stop_at = measure_from + duration if duration is not None and count is None else None

    async def worker() -> None:
        nonlocal next_index
        connection: HttpConnection | None = None
        while True:
            now = loop.time()
            if count is not None and next_index >= count:
                break
            if stop_at is not None and now >= stop_at:
                break
            index = next_index
            next_index += 1
            raw = make(index)
            result.sent += 1
            try:
                if connection is None or connection.closed:
                    connection = await connect(host, port)
                begin = loop.time()
                status, body = await connection.send(raw)
            except (OSError, ConnectionError, ValueError) as error:
                result.errors[type(error).__name__] += 1
                connection = None
                continue
            end = loop.time()
            result.completed += 1
            result.statuses[status] += 1
            if collect and index < len(result.bodies):
                result.bodies[index] = body.decode("utf-8", "replace")
            if begin >= measure_from and (stop_at is None or end <= stop_at):
                result.measured += 1
                result.latencies_ms.append((end - begin) * 1000)
        if connection is not None:
            connection.close()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.elapsed = (stop_at if stop_at is not None else loop.time()) - measure_from
    return result


async def open_loop(
    host: str,
    port: int,
    make: Callable[[int], bytes],
    *,
    rate: float,
    duration: float,
    warmup: float,
    max_connections: int = 512,
) -> LoadResult:
    """A fixed arrival rate; latency counted from each request's scheduled start."""
    result = LoadResult("open")
    loop = asyncio.get_running_loop()
    idle: list[HttpConnection] = []
    open_connections = 0
    pending: set[asyncio.Task[None]] = set()
    total = int(rate * (warmup + duration))
    started = loop.time() + 0.05
    measure_from = started + warmup

    async def one(index: int, scheduled: float) -> None:
        nonlocal open_connections
        connection = None
        while idle:
            candidate = idle.pop()
            if not candidate.closed:
                connection = candidate
                break
            open_connections -= 1
        try:
            if connection is None:
                if open_connections >= max_connections:
                    result.errors["connection_limit"] += 1
                    return
                open_connections += 1
                try:
                    connection = await connect(host, port)
                except OSError:
                    open_connections -= 1
                    raise
            status, _ = await connection.send(make(index))
        except (OSError, ConnectionError, ValueError) as error:
            result.errors[type(error).__name__] += 1
            if connection is not None:
                open_connections -= 1
                connection.close()
            return
        end = loop.time()
        idle.append(connection)
        result.completed += 1
        result.statuses[status] += 1
        if scheduled >= measure_from:
            result.measured += 1
            result.latencies_ms.append((end - scheduled) * 1000)

    for index in range(total):
        scheduled = started + index / rate
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        task = loop.create_task(one(index, scheduled))
        pending.add(task)
        task.add_done_callback(pending.discard)
        result.sent += 1
    if pending:
        await asyncio.wait(pending, timeout=60)
    for connection in idle:
        connection.close()
    result.elapsed = duration
    return result


async def run_load(spec: dict[str, Any]) -> LoadResult:
    make = request_factory(spec["scenario"])
    host, port = spec.get("host", "127.0.0.1"), int(spec["port"])
    if spec["mode"] == "open":
        return await open_loop(
            host,
            port,
            make,
            rate=float(spec["rate"]),
            duration=float(spec["duration"]),
            warmup=float(spec.get("warmup", 0)),
        )
    return await closed_loop(
        host,
        port,
        make,
        concurrency=int(spec["concurrency"]),
        duration=spec.get("duration"),
        warmup=float(spec.get("warmup", 0)),
        count=spec.get("count"),
        collect=bool(spec.get("collect", False)),
    )


def main() -> int:
    spec = json.loads(sys.stdin.read())
    with contextlib.suppress(ImportError):
        import gc

        # The generator's own garbage collection pauses would show up as latency.
        gc.freeze()
    began = time.perf_counter()
    started_wall = time.time()
    result = asyncio.run(run_load(spec))
    out = result.to_json()
    out["wall_seconds"] = time.perf_counter() - began
    out["started_wall"] = started_wall
    sys.stdout.write(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
