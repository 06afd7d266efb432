"""The gateway's aiohttp application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from alooba_common.clock import MONOTONIC, Clock
from alooba_common.tls import CertificateFiles, Identity
from gateway.clients import Backends
from gateway.config import Settings
from gateway.keys import (
    AUTH_THROTTLE,
    BACKENDS,
    LIFECYCLE,
    METRICS,
    SETTINGS,
    WEBHOOK_GATE,
    WEBHOOK_ORGANIZATIONS,
    Lifecycle,
)
from gateway.metrics import HttpMetrics
from gateway.middlewares import auth_throttle, json_errors, observe
from gateway.routes import setup_routes
from gateway.throttle import AuthThrottle
from gateway.webhook_gate import OrganizationLookups, VerificationGate


def create_app(
    settings: Settings, *, metrics: HttpMetrics | None = None, clock: Clock = MONOTONIC
) -> web.Application:
    """Builds the app; channels to the backends open when it starts and close when it stops.
    `clock` times the authentication throttle's window (tests move it by hand)."""
    metrics = metrics or HttpMetrics.create()
    throttle = AuthThrottle(
        window_seconds=settings.auth_throttle_window_seconds,
        address_limit=settings.auth_throttle_address_limit,
        prefix_limit=settings.auth_throttle_prefix_limit,
        clock=clock.now,
    )
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[
            observe(metrics),
            auth_throttle(throttle, metrics, settings.trusted_proxy_hops),
            json_errors,
        ],
    )
    app[SETTINGS] = settings
    app[METRICS] = metrics
    app[LIFECYCLE] = Lifecycle()
    app[AUTH_THROTTLE] = throttle
    app[WEBHOOK_GATE] = VerificationGate(
        concurrency=settings.webhook_verify_concurrency,
        queue_per_address=settings.webhook_verify_queue_per_address,
        throttled_rate=settings.webhook_throttled_verify_rate,
    )
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
    app[WEBHOOK_ORGANIZATIONS] = OrganizationLookups(backends.webhook_organization_known)
    app[LIFECYCLE].ready = True
    yield
    app[LIFECYCLE].ready = False
    await backends.close()
