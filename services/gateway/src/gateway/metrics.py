"""HTTP server metrics, labelled by route template (never the raw path), and the gateway's
own counters."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, Counter

from alooba_common.http_server import HttpServerMetrics


@dataclass(frozen=True, slots=True)
class HttpMetrics:
    # http_server_requests_total and http_server_request_duration_seconds.
    http: HttpServerMetrics
    webhooks: Counter
    auth_failures: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry = REGISTRY) -> HttpMetrics:
        return cls(
            http=HttpServerMetrics.create(registry),
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
