"""Who may call which of the candidates service's RPCs (alooba_common.authz).

The one place this is decided; docs/security.md is generated from it
(scripts/gen-security-doc.py) and a test keeps the two the same. This service holds every
candidate's PII, so each row is as narrow as its callers' actual use.
"""

from __future__ import annotations

from alooba.candidates.v1 import candidates_pb2 as pb
from alooba_common.authz import access_table, grants
from alooba_common.outbox_servicer import OUTBOX_DESCRIPTOR
from alooba_common.tls import Identity

ACCESS = access_table(
    grants(
        pb.DESCRIPTOR.services_by_name["CandidatesService"],
        {
            # send_test: assessments stores the candidate here and keeps only ids.
            "RegisterApplication": [Identity.ASSESSMENTS],
            # assessments reads the contact details for the invitation email and the
            # Greenhouse application ids for Harvest; operators read (alooba-gh redacts).
            "GetCandidate": [Identity.ASSESSMENTS, Identity.OPERATOR],
            "FindCandidate": [Identity.OPERATOR],
            # The outbox relay's batch of invitation emails: contact details only.
            "BatchGetContacts": [Identity.ASSESSMENTS],
            # Greenhouse's webhooks, through the gateway.
            "ApplyStatusEvent": [Identity.GATEWAY],
            "MergeCandidates": [Identity.GATEWAY],
            # Erasure: Greenhouse's candidate_anonymized through the gateway, or an operator
            # answering a data subject's request; the receipts show it was done.
            "EraseCandidate": [Identity.GATEWAY, Identity.OPERATOR],
            "ListErasureReceipts": [Identity.OPERATOR],
            # What the assessment platform collects while the candidate takes the test.
            "RecordAssessmentData": [Identity.PLATFORM],
        },
    ),
    # The outbox (erasures' requests to assessments): operators see and replay dead letters.
    grants(
        OUTBOX_DESCRIPTOR,
        {
            "ListDeadLetters": [Identity.OPERATOR],
            "ReplayDeadLetters": [Identity.OPERATOR],
            "ListQueued": [Identity.OPERATOR],
        },
    ),
)
