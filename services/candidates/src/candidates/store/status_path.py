"""A status webhook's SQL as Core statements: the candidate (locked), its applications,
one UPDATE of the applications that change, one of the candidate's display status, and
the event's row; no ORM unit of work or object loading.

A candidate merged into another is left to the ORM path (candidates.app.events), which
follows the merge. Statements are built once, with bind parameters.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from candidates.store.models import Application, Candidate, HiringStatus, WebhookEvent

_CANDIDATES = cast(Table, Candidate.__table__)
_APPLICATIONS = cast(Table, Application.__table__)

# Locked like the ORM path's candidate row (PostgreSQL; SQLite's BEGIN IMMEDIATE has
# already serialized the writers), so erasures, merges, registrations and other status
# events for the candidate queue.
_LOCK_CANDIDATE = (
    select(_CANDIDATES.c.id, _CANDIDATES.c.merged_into_id)
    .where(
        _CANDIDATES.c.organization_id == bindparam("organization_id"),
        _CANDIDATES.c.greenhouse_candidate_id == bindparam("greenhouse_candidate_id"),
    )
    .with_for_update()
)
# Read after the lock is held, in a statement of its own: joined into the locking query,
# PostgreSQL would hand back the applications as they were before the lock was granted
# (READ COMMITTED re-checks only the locked row), and an older event could then win over
# the newer one that held the lock.
_APPLICATIONS_OF = (
    select(
        _APPLICATIONS.c.id,
        _APPLICATIONS.c.greenhouse_application_id,
        _APPLICATIONS.c.status,
        _APPLICATIONS.c.status_changed_at,
    )
    .where(_APPLICATIONS.c.candidate_id == bindparam("candidate_id"))
    .order_by(_APPLICATIONS.c.created_at, _APPLICATIONS.c.id)
)

_SET_APPLICATIONS = (
    update(_APPLICATIONS)
    .where(_APPLICATIONS.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        status=bindparam("status"),
        status_changed_at=bindparam("occurred"),
        updated_at=bindparam("received"),
    )
)
_SET_CANDIDATE = (
    update(_CANDIDATES)
    .where(_CANDIDATES.c.id == bindparam("candidate_id"))
    .values(hiring_status=bindparam("hiring_status"), updated_at=bindparam("received"))
)
_INSERT_EVENT = insert(cast(Table, WebhookEvent.__table__))


@dataclass(slots=True)
class ApplicationState:
    """What a status event reads of an application (what display_status needs)."""

    id: str
    greenhouse_application_id: int | None
    status: HiringStatus
    status_changed_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class CandidateState:
    id: str
    merged_into_id: str | None
    applications: list[ApplicationState]


async def candidate_state(
    session: AsyncSession, organization_id: str, greenhouse_candidate_id: int
) -> CandidateState | None:
    """The candidate (locked) and its applications, oldest first; None when unknown."""
    candidate = (
        await session.execute(
            _LOCK_CANDIDATE,
            {
                "organization_id": organization_id,
                "greenhouse_candidate_id": greenhouse_candidate_id,
            },
        )
    ).first()
    if candidate is None:
        return None
    if candidate.merged_into_id is not None:
        return CandidateState(candidate.id, candidate.merged_into_id, [])
    rows = await session.execute(_APPLICATIONS_OF, {"candidate_id": candidate.id})
    return CandidateState(
        id=candidate.id,
        merged_into_id=None,
        applications=[ApplicationState(*row) for row in rows],
    )


async def set_status(
    session: AsyncSession,
    *,
    candidate_id: str,
    application_ids: list[str],
    status: str,
    hiring_status: str,
    occurred: dt.datetime,
    received: dt.datetime,
) -> None:
    await session.execute(
        _SET_APPLICATIONS,
        {"ids": application_ids, "status": status, "occurred": occurred, "received": received},
    )
    await session.execute(
        _SET_CANDIDATE,
        {"candidate_id": candidate_id, "hiring_status": hiring_status, "received": received},
    )


async def insert_event(session: AsyncSession, event: Mapping[str, Any]) -> None:
    """The event's row; a redelivery breaks the unique (organization, event id)."""
    await session.execute(_INSERT_EVENT, [dict(event)])
