"""The console's metrics: the standard HTTP ones (by route template, never the raw path:
it holds ids) and its own counters."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, Counter

from alooba_common.http_server import HttpServerMetrics


@dataclass(frozen=True, slots=True)
class HttpMetrics:
    # http_server_requests_total and http_server_request_duration_seconds.
    http: HttpServerMetrics
    logins: Counter
    csrf_refused: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry = REGISTRY) -> HttpMetrics:
        return cls(
            http=HttpServerMetrics.create(registry),
            logins=Counter(
                "console_logins_total",
                "Sign-in attempts by outcome (succeeded, refused, throttled).",
                ("outcome",),
                registry=registry,
            ),
            csrf_refused=Counter(
                "console_csrf_refused_total",
                "Form posts refused for a missing or wrong CSRF token.",
                registry=registry,
            ),
        )
