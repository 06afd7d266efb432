"""Who may call which of the harvest-sync service's RPCs (alooba_common.authz).

The one place this is decided; docs/security.md is generated from it
(scripts/gen-security-doc.py) and a test keeps the two the same.
"""

from __future__ import annotations

from alooba.harvest_sync.v1 import harvest_sync_pb2 as pb
from alooba_common.authz import access_table, grants
from alooba_common.outbox_servicer import OUTBOX_DESCRIPTOR
from alooba_common.tls import Identity

OPERATOR = [Identity.OPERATOR]
# Operators (alooba-gh), and the console acting for a person (scoped to their organization).
OPERATOR_OR_CONSOLE = [Identity.OPERATOR, Identity.CONSOLE]

ACCESS = access_table(
    grants(
        pb.DESCRIPTOR.services_by_name["HarvestSyncService"],
        {
            # An organization's Harvest connection, managed with alooba-gh or the console;
            # assessments reads the status for the setup check (CheckSetup).
            "Connect": OPERATOR_OR_CONSOLE,
            "GetStatus": [Identity.OPERATOR, Identity.CONSOLE, Identity.ASSESSMENTS],
            "Disconnect": OPERATOR_OR_CONSOLE,
            # A final result's scores, queued by assessments.
            "QueueScores": [Identity.ASSESSMENTS],
        },
    ),
    # The push queue: operators see all of it; the console an organization's own pushes,
    # for its Owners and Admins (harvest_sync.store.repository.organization_messages).
    grants(
        OUTBOX_DESCRIPTOR,
        {
            "ListDeadLetters": OPERATOR_OR_CONSOLE,
            "ReplayDeadLetters": OPERATOR_OR_CONSOLE,
            "ListQueued": OPERATOR_OR_CONSOLE,
        },
    ),
)
