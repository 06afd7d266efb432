"""Business metrics of the assessments service (`assessments_<noun>_<unit>`)."""

from __future__ import annotations

from prometheus_client import Counter

INVITATIONS_CREATED = Counter(
    "assessments_invitations_created_total", "Invitations created by send_test."
)
PARTNER_AUTH_FAILURES = Counter(
    "assessments_partner_auth_failures_total",
    "Partner API calls refused for a missing, unknown, revoked or expired key.",
)
