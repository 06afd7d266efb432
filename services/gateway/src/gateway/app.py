"""The gateway's aiohttp application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from alooba_common.tls import CertificateFiles, Identity
from gateway.clients import Backends
from gateway.config import Settings
from gateway.keys import BACKENDS, LIFECYCLE, METRICS, SETTINGS, Lifecycle
from gateway.metrics import HttpMetrics
from gateway.middlewares import auth_throttle, json_errors, observe
from gateway.routes import setup_routes
from gateway.throttle import AuthThrottle


def create_app(settings: Settings, *, metrics: HttpMetrics | None = None) -> web.Application:
    """Builds the app; channels to the backends open when it starts and close when it stops."""
    metrics = metrics or HttpMetrics.create()
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[
            observe(metrics),
            auth_throttle(
                AuthThrottle(
                    window_seconds=settings.auth_throttle_window_seconds,
                    address_limit=settings.auth_throttle_address_limit,
                    prefix_limit=settings.auth_throttle_prefix_limit,
                ),
                metrics,
                settings.trusted_proxy_hops,
            ),
            json_errors,
        ],
    )
    app[SETTINGS] = settings
    app[METRICS] = metrics
    app[LIFECYCLE] = Lifecycle()
    app.cleanup_ctx.append(_backends)
    setup_routes(app)
    return app


async def _backends(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    backends = Backends.connect(
        assessments_addr=settings.assessments_addr,
        candidates_addr=settings.candidates_addr,
        tls=CertificateFiles(settings.tls, expected=Identity.GATEWAY),
        timeout=settings.rpc_timeout_seconds,
    )
    app[BACKENDS] = backends
    app[LIFECYCLE].ready = True
    yield
    app[LIFECYCLE].ready = False
    await backends.close()
