"""One lifecycle for every gRPC service: build, serve, report health, drain, stop.

A service is served over mutual TLS only (alooba_common.tls), behind its access table
(alooba_common.authz). grpc.health.v1 is also served in plaintext on a port of its own
that serves nothing else, for the kubelet's probes, which cannot present a certificate.

Health has two faces, kept apart on purpose:
- readiness is the overall service ("") and each business service's own name. It is
  NOT_SERVING until the database answers, whenever it stops answering, and from the
  moment SIGTERM arrives;
- liveness is the "liveness" name. It only says the event loop is turning, so a
  database outage never gets a pod restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
import structlog
from google.protobuf.message import Message
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio  # type: ignore[attr-defined]
from prometheus_client import start_http_server

from alooba_common.authz import AccessTable, AuthorizationInterceptor
from alooba_common.config import GrpcServerSettings
from alooba_common.errors import DomainError, InvalidArgument
from alooba_common.grpc_metrics import GrpcServerMetrics
from alooba_common.reflection import enable_reflection
from alooba_common.request_context import (
    REQUEST_ID_METADATA_KEY,
    accept_request_id,
    set_request_id,
)
from alooba_common.tls import CertificateFiles, Identity, server_credentials

log = structlog.get_logger("alooba.grpc")

LIVENESS_SERVICE = "liveness"
_QUIET_SERVICES = (
    "grpc.health.v1.Health",
    "grpc.reflection.v1alpha.ServerReflection",
    "grpc.reflection.v1.ServerReflection",
)

Context = grpc.aio.ServicerContext[Any, Any]
Handler = Callable[[Any, Context], Awaitable[Any]]


class ServerInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Per RPC: binds the request id for logging, records the standard metrics, maps
    domain errors to status codes, hides unexpected errors behind INTERNAL, and writes
    one canonical log line."""

    def __init__(self, metrics: GrpcServerMetrics) -> None:
        self._metrics = metrics

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:  # a grpc.RpcMethodHandler, or None for an unknown method
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        full_method: str = handler_call_details.method
        service, _, method = full_method.lstrip("/").rpartition("/")
        metadata = dict(handler_call_details.invocation_metadata or ())
        raw_id = metadata.get(REQUEST_ID_METADATA_KEY)
        request_id = accept_request_id(raw_id if isinstance(raw_id, str) else None)
        # Registered by grpc.aio, so the handler is a coroutine function.
        inner: Handler = handler.unary_unary  # type: ignore[assignment]
        wrapped = self._wrap(inner, service, method, request_id)
        return grpc.unary_unary_rpc_method_handler(
            wrapped,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )

    def _wrap(self, inner: Handler, service: str, method: str, request_id: str) -> Handler:
        metrics = self._metrics
        quiet = service in _QUIET_SERVICES

        async def unary_unary(request: Any, context: Context) -> Any:
            structlog.contextvars.clear_contextvars()
            structlog.contextvars.bind_contextvars(request_id=request_id, rpc=method)
            set_request_id(request_id)
            metrics.started.labels("unary", service, method).inc()
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            try:
                try:
                    if _contains_nul(request):
                        # No field of ours may hold NUL (PostgreSQL cannot store it);
                        # refusing here keeps a bad byte from becoming a database error.
                        raise InvalidArgument("text fields must not contain NUL characters")
                    return await inner(request, context)
                except DomainError as error:
                    code, message = error.code, error.message
                except asyncio.CancelledError:
                    code = grpc.StatusCode.CANCELLED
                    raise
                except Exception as error:
                    # context.abort() raises once the status is set: keep what it set.
                    if _is_abort(error):
                        code = context.code() or grpc.StatusCode.UNKNOWN
                        raise
                    code = grpc.StatusCode.INTERNAL
                    log.exception("rpc.failed", grpc_service=service)
                    message = "internal error"
                # Aborted here, outside the except clauses: an abort raised inside one
                # carries the error as its __context__, and with it the traceback's frames
                # and all they hold (a refused webhook's body, up to 1 MiB), which grpc
                # keeps until the cyclic garbage collector runs. Under a flood of badly
                # signed webhooks that was tens of MB in assessments.
                await context.abort(code, message)
            finally:
                elapsed = time.perf_counter() - started
                metrics.handled.labels("unary", service, method, code.name).inc()
                metrics.handling_seconds.labels("unary", service, method).observe(elapsed)
                emit = log.debug if quiet else log.info
                emit(
                    "rpc.handled",
                    grpc_service=service,
                    grpc_code=code.name,
                    duration_ms=round(elapsed * 1000, 2),
                )

        return unary_unary


def _contains_nul(message: Any) -> bool:
    if not isinstance(message, Message):
        return False
    for descriptor, value in message.ListFields():
        values = value if descriptor.is_repeated else (value,)
        for item in values:
            if isinstance(item, str) and "\x00" in item:
                return True
            if isinstance(item, Message) and _contains_nul(item):
                return True
    return False


def _is_abort(error: BaseException) -> bool:
    return type(error).__name__ == "AbortError"


ReadinessCheck = Callable[[], Awaitable[bool]]
Cleanup = Callable[[], Awaitable[None]]


@dataclass
class GrpcService:
    """What a service hands the lifecycle: its servicers and how to tell it is ready."""

    name: str
    # (function that registers a servicer on a server, full proto service name)
    registrations: Sequence[tuple[Callable[[grpc.aio.Server], None], str]]
    readiness_check: ReadinessCheck
    # Who may call which RPC (alooba_common.authz): the service's own table.
    access: AccessTable
    cleanups: list[Cleanup] = field(default_factory=list)
    # Long-running work the service does beside answering RPCs (say, an outbox relay).
    # Each job gets the "stopping" event and must return soon after it is set.
    background: list[Callable[[asyncio.Event], Coroutine[Any, Any, None]]] = field(
        default_factory=list
    )


# gRPC sets SO_REUSEPORT by default on Linux: a second process on a port already served
# (another stack on the same machine, say) would bind too and share its connections,
# answering its probes. Without it a taken port is a bind error, and the process exits.
EXCLUSIVE_PORT = [("grpc.so_reuseport", 0)]


def create_server(
    service: GrpcService,
    settings: GrpcServerSettings,
    metrics: GrpcServerMetrics,
    health_servicer: Any,
) -> tuple[grpc.aio.Server, int]:
    """The service's server, not started: its servicers and health, behind mutual TLS and
    its access table, bound to settings.host:settings.port. Returns it and the bound port.

    The certificate must be the service's own (spiffe://alooba/<service name>): a process
    given another's does not start (TlsError)."""
    files = CertificateFiles(settings.tls, expected=Identity(service.name))
    server = grpc.aio.server(
        # Authorization first: a call it refuses reaches nothing else.
        interceptors=[
            AuthorizationInterceptor(service.access, metrics.authz_denied),
            ServerInterceptor(metrics),
        ],
        maximum_concurrent_rpcs=settings.max_concurrent_rpcs,
        options=[
            # Clients reconnect every few minutes, so new pods get their share of traffic
            # even behind a connection-level load balancer.
            ("grpc.max_connection_age_ms", 300_000),
            ("grpc.max_connection_age_grace_ms", int(settings.shutdown_grace_seconds * 1000)),
            *EXCLUSIVE_PORT,
        ],
    )
    service_names = [name for _, name in service.registrations]
    for register, _ in service.registrations:
        register(server)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    if settings.reflection:
        enable_reflection((*service_names, health.SERVICE_NAME), server)
    port = server.add_secure_port(f"{settings.host}:{settings.port}", server_credentials(files))
    return server, port


async def serve(service: GrpcService, settings: GrpcServerSettings) -> None:
    """Runs `service` until SIGTERM or SIGINT, then drains and stops it. Returns normally
    (exit status 0) once in-flight RPCs have finished or the grace period has passed."""
    metrics = GrpcServerMetrics.create()
    health_servicer = health_aio.HealthServicer()
    server, bound_port = create_server(service, settings, metrics, health_servicer)
    service_names = [name for _, name in service.registrations]
    readiness_names = ["", *service_names]
    await _set_status(health_servicer, readiness_names, serving=False)
    await health_servicer.set(LIVENESS_SERVICE, health_pb2.HealthCheckResponse.SERVING)

    # The same health, in plaintext, on a port that serves nothing else.
    health_server = grpc.aio.server(options=EXCLUSIVE_PORT)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, health_server)
    health_port = health_server.add_insecure_port(f"{settings.host}:{settings.health_port}")

    metrics_server, metrics_thread = start_http_server(
        settings.metrics_port, addr=settings.metrics_host
    )

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    await server.start()
    await health_server.start()
    log.info(
        "server.started",
        grpc_port=bound_port,
        health_port=health_port,
        metrics_port=metrics_server.server_port,
        services=service_names,
    )
    stopping = asyncio.Event()
    readiness = asyncio.create_task(
        _watch_readiness(
            health_servicer, readiness_names, service.readiness_check, settings, stopping
        )
    )
    background = [asyncio.create_task(job(stopping)) for job in service.background]
    try:
        await stop.wait()
        log.info("server.stopping", grace_seconds=settings.shutdown_grace_seconds)
        # Background work stops at its next safe point; readiness goes off now and the
        # watcher, seeing `stopping`, never turns it back on.
        stopping.set()
        await _set_status(health_servicer, readiness_names, serving=False)
        if settings.drain_seconds:
            await asyncio.sleep(settings.drain_seconds)
        await server.stop(settings.shutdown_grace_seconds)
        await health_server.stop(None)
    finally:
        stopping.set()
        jobs = [readiness, *background]
        _, pending = await asyncio.wait(jobs, timeout=settings.shutdown_grace_seconds)
        # Only a job that ignored the request to stop is cancelled, as a last resort.
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=5)
        for cleanup in reversed(service.cleanups):
            await cleanup()
        metrics_server.shutdown()
        metrics_thread.join(timeout=5)
        log.info("server.stopped")


async def _watch_readiness(
    servicer: Any,
    names: Sequence[str],
    check: ReadinessCheck,
    settings: GrpcServerSettings,
    stopping: asyncio.Event,
) -> None:
    ready: bool | None = None
    while not stopping.is_set():
        now_ready = await check()
        if stopping.is_set():
            return  # shutdown has turned readiness off for good
        if now_ready != ready:
            await _set_status(servicer, names, serving=now_ready)
            (log.info if now_ready else log.warning)("readiness.changed", serving=now_ready)
            ready = now_ready
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), settings.health_check_interval_seconds)


async def _set_status(servicer: Any, names: Sequence[str], *, serving: bool) -> None:
    status = (
        health_pb2.HealthCheckResponse.SERVING
        if serving
        else health_pb2.HealthCheckResponse.NOT_SERVING
    )
    for name in names:
        await servicer.set(name, status)
