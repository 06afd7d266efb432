"""The console's aiohttp application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from alooba_common.tls import CertificateFiles, Identity
from console.clients import Backends
from console.config import Settings
from console.keys import BACKENDS, LIFECYCLE, METRICS, SERVICES, SETTINGS, Lifecycle, Services
from console.metrics import HttpMetrics
from console.middlewares import csrf, error_pages, observe, security_headers, who_is_signed_in
from console.pages import timestamp_text
from console.routes import setup_routes

TEMPLATES = Path(__file__).parent / "templates"
# Forms are small; nothing is uploaded.
MAX_BODY_BYTES = 64 * 1024


def create_app(
    settings: Settings,
    services: Services,
    *,
    metrics: HttpMetrics | None = None,
    backends: Backends | None = None,
) -> web.Application:
    """Builds the app. The gRPC channels open when it starts and close when it stops
    (unless `backends` is given, whose owner closes them)."""
    metrics = metrics or HttpMetrics.create()
    app = web.Application(
        client_max_size=MAX_BODY_BYTES,
        middlewares=[
            observe(metrics),
            security_headers,
            who_is_signed_in,
            error_pages,
            csrf,
        ],
    )
    environment = aiohttp_jinja2.setup(
        app,
        loader=jinja2.FileSystemLoader(TEMPLATES),
        # Everything shown is escaped: names come from Greenhouse and from people.
        autoescape=jinja2.select_autoescape(default=True),
    )
    environment.filters["ts"] = timestamp_text
    app[SETTINGS] = settings
    app[SERVICES] = services
    app[METRICS] = metrics
    app[LIFECYCLE] = Lifecycle()
    if backends is not None:
        app[BACKENDS] = backends
    app.cleanup_ctx.append(_backends)
    setup_routes(app)
    return app


async def _backends(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    owned = BACKENDS not in app
    if owned:
        app[BACKENDS] = Backends.connect(
            assessments_addr=settings.assessments_addr,
            harvest_sync_addr=settings.harvest_sync_addr,
            tls=CertificateFiles(settings.server.tls, expected=Identity.CONSOLE),
            timeout=settings.rpc_timeout_seconds,
        )
    app[LIFECYCLE].ready = True
    yield
    app[LIFECYCLE].ready = False
    if owned:
        await app[BACKENDS].close()
