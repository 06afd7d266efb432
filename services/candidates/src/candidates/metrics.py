"""Business metrics of the candidates service. No labels carry ids or PII."""

from __future__ import annotations

from prometheus_client import Counter

APPLICATIONS_REGISTERED = Counter(
    "candidates_applications_registered_total", "Applications registered for the first time."
)
