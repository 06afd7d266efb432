"""Business metrics of the candidates service. No labels carry ids or PII."""

from __future__ import annotations

from prometheus_client import Counter

APPLICATIONS_REGISTERED = Counter(
    "candidates_applications_registered_total", "Applications registered for the first time."
)
STATUS_EVENTS = Counter(
    "candidates_status_events_total",
    "Reject/unreject/hire/unhire webhook events, by action and outcome "
    "(applied, duplicate, stale, unknown_candidate).",
    ["action", "outcome"],
)
ERASURES = Counter(
    "candidates_erasures_total",
    "Erasure requests (candidate_anonymized, delete_candidate), by reason and outcome.",
    ["reason", "outcome"],
)
MERGES = Counter(
    "candidates_merges_total",
    "merge_candidate webhook events, by outcome.",
    ["outcome"],
)
