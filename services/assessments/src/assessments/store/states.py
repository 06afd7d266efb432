"""An invitation's states (its `status` column, and Greenhouse's `partner_status`).

    sent ──start──> started ──submit──> complete
      │                │          └────> awaiting_evaluation ──evaluate──> complete
      ├── (deadline) ──┴──> expired ──extend──> sent / started
      └── cancel ──────┴──> cancelled

Only "complete" means anything to Greenhouse (it stops polling and shows the score);
the others are shown as the status text.
"""

from __future__ import annotations

from enum import StrEnum


class InvitationStatus(StrEnum):
    """The `status` column's values (store.models.Invitation), the same text in the database,
    in Greenhouse's `partner_status` and in the protos' InvitationStatus."""

    SENT = "sent"
    STARTED = "started"
    AWAITING_EVALUATION = "awaiting_evaluation"
    COMPLETE = "complete"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


# The rules name them as `states.SENT`, ...
SENT = InvitationStatus.SENT
STARTED = InvitationStatus.STARTED
AWAITING_EVALUATION = InvitationStatus.AWAITING_EVALUATION
COMPLETE = InvitationStatus.COMPLETE
EXPIRED = InvitationStatus.EXPIRED
CANCELLED = InvitationStatus.CANCELLED

ALL = tuple(InvitationStatus)
# The candidate can still open or submit the test.
OPEN = frozenset({SENT, STARTED})
FINAL = frozenset({COMPLETE, CANCELLED})

# Outbox message kinds of the assessments service.
EMAIL_KIND = "invitation.email"
CALLBACK_KIND = "greenhouse.callback"
HARVEST_SCORES_KIND = "harvest.scores"

# The kind of the invitation event that records why its scores will not be pushed to
# Greenhouse through Harvest, followed by the reason (assessments.app.greenhouse).
HARVEST_SKIPPED_EVENT = "harvest_skipped:"
