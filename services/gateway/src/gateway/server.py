"""Runs the gateway until SIGTERM: readiness off, drain, finish in-flight requests, stop."""

from __future__ import annotations

import asyncio
import signal

import structlog
from aiohttp import web
from prometheus_client import start_http_server

from alooba_common.tls import CertificateFiles, Identity
from gateway.app import create_app
from gateway.config import Settings
from gateway.keys import LIFECYCLE

log = structlog.get_logger("gateway")


async def serve(settings: Settings) -> None:
    # Fails the start, before the port opens, on a missing or wrong certificate.
    CertificateFiles(settings.tls, expected=Identity.GATEWAY)
    app = create_app(settings)
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=None,  # the observe middleware writes one line per request instead
        shutdown_timeout=settings.shutdown_grace_seconds,
        # A request answered without reading its body (a webhook refused from its headers
        # alone, or one told to come back later) has its connection closed after the
        # answer, instead of aiohttp reading and discarding up to 10 s of whatever the
        # sender still pushes: refusing it must stay cheaper than reading it.
        lingering_time=0,
    )
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    metrics_server, metrics_thread = start_http_server(
        settings.metrics_port, addr=settings.metrics_host
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    log.info(
        "server.started",
        addresses=[str(address) for address in runner.addresses],
        metrics_port=metrics_server.server_port,
    )
    try:
        await stop.wait()
        log.info("server.stopping", grace_seconds=settings.shutdown_grace_seconds)
        app[LIFECYCLE].ready = False
        if settings.drain_seconds:
            await asyncio.sleep(settings.drain_seconds)
    finally:
        # Stops accepting, waits for in-flight requests (up to the grace period), then
        # closes the gRPC channels.
        await runner.cleanup()
        metrics_server.shutdown()
        metrics_thread.join(timeout=5)
        log.info("server.stopped")
