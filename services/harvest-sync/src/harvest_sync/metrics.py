"""harvest-sync's own metrics (the relay's are alooba_common.outbox_metrics)."""

from __future__ import annotations

from prometheus_client import Counter

PUSHES = Counter(
    "harvest_sync_pushes_total",
    "Score pushes to Greenhouse by outcome: written, retry, rate_limited (a 429), throttled "
    "(put back: our own rate budget had no slot), waiting (for a person to act on the "
    "connection), rejected (dead letter), not_connected",
    ["outcome"],
)
RATE_LIMITED = Counter(
    "harvest_sync_rate_limited_total", "429 answers from Greenhouse's Harvest API"
)
