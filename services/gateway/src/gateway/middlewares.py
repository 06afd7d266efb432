"""Request id, one canonical log line and metrics per request, and errors as JSON."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import grpc
import structlog
from aiohttp import web
from aiohttp.typedefs import Middleware

from alooba_common.request_context import REQUEST_ID_HEADER, accept_request_id, set_request_id
from gateway import errors
from gateway.metrics import HttpMetrics

log = structlog.get_logger("gateway")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _route_template(request: web.Request) -> str:
    route = request.match_info.route
    resource = route.resource
    return resource.canonical if resource is not None else "unmatched"


def observe(metrics: HttpMetrics) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        request_id = accept_request_id(request.headers.get(REQUEST_ID_HEADER))
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        set_request_id(request_id)
        route = _route_template(request)
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            response.headers[REQUEST_ID_HEADER] = request_id
            return response
        finally:
            elapsed = time.perf_counter() - started
            metrics.requests.labels(request.method, route, str(status)).inc()
            metrics.duration.labels(request.method, route).observe(elapsed)
            if route not in ("/healthz", "/readyz"):
                log.info(
                    "http.request",
                    method=request.method,
                    route=route,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )

    return middleware


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error leaves as JSON; bad input is a 4xx, never a 500."""
    try:
        return await handler(request)
    except errors.RequestError as error:
        return error.response()
    except grpc.aio.AioRpcError as error:
        response = errors.from_grpc(error)
        if response.status >= 500:
            log.warning("backend.error", grpc_code=error.code().name, status=response.status)
        return response
    except web.HTTPException as error:
        # aiohttp's own: unknown path, wrong method, body over the size limit.
        if error.status < 400:
            raise
        return errors.error_response(
            error.status, error.reason or "request failed", headers=_allow_header(error)
        )
    except Exception:
        log.exception("http.unhandled_error")
        return errors.error_response(500, "internal error")


def _allow_header(error: web.HTTPException) -> dict[str, str] | None:
    allow = error.headers.get("Allow")
    return {"Allow": allow} if allow else None
