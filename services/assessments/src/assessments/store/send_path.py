"""send_test's and test_status's SQL as Core statements: no unit of work, no identity
map, no object loading on the partner API's hot path (`make bench` showed the ORM's
bookkeeping costing several times the work of these few indexed rows).

Each statement is built once, with bind parameters, so SQLAlchemy compiles it once per
dialect and reuses the compiled form (its compiled cache is keyed on the statement).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from assessments.store.models import Invitation, InvitationEvent, Test
from assessments.store.states import InvitationStatus

_INVITATIONS = cast(Table, Invitation.__table__)
_EVENTS = cast(Table, InvitationEvent.__table__)

# The test send_test names and, in the same round trip, the invitation already made for
# this callback url (send_test is idempotent on it).
_TEST_AND_EXISTING = select(
    Test.expiry_days,
    Test.needs_manual_evaluation,
    Test.archived_at,
    select(Invitation.id)
    .where(
        Invitation.organization_id == bindparam("organization_id"),
        Invitation.callback_url == bindparam("url"),
    )
    .scalar_subquery()
    .label("existing_id"),
).where(Test.id == bindparam("test_id"), Test.organization_id == bindparam("organization_id"))

_INSERT_INVITATION = insert(_INVITATIONS)
_INSERT_EVENT = insert(_EVENTS)

# What test_status shows, and nothing else: one tenant-scoped row by primary key.
_STATUS = select(
    Invitation.id,
    Invitation.status,
    Invitation.score,
    Invitation.skill_scores,
    Invitation.evaluator,
    Invitation.started_at,
    Invitation.submitted_at,
    Invitation.completed_at,
).where(
    Invitation.id == bindparam("invitation_id"),
    Invitation.organization_id == bindparam("organization_id"),
)


class StatusRow(Protocol):
    """The invitation's fields test_status_view reads."""

    id: str
    status: InvitationStatus
    score: float | None
    skill_scores: list[dict[str, Any]] | None
    evaluator: str | None
    started_at: dt.datetime | None
    submitted_at: dt.datetime | None
    completed_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class SendTarget:
    """The test to send, and the invitation an earlier send_test made for the url."""

    expiry_days: int
    needs_manual_evaluation: bool
    archived: bool
    existing_id: str | None


async def send_target(
    session: AsyncSession, organization_id: str, test_id: str, url: str
) -> SendTarget | None:
    """None when the organization has no such test."""
    row = (
        await session.execute(
            _TEST_AND_EXISTING,
            {"organization_id": organization_id, "test_id": test_id, "url": url},
        )
    ).first()
    if row is None:
        return None
    return SendTarget(
        expiry_days=row.expiry_days,
        needs_manual_evaluation=row.needs_manual_evaluation,
        archived=row.archived_at is not None,
        existing_id=row.existing_id,
    )


async def insert_invitation(
    session: AsyncSession,
    invitation: Mapping[str, Any],
    event_kinds: Sequence[str],
    occurred_at: dt.datetime,
) -> None:
    """The invitation row and its first events, in the caller's transaction."""
    await session.execute(_INSERT_INVITATION, [dict(invitation)])
    await session.execute(
        _INSERT_EVENT,
        [
            {"invitation_id": invitation["id"], "kind": kind, "occurred_at": occurred_at}
            for kind in event_kinds
        ],
    )


async def invitation_status(
    session: AsyncSession, organization_id: str, invitation_id: str
) -> StatusRow | None:
    """None when the organization has no such invitation (another tenant's reads so)."""
    row = (
        await session.execute(
            _STATUS, {"invitation_id": invitation_id, "organization_id": organization_id}
        )
    ).first()
    return cast("StatusRow | None", row)
