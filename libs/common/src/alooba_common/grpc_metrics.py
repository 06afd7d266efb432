"""The standard gRPC server metrics (the go-grpc-prometheus names dashboards expect)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


@dataclass(frozen=True, slots=True)
class GrpcServerMetrics:
    started: Counter
    handled: Counter
    handling_seconds: Histogram
    # Calls refused by the access table (alooba_common.authz); labels bounded by the table.
    authz_denied: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry = REGISTRY) -> GrpcServerMetrics:
        labels = ("grpc_type", "grpc_service", "grpc_method")
        return cls(
            started=Counter(
                "grpc_server_started_total",
                "RPCs started on the server.",
                labels,
                registry=registry,
            ),
            handled=Counter(
                "grpc_server_handled_total",
                "RPCs completed on the server, whatever their status.",
                (*labels, "grpc_code"),
                registry=registry,
            ),
            handling_seconds=Histogram(
                "grpc_server_handling_seconds",
                "Time from an RPC's arrival to its response being ready.",
                labels,
                buckets=_LATENCY_BUCKETS,
                registry=registry,
            ),
            authz_denied=Counter(
                "grpc_server_authz_denied_total",
                "RPCs refused with PERMISSION_DENIED: the caller may not call the method.",
                ("service", "method", "caller"),
                registry=registry,
            ),
        )
