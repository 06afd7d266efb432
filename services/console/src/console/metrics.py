"""HTTP server metrics, labelled by route template (never the raw path: it holds ids),
and the console's own counters."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


@dataclass(frozen=True, slots=True)
class HttpMetrics:
    requests: Counter
    duration: Histogram
    logins: Counter
    csrf_refused: Counter

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
