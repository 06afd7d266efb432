"""Outbox metrics, the same names in every service (each service has its own endpoint)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge


@dataclass(frozen=True, slots=True)
class OutboxMetrics:
    pending: Gauge
    oldest_pending_age: Gauge
    deliveries: Counter
    dead_letters: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry = REGISTRY) -> OutboxMetrics:
        return cls(
            pending=Gauge(
                "outbox_messages_pending",
                "Outbox messages waiting to be delivered, by kind.",
                ("kind",),
                registry=registry,
            ),
            oldest_pending_age=Gauge(
                "outbox_oldest_pending_age_seconds",
                "Age of the oldest undelivered outbox message, by kind.",
                ("kind",),
                registry=registry,
            ),
            deliveries=Counter(
                "outbox_deliveries_total",
                "Delivery attempts by kind and result (delivered, retry, dead).",
                ("kind", "result"),
                registry=registry,
            ),
            dead_letters=Counter(
                "outbox_dead_letters_total",
                "Messages that became dead letters, by kind.",
                ("kind",),
                registry=registry,
            ),
        )
