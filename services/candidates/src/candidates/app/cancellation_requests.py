"""After an erasure, assessments cancels the candidate's open invitations: the request is
an outbox message of this kind, written in the erasure's own transaction (app/events.py),
so an erasure that committed always reaches assessments however long assessments is away
(outbound/cancellations.py delivers it). The payload holds ids and the reason, never PII.
"""

from __future__ import annotations

KIND = "invitations.cancel"


def payload(organization_id: str, candidate_id: str, reason: str) -> dict[str, str]:
    return {"organization_id": organization_id, "candidate_id": candidate_id, "reason": reason}
