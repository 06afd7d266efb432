"""send_test's registration as two statements: the candidate and its application, each
one `INSERT … ON CONFLICT … DO UPDATE … RETURNING id` (PostgreSQL and SQLite alike), in
place of look-up, lock, load and flush through the ORM.

The common case only: a Greenhouse candidate id and application id, and a candidate that
was not merged into another. The rest (registration by key, an application of unknown id,
a merged candidate) stays with the ORM path in candidates.app.service, which follows merges
and picks "the application we were not told about".

The statements are built once per dialect with bind parameters, so each compiles once.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import Table, bindparam
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from candidates.store.models import Application, Candidate

_CANDIDATES = cast(Table, Candidate.__table__)
_APPLICATIONS = cast(Table, Application.__table__)
_CONTACT = ("first_name", "last_name", "preferred_name", "email", "phone_number")
_APPLICATION = ("resume_url", "profile_url", "sent_by")


def _statements(insert: Any) -> tuple[Insert, Insert]:
    """The two upserts in `insert`'s dialect (postgresql.insert or sqlite.insert)."""
    candidate = insert(_CANDIDATES).values(
        id=bindparam("new_candidate_id"),
        organization_id=bindparam("organization_id"),
        greenhouse_candidate_id=bindparam("greenhouse_candidate_id"),
        registration_key=None,
        hiring_status="active",
        erased_at=None,
        created_at=bindparam("now"),
        updated_at=bindparam("now"),
        **{name: bindparam(name) for name in _CONTACT},
    )
    # The latest contact details win; details sent again after an erasure bring the PII
    # back (erased_at cleared). A merged row keeps no PII: no update, no row returned.
    candidate = candidate.on_conflict_do_update(
        index_elements=["organization_id", "greenhouse_candidate_id"],
        set_={
            **{name: candidate.excluded[name] for name in _CONTACT},
            "erased_at": None,
            "updated_at": candidate.excluded.updated_at,
        },
        where=_CANDIDATES.c.merged_into_id.is_(None),
    ).returning(_CANDIDATES.c.id)
    application = insert(_APPLICATIONS).values(
        id=bindparam("new_application_id"),
        candidate_id=bindparam("candidate_id"),
        greenhouse_application_id=bindparam("greenhouse_application_id"),
        status="active",
        created_at=bindparam("now"),
        updated_at=bindparam("now"),
        **{name: bindparam(name) for name in _APPLICATION},
    )
    application = application.on_conflict_do_update(
        index_elements=["candidate_id", "greenhouse_application_id"],
        set_={
            **{name: application.excluded[name] for name in _APPLICATION},
            "updated_at": application.excluded.updated_at,
        },
    ).returning(_APPLICATIONS.c.id)
    return candidate, application


_BY_DIALECT = {"postgresql": _statements(postgresql.insert), "sqlite": _statements(sqlite.insert)}


@dataclass(frozen=True, slots=True)
class Registered:
    candidate_id: str
    application_id: str
    application_created: bool


async def upsert_registration(
    session: AsyncSession,
    *,
    organization_id: str,
    greenhouse_candidate_id: int,
    greenhouse_application_id: int,
    contact: dict[str, str | None],
    application: dict[str, str | None],
    now: dt.datetime,
) -> Registered | None:
    """Both rows written, in the caller's transaction; None when the candidate was
    merged into another (nothing written: the caller takes the ORM path)."""
    upsert_candidate, upsert_application = _BY_DIALECT[session.get_bind().dialect.name]
    candidate_id = (
        await session.execute(
            upsert_candidate,
            {
                "new_candidate_id": uuid.uuid4().hex,
                "organization_id": organization_id,
                "greenhouse_candidate_id": greenhouse_candidate_id,
                "now": now,
                **contact,
            },
        )
    ).scalar_one_or_none()
    if candidate_id is None:
        return None
    new_application_id = uuid.uuid4().hex
    application_id = (
        await session.execute(
            upsert_application,
            {
                "new_application_id": new_application_id,
                "candidate_id": candidate_id,
                "greenhouse_application_id": greenhouse_application_id,
                "now": now,
                **application,
            },
        )
    ).scalar_one()
    return Registered(candidate_id, application_id, application_id == new_application_id)
