"""The floor: the cost of one HTTP → gRPC hop that does no work.

Two processes, as the real system has them: a bare grpc.aio echo service, and a bare
aiohttp app whose one handler reads a query parameter, calls the echo service over one
channel and answers JSON. No middlewares, no logging, no metrics, no database.

`python -m alooba_dev.bench.floor echo PORT` / `python -m alooba_dev.bench.floor http PORT
ECHO_ADDR`; both stop on SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any

import grpc
from aiohttp import web

_METHOD = "/bench.Echo/Echo"


async def _echo(request: bytes, context: Any) -> bytes:
    return request


async def serve_echo(port: int) -> None:
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(_echo)}
            ),
        )
    )
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await _until_signalled()
    await server.stop(1)


async def serve_http(port: int, echo_addr: str) -> None:
    channel = grpc.aio.insecure_channel(echo_addr)
    echo = channel.unary_unary(_METHOD, None, None)

    async def handle(request: web.Request) -> web.Response:
        interview_id = request.query.get("partner_interview_id", "")
        answer = await echo(interview_id.encode(), timeout=5.0, wait_for_ready=True)
        return web.json_response({"partner_status": answer.decode(), "metadata": None})

    app = web.Application()
    app.router.add_get("/floor", handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await _until_signalled()
    await runner.cleanup()
    await channel.close(None)


async def _until_signalled() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


def main(argv: list[str]) -> int:
    if argv[:1] == ["echo"] and len(argv) == 2:
        asyncio.run(serve_echo(int(argv[1])))
    elif argv[:1] == ["http"] and len(argv) == 3:
        asyncio.run(serve_http(int(argv[1]), argv[2]))
    else:
        print("usage: floor echo PORT | floor http PORT ECHO_ADDR", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
