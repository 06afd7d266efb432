"""Liveness and readiness for Kubernetes probes."""

from __future__ import annotations

from aiohttp import web

from gateway.keys import LIFECYCLE


async def healthz(request: web.Request) -> web.Response:
    """Liveness: the event loop is turning. Never depends on a backend."""
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Readiness: started and not shutting down. A single backend outage does not take
    the gateway out of rotation: its calls fail fast with 503 instead."""
    if request.app[LIFECYCLE].ready:
        return web.json_response({"status": "ready"})
    return web.json_response({"status": "not ready"}, status=503)
