"""What both aiohttp services (the gateway and the console) do for every request: a request
id, one canonical log line, the standard HTTP metrics by route template, and who the client
is behind trusted proxies."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

import structlog
from aiohttp import web
from aiohttp.typedefs import Middleware
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

from alooba_common.request_context import REQUEST_ID_HEADER, accept_request_id, set_request_id

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


@dataclass(frozen=True, slots=True)
class HttpServerMetrics:
    requests: Counter
    duration: Histogram

    @classmethod
    def create(cls, registry: CollectorRegistry = REGISTRY) -> HttpServerMetrics:
        return cls(
            requests=Counter(
                "http_server_requests_total",
                "HTTP requests answered, by route template and status.",
                ("method", "route", "status"),
                registry=registry,
            ),
            duration=Histogram(
                "http_server_request_duration_seconds",
                "Time to answer an HTTP request.",
                ("method", "route"),
                buckets=_BUCKETS,
                registry=registry,
            ),
        )


def route_template(request: web.Request) -> str:
    """The matched route as registered (`/reports/{invitation_id}`), never the raw path."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


def observe(
    metrics: HttpServerMetrics,
    logger: structlog.typing.FilteringBoundLogger,
    quiet: Collection[str],
) -> Middleware:
    """Binds the request id (X-Request-ID, or a new one) for logging and for the gRPC calls
    made while answering, counts and times the request, and writes one log line (none for
    the `quiet` routes, the probes)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        request_id = accept_request_id(request.headers.get(REQUEST_ID_HEADER))
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        set_request_id(request_id)
        route = route_template(request)
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
            if route not in quiet:
                logger.info(
                    "http.request",
                    method=request.method,
                    route=route,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )

    return middleware


def client_address(request: web.Request, trusted_proxy_hops: int) -> str:
    """The caller's address: the peer, or behind `trusted_proxy_hops` proxies the entry
    the outermost trusted one appended to X-Forwarded-For (those to its left are the
    client's to forge)."""
    if trusted_proxy_hops > 0:
        hops = [
            hop.strip()
            for value in request.headers.getall("X-Forwarded-For", [])
            for hop in value.split(",")
        ]
        if len(hops) >= trusted_proxy_hops and hops[-trusted_proxy_hops]:
            return hops[-trusted_proxy_hops][:64]
    return request.remote or "unknown"
