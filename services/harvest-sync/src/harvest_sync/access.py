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

ACCESS = access_table(
    grants(
        pb.DESCRIPTOR.services_by_name["HarvestSyncService"],
        {
            # An organization's Harvest connection, managed with alooba-gh (the console
            # will be added, scoped to the signed-in user's organization).
            "Connect": OPERATOR,
            "GetStatus": OPERATOR,
            "Disconnect": OPERATOR,
            # A final result's scores, queued by assessments.
            "QueueScores": [Identity.ASSESSMENTS],
        },
    ),
    grants(OUTBOX_DESCRIPTOR, {"ListDeadLetters": OPERATOR, "ReplayDeadLetters": OPERATOR}),
)
