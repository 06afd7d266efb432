"""HTTP server metrics, labelled by route template (never the raw path)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


@dataclass(frozen=True, slots=True)
class HttpMetrics:
    requests: Counter
    duration: Histogram
    webhooks: Counter
    auth_failures: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry = REGISTRY) -> HttpMetrics:
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
            webhooks=Counter(
                "gateway_webhooks_total",
                "Greenhouse webhooks answered, by action and outcome (applied, duplicate, "
                "stale, unknown_candidate, ignored, rejected).",
                ("action", "outcome"),
                registry=registry,
            ),
            auth_failures=Counter(
                "gateway_auth_failures_total",
                "Failed authentications, by surface (partner, webhook) and outcome "
                "(refused: 401; throttled: 429, the address or key prefix failed too often).",
                ("surface", "outcome"),
                registry=registry,
            ),
        )
