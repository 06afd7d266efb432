"""Authorization by caller identity, per RPC.

Each service declares one table (`access_table`): for every method of every gRPC service it
serves, the identities allowed to call it. One interceptor enforces it on every call, from
the certificate the caller presented (alooba_common.tls). What the table does not name is
PERMISSION_DENIED, logged (caller and method, never the request) and counted. Health is
open to every caller; reflection, when it is on, to operators only.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import grpc
import structlog
from google.protobuf.descriptor import ServiceDescriptor
from prometheus_client import Counter

from alooba_common.tls import Identity, peer_spiffe_id

log = structlog.get_logger("alooba.authz")

HEALTH_SERVICE = "grpc.health.v1.Health"
REFLECTION_SERVICE = "grpc.reflection.v1alpha.ServerReflection"
REFLECTION_V1_SERVICE = "grpc.reflection.v1.ServerReflection"
# Open to every caller that completed the TLS handshake (and, on the health port, to the
# kubelet, which has no certificate).
OPEN_SERVICES = frozenset({HEALTH_SERVICE})
# The same for every service: reflection shows the whole API, for grpcurl.
COMMON_RULES: Mapping[str, frozenset[Identity]] = {
    f"/{REFLECTION_V1_SERVICE}/ServerReflectionInfo": frozenset({Identity.OPERATOR}),
    f"/{REFLECTION_SERVICE}/ServerReflectionInfo": frozenset({Identity.OPERATOR}),
}
# Label values for what the table does not know, so that metric labels stay bounded.
OTHER = "other"
UNKNOWN_CALLER = "unknown"


@dataclass(frozen=True, slots=True)
class AccessTable:
    """Full method name (`/package.Service/Method`) → the identities allowed to call it."""

    rules: Mapping[str, frozenset[Identity]]

    def allowed(self, full_method: str) -> frozenset[Identity]:
        return self.rules.get(full_method, frozenset())

    def services(self) -> list[str]:
        """The gRPC services the table covers, in the order it names them."""
        return list(dict.fromkeys(_split(method)[0] for method in self.rules))


def grants(
    service: ServiceDescriptor, methods: Mapping[str, Iterable[Identity]]
) -> dict[str, frozenset[Identity]]:
    """One gRPC service's rows. Every method of the service must be named (an empty list
    when no one may call it), so that adding an RPC forces a decision about who may."""
    known = set(service.methods_by_name)
    unknown = set(methods) - known
    if unknown:
        raise ValueError(f"{service.full_name} has no method {', '.join(sorted(unknown))}")
    missing = known - set(methods)
    if missing:
        raise ValueError(f"{service.full_name}: no rule for {', '.join(sorted(missing))}")
    return {
        f"/{service.full_name}/{method}": frozenset(methods[method])
        for method in (m.name for m in service.methods)
    }


def access_table(*service_grants: Mapping[str, frozenset[Identity]]) -> AccessTable:
    """A service's table: its services' grants, plus the rules every service shares."""
    rules: dict[str, frozenset[Identity]] = {}
    for one in (*service_grants, COMMON_RULES):
        overlap = set(rules) & set(one)
        if overlap:
            raise ValueError(f"methods given twice: {', '.join(sorted(overlap))}")
        rules.update(one)
    return AccessTable(rules)


def _split(full_method: str) -> tuple[str, str]:
    service, _, method = full_method.lstrip("/").rpartition("/")
    return service, method


Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[Any]]


class AuthorizationInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[type-arg]
    """Lets a call through only when the caller's identity is in the table's row for the
    method. The outermost interceptor: nothing else looks at a call it refuses."""

    def __init__(self, table: AccessTable, denied: Counter) -> None:
        self._table = table
        self._denied = denied
        self._known_services = set(table.services()) | OPEN_SERVICES

    async def intercept_service(
        self, continuation: Continuation, handler_call_details: grpc.HandlerCallDetails
    ) -> Any:  # a grpc.RpcMethodHandler, or None for an unknown method
        handler = await continuation(handler_call_details)
        full_method: str = handler_call_details.method
        service, method = _split(full_method)
        if handler is None or service in OPEN_SERVICES:
            return handler
        allowed = self._table.allowed(full_method)
        service_label = service if service in self._known_services else OTHER
        method_label = method if full_method in self._table.rules else OTHER

        async def check(context: grpc.aio.ServicerContext[Any, Any]) -> None:
            spiffe_id = peer_spiffe_id(context)
            caller = Identity.from_spiffe_id(spiffe_id)
            if caller in allowed:
                return
            self._denied.labels(
                service_label, method_label, caller.value if caller else UNKNOWN_CALLER
            ).inc()
            # The caller's SPIFFE ID comes from a certificate our CA signed; cut anyway.
            log.warning(
                "rpc.denied",
                caller=(spiffe_id or "none")[:200],
                grpc_service=service,
                grpc_method=method,
            )
            name = caller.value if caller else "this caller"
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED, f"{name} may not call {service}/{method}"
            )

        return _guarded(handler, check)


Check = Callable[[grpc.aio.ServicerContext[Any, Any]], Awaitable[None]]


def _guarded(handler: Any, check: Check) -> Any:
    """The same handler, with `check` run before it on every call, whatever its kind."""

    def guard(inner: Any) -> Any:
        if inspect.isasyncgenfunction(inner):

            async def stream(request: Any, context: Any) -> AsyncIterator[Any]:
                await check(context)
                async for response in inner(request, context):
                    yield response

            return stream

        async def call(request: Any, context: Any) -> Any:
            await check(context)
            return await inner(request, context)

        return call

    for kind, make in (
        ("unary_unary", grpc.unary_unary_rpc_method_handler),
        ("unary_stream", grpc.unary_stream_rpc_method_handler),
        ("stream_unary", grpc.stream_unary_rpc_method_handler),
        ("stream_stream", grpc.stream_stream_rpc_method_handler),
    ):
        inner = getattr(handler, kind)
        if inner is not None:
            return make(
                guard(inner),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
    return handler


def access_markdown(tables: Mapping[str, AccessTable]) -> str:
    """The tables as docs/security.md shows them ({process name: its table}): first what
    each identity may call, then who may call each method."""
    lines = ["### What each identity may call", ""]
    lines += ["| identity | service | methods |", "|---|---|---|"]
    for identity in Identity:
        rows = []
        for process, table in tables.items():
            for service in table.services():
                methods = [
                    _split(full)[1]
                    for full, allowed in table.rules.items()
                    if _split(full)[0] == service and identity in allowed
                ]
                if methods:
                    rows.append(f"| `{identity}` | {process}: `{service}` | {', '.join(methods)} |")
        lines += rows or [f"| `{identity}` | — | nothing yet |"]
    lines += ["", "### Who may call each method", ""]
    for process, table in tables.items():
        lines += [f"#### {process}", "", "| method | identities |", "|---|---|"]
        for full, allowed in table.rules.items():
            names = ", ".join(f"`{i}`" for i in Identity if i in allowed) or "no one"
            lines.append(f"| `{full.lstrip('/')}` | {names} |")
        lines.append("")
    return "\n".join(lines)
