"""Liveness and readiness for Kubernetes probes."""

from __future__ import annotations

from aiohttp import web

from console.keys import LIFECYCLE, SERVICES


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the event loop is turning. Never depends on a backend."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: started, the database migrated and answering, not shutting down."""
    if request.app[LIFECYCLE].ready and await request.app[SERVICES].database_ready():
        return web.json_response({"status": "ready"})
    return web.json_response({"status": "not ready"}, status=503)
