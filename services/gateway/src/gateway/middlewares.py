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
from gateway.addresses import client_address
from gateway.auth import partner_key_from_header
from gateway.metrics import HttpMetrics
from gateway.routes import GREENHOUSE_PREFIX, WEBHOOK_ROUTE
from gateway.throttle import AuthThrottle

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


# The non-secret start of a partner key (assessments' keys.PREFIX_LENGTH: "agh_" and 8
# characters), shown to operators; the rest of the key is never looked at here.
KEY_PREFIX_LENGTH = 12
_MAX_ORGANISATION = 200


def _presented_prefix(request: web.Request, surface: str) -> str | None:
    if surface == "webhook":
        organisation = request.headers.get("X-Organisation", "")
        return f"org:{organisation[:_MAX_ORGANISATION]}" if organisation else None
    try:
        key = partner_key_from_header(request.headers.get("Authorization"))
    except errors.RequestError:
        return None
    return f"key:{key[:KEY_PREFIX_LENGTH]}"


def auth_throttle(
    throttle: AuthThrottle, metrics: HttpMetrics, trusted_proxy_hops: int
) -> Middleware:
    """Turns a failed authentication into 429 once its address or key prefix has failed
    too often. It acts only on a 401, after the key was checked: a valid key is never
    refused, whoever else shares its address or prefix."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if response.status != 401:
            return response
        route = _route_template(request)
        if not route.startswith(GREENHOUSE_PREFIX + "/"):
            return response
        surface = "webhook" if route == WEBHOOK_ROUTE else "partner"
        verdict = throttle.failed(
            client_address(request, trusted_proxy_hops), _presented_prefix(request, surface)
        )
        if verdict.retry_after is None:
            metrics.auth_failures.labels(surface, "refused").inc()
            return response
        metrics.auth_failures.labels(surface, "throttled").inc()
        # Neither the key nor the address: only which limit was hit.
        log.warning(
            "auth.throttled",
            surface=surface,
            limits=list(verdict.limits),
            retry_after=verdict.retry_after,
        )
        return errors.error_response(
            429,
            "too many failed authentication attempts; retry later",
            headers={"Retry-After": str(verdict.retry_after)},
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
