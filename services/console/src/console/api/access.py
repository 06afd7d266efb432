"""Who may call which of the console's RPCs (alooba_common.authz).

The one place this is decided; docs/security.md is generated from it
(scripts/gen-security-doc.py) and a test keeps the two the same.
"""

from __future__ import annotations

from alooba.console.v1 import console_pb2 as pb
from alooba_common.authz import access_table, grants
from alooba_common.outbox_servicer import OUTBOX_DESCRIPTOR
from alooba_common.tls import Identity

OPERATOR = [Identity.OPERATOR]

ACCESS = access_table(
    # The console's users, managed by operators with alooba-gh user (the first Owner of an
    # organization); Owners invite the others from the pages.
    grants(
        pb.DESCRIPTOR.services_by_name["UserService"],
        {"InviteUser": OPERATOR, "ListMembers": OPERATOR},
    ),
    grants(
        OUTBOX_DESCRIPTOR,
        {"ListDeadLetters": OPERATOR, "ReplayDeadLetters": OPERATOR, "ListQueued": OPERATOR},
    ),
)
