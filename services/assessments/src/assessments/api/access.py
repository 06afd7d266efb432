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
# The console acts for a signed-in person; the servicers scope each such call to that
# person's organization and role (alooba_common.acting).
OPERATOR_OR_CONSOLE = [Identity.OPERATOR, Identity.CONSOLE]
# The assessment platform, and the console where a person of the organization extends,
# cancels, resends or grades.
PLATFORM_OR_CONSOLE = [Identity.PLATFORM, Identity.CONSOLE]
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
            "LookupWebhookOrganization": GATEWAY,
            "VerifyWebhookSignature": GATEWAY,
            "RecordWebhookPing": GATEWAY,
            # candidates, after an erasure, through its outbox.
            "CancelCandidateInvitations": [Identity.CANDIDATES],
            "ListWebhookPings": OPERATOR,
        },
    ),
    # The assessment platform reports progress and results; no one else sets a score. The
    # console may extend, cancel, resend and (Owners, Admins, graders) grade its own
    # organization's invitations.
    grants(
        _SERVICES["PlatformService"],
        {
            "ResolveAccessToken": PLATFORM,
            "StartAssessment": PLATFORM,
            "SubmitAssessment": PLATFORM,
            "RecordEvaluation": PLATFORM_OR_CONSOLE,
            "ExtendDeadline": PLATFORM_OR_CONSOLE,
            "CancelInvitation": PLATFORM_OR_CONSOLE,
            "ResendInvitation": PLATFORM_OR_CONSOLE,
        },
    ),
    # The operators' API (alooba-gh), and the part of it the console's pages use.
    grants(
        _SERVICES["AdminService"],
        {
            "CreateOrganization": OPERATOR,
            "ListOrganizations": OPERATOR,
            "GetOrganization": OPERATOR_OR_CONSOLE,
            # Owners rename their organization from Organization Settings.
            "RenameOrganization": OPERATOR_OR_CONSOLE,
            "IssueApiKey": OPERATOR_OR_CONSOLE,
            "RotateApiKey": OPERATOR_OR_CONSOLE,
            "RevokeApiKey": OPERATOR_OR_CONSOLE,
            "ListApiKeys": OPERATOR_OR_CONSOLE,
            "CreateTest": OPERATOR_OR_CONSOLE,
            "UpdateTest": OPERATOR_OR_CONSOLE,
            "ArchiveTest": OPERATOR_OR_CONSOLE,
            "ListOrganizationTests": OPERATOR_OR_CONSOLE,
            "ListInvitations": OPERATOR_OR_CONSOLE,
            "GetInvitation": OPERATOR_OR_CONSOLE,
            "GetIntegrationHealth": OPERATOR_OR_CONSOLE,
            "CheckSetup": OPERATOR_OR_CONSOLE,
        },
    ),
    grants(
        OUTBOX_DESCRIPTOR,
        {"ListDeadLetters": OPERATOR, "ReplayDeadLetters": OPERATOR, "ListQueued": OPERATOR},
    ),
)
