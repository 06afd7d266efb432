"""The floor: the cost of one HTTP → gRPC hop that does no work.

Two processes, as the real system has them: a bare grpc.aio echo service, and a bare
aiohttp app whose one handler reads a query parameter, calls the echo service over one
channel and answers JSON. No middlewares, no logging, no metrics, no database.

With `--tls PKI_DIR` (a development CA folder, alooba_dev.pki) the hop is mutual TLS with
the credentials the services use (alooba_common.tls): the echo service presents the
assessments certificate and requires a client certificate, the HTTP side presents the
gateway's. Every hop of the real system is mutual TLS, so that is the floor its figures
are divided by; the plaintext one shows what TLS itself costs.

`python -m alooba_dev.bench.floor echo PORT [--tls DIR]` / `python -m
alooba_dev.bench.floor http PORT ECHO_ADDR [--tls DIR]`; both stop on SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from pathlib import Path
from typing import Any

import grpc
from aiohttp import web

from alooba_common.tls import (
    CertificateFiles,
    Identity,
    TlsMaterial,
    channel_credentials,
    server_credentials,
)
from alooba_dev.pki import DevPki

_METHOD = "/bench.Echo/Echo"


async def _echo(request: bytes, context: Any) -> bytes:
    return request


def _identity(pki: Path, identity: Identity) -> CertificateFiles:
    return CertificateFiles(DevPki(pki).settings(identity), expected=identity)


async def serve_echo(port: int, pki: Path | None = None) -> None:
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(_echo)}
            ),
        )
    )
    address = f"127.0.0.1:{port}"
    if pki is None:
        server.add_insecure_port(address)
    else:
        server.add_secure_port(address, server_credentials(_identity(pki, Identity.ASSESSMENTS)))
    await server.start()
    await _until_signalled()
    await server.stop(1)


async def serve_http(port: int, echo_addr: str, pki: Path | None = None) -> None:
    if pki is None:
        channel = grpc.aio.insecure_channel(echo_addr)
    else:
        gateway: TlsMaterial = _identity(pki, Identity.GATEWAY).latest()
        channel = grpc.aio.secure_channel(echo_addr, channel_credentials(gateway))
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m alooba_dev.bench.floor")
    parser.add_argument("--tls", type=Path, metavar="PKI_DIR", help="mutual TLS on the hop")
    roles = parser.add_subparsers(dest="role", required=True)
    echo = roles.add_parser("echo")
    echo.add_argument("port", type=int)
    http = roles.add_parser("http")
    http.add_argument("port", type=int)
    http.add_argument("echo_addr")
    args = parser.parse_args(argv)
    if args.role == "echo":
        asyncio.run(serve_echo(args.port, args.tls))
    else:
        asyncio.run(serve_http(args.port, args.echo_addr, args.tls))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
