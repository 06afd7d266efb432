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
RESULTS_COMPLETED = Counter(
    "assessments_results_completed_total",
    "Invitations that reached a final result (and queued the Greenhouse callback).",
)
INVITATIONS_EXPIRED = Counter(
    "assessments_invitations_expired_total", "Invitations that passed their deadline unfinished."
)
REMINDERS_QUEUED = Counter(
    "assessments_reminders_queued_total", "Reminder emails queued before a deadline."
)
EMAILS_SENT = Counter(
    "assessments_emails_sent_total",
    "Invitation emails handed to SMTP (or written to the mail folder), by purpose.",
    ("purpose",),
)
EMAILS_SKIPPED = Counter(
    "assessments_emails_skipped_total",
    "Queued emails not sent because the invitation or candidate no longer wants one.",
    ("purpose", "reason"),
)
CALLBACKS = Counter(
    "assessments_callbacks_total",
    "Greenhouse callback PATCH attempts by outcome (delivered, retry, rejected).",
    ("outcome",),
)
CALLBACKS_REJECTED = Counter(
    "assessments_callbacks_rejected_total",
    "Callbacks Greenhouse refused with a 4xx that retrying cannot fix (alert on this).",
)
WEBHOOK_SIGNATURE_FAILURES = Counter(
    "assessments_webhook_signature_failures_total",
    # No organization label: who sent a bad signature is in the log line
    # (webhook.signature_refused) and the setup doctor's receipts, not in a label.
    "Webhooks refused for a missing, malformed or wrong signature or an unknown organization.",
)
WEBHOOK_PINGS = Counter("assessments_webhook_pings_total", "Greenhouse webhook pings recorded.")
INVITATIONS_CANCELLED_BY_ERASURE = Counter(
    "assessments_invitations_cancelled_by_erasure_total",
    "Unfinished invitations cancelled because the candidate's data was erased.",
)
