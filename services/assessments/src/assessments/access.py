"""Who may call which of the assessments service's RPCs (alooba_common.authz).

The one place this is decided; docs/security.md is generated from it
(scripts/gen-security-doc.py) and a test keeps the two the same.
"""

from __future__ import annotations

from alooba.assessments.v1 import assessments_pb2 as pb
from alooba_common.authz import access_table, grants
from alooba_common.outbox_servicer import OUTBOX_DESCRIPTOR
from alooba_common.tls import Identity

GATEWAY = [Identity.GATEWAY]
PLATFORM = [Identity.PLATFORM]
OPERATOR = [Identity.OPERATOR]
_SERVICES = pb.DESCRIPTOR.services_by_name

ACCESS = access_table(
    # Greenhouse's partner API, as the gateway forwards it (the partner key in each
    # request is checked here).
    grants(
        _SERVICES["PartnerService"],
        {
            "ListTests": GATEWAY,
            "SendTest": GATEWAY,
            "GetTestStatus": GATEWAY,
            "RecordResponseError": GATEWAY,
            "Authenticate": GATEWAY,
        },
    ),
    # Greenhouse's webhooks, as the gateway receives them; the pings are for the setup check.
    grants(
        _SERVICES["WebhookService"],
        {
            "VerifyWebhookSignature": GATEWAY,
            "RecordWebhookPing": GATEWAY,
            "CancelCandidateInvitations": GATEWAY,
            "ListWebhookPings": OPERATOR,
        },
    ),
    # The assessment platform reports progress and results; no one else sets a score.
    grants(
        _SERVICES["PlatformService"],
        {
            "ResolveAccessToken": PLATFORM,
            "StartAssessment": PLATFORM,
            "SubmitAssessment": PLATFORM,
            "RecordEvaluation": PLATFORM,
            "ExtendDeadline": PLATFORM,
            "CancelInvitation": PLATFORM,
            "ResendInvitation": PLATFORM,
        },
    ),
    # The operators' API (alooba-gh). The console will be added here, scoped to the
    # signed-in user's organization.
    grants(
        _SERVICES["AdminService"],
        {
            "CreateOrganization": OPERATOR,
            "ListOrganizations": OPERATOR,
            "GetOrganization": OPERATOR,
            "IssueApiKey": OPERATOR,
            "RotateApiKey": OPERATOR,
            "RevokeApiKey": OPERATOR,
            "ListApiKeys": OPERATOR,
            "CreateTest": OPERATOR,
            "UpdateTest": OPERATOR,
            "ArchiveTest": OPERATOR,
            "ListOrganizationTests": OPERATOR,
            "ListInvitations": OPERATOR,
            "GetInvitation": OPERATOR,
            "GetIntegrationHealth": OPERATOR,
        },
    ),
    grants(OUTBOX_DESCRIPTOR, {"ListDeadLetters": OPERATOR, "ReplayDeadLetters": OPERATOR}),
)
