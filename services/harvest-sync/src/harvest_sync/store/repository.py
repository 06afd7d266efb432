"""SQL for harvest-sync's connections, their custom fields and their push queue. Never
commits: the caller (a use case in app/) owns the transaction. The shared rate budget,
token store and lease locks keep their own SQL (budgets.py, token_store.py, locks.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from alooba_common.outbox import DEAD, PENDING, enqueue
from harvest_sync.store.models import OUTBOX, Connection, CustomFieldRecord


@dataclass(frozen=True, slots=True)
class QueueFigures:
    depth: int
    oldest_pending: dt.datetime | None
    dead_letters: int


@dataclass(frozen=True, slots=True)
class CachedField:
    """A field's Greenhouse id and name_key, as remembered under its name."""

    name: str
    greenhouse_id: int
    name_key: str


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def flush(self) -> None:
        await self._session.flush()

    # --- connections -----------------------------------------------------------------

    async def connection(
        self, organization_id: str, *, for_update: bool = False
    ) -> Connection | None:
        return await self._session.get(Connection, organization_id, with_for_update=for_update)

    def add_connection(self, connection: Connection) -> None:
        self._session.add(connection)

    async def delete_connection(self, connection: Connection) -> None:
        await self._session.delete(connection)

    def detach(self, connection: Connection) -> None:
        """The row stays readable after the transaction ends (it is not refreshed)."""
        self._session.expunge(connection)

    # --- custom fields ---------------------------------------------------------------

    async def fields(self, organization_id: str) -> Sequence[CustomFieldRecord]:
        return (
            await self._session.scalars(
                select(CustomFieldRecord)
                .where(CustomFieldRecord.organization_id == organization_id)
                .order_by(CustomFieldRecord.id)
            )
        ).all()

    async def cached_fields(self, organization_id: str, names: Sequence[str]) -> list[CachedField]:
        rows = await self._session.execute(
            select(
                CustomFieldRecord.name,
                CustomFieldRecord.greenhouse_id,
                CustomFieldRecord.name_key,
            ).where(
                CustomFieldRecord.organization_id == organization_id,
                CustomFieldRecord.name.in_(list(names)),
            )
        )
        return [CachedField(name, greenhouse_id, key) for name, greenhouse_id, key in rows]

    async def remember_field(
        self,
        organization_id: str,
        name: str,
        *,
        greenhouse_id: int,
        name_key: str,
        created_by_us: bool,
    ) -> None:
        """Stores a field's ids; a row already there (another replica's) is kept."""
        dialect = self._session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        await self._session.execute(
            insert(CustomFieldRecord)
            .values(
                organization_id=organization_id,
                name=name,
                greenhouse_id=greenhouse_id,
                name_key=name_key,
                created_by_us=created_by_us,
            )
            .on_conflict_do_nothing()
        )

    async def forget_fields(self, organization_id: str) -> None:
        await self._session.execute(
            delete(CustomFieldRecord).where(CustomFieldRecord.organization_id == organization_id)
        )

    # --- the push queue --------------------------------------------------------------

    async def enqueue(
        self, kind: str, payload: Mapping[str, Any], *, dedupe_key: str | None = None
    ) -> None:
        """Queues a message in the same transaction as the caller's other writes."""
        await enqueue(self._session, OUTBOX, kind, payload, dedupe_key=dedupe_key)

    async def queue_figures(self, kind: str, dedupe_prefix: str) -> QueueFigures:
        """The pending and dead messages of `kind` whose dedupe key starts `dedupe_prefix`
        (one organization's pushes)."""
        mine = organization_messages(kind, dedupe_prefix)
        pending = (
            await self._session.execute(
                select(func.count(), func.min(OUTBOX.c.created_at)).where(
                    mine, OUTBOX.c.status == PENDING
                )
            )
        ).one()
        dead = await self._session.scalar(select(func.count()).where(mine, OUTBOX.c.status == DEAD))
        return QueueFigures(depth=pending[0], oldest_pending=pending[1], dead_letters=dead or 0)


def organization_messages(kind: str, dedupe_prefix: str) -> ColumnElement[bool]:
    """The outbox messages of `kind` whose dedupe key starts `dedupe_prefix`: one
    organization's pushes, for its queue figures and the console's narrowed outbox calls."""
    return (OUTBOX.c.kind == kind) & OUTBOX.c.dedupe_key.startswith(dedupe_prefix, autoescape=True)
