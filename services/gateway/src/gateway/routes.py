"""The gateway's URL map: Greenhouse's partner endpoints and the probes."""

from __future__ import annotations

from aiohttp import web

from gateway.handlers import ops, partner, webhooks

GREENHOUSE_PREFIX = "/v1/greenhouse"
WEBHOOK_ROUTE = f"{GREENHOUSE_PREFIX}/webhook"


def setup_routes(app: web.Application) -> None:
    app.router.add_get(f"{GREENHOUSE_PREFIX}/list_tests", partner.list_tests)
    app.router.add_post(f"{GREENHOUSE_PREFIX}/send_test", partner.send_test)
    app.router.add_get(f"{GREENHOUSE_PREFIX}/test_status", partner.test_status)
    app.router.add_post(f"{GREENHOUSE_PREFIX}/response_error", partner.response_error)
    app.router.add_post(WEBHOOK_ROUTE, webhooks.receive)
    app.router.add_get("/healthz", ops.healthz)
    app.router.add_get("/readyz", ops.readyz)
