"""Locks every harvest-sync replica sees, kept in its database as leases: a holder that dies
holds its lock no longer than the lease. Used to mint one v3 token at a time per client and
`sub`, and to write one application at a time (its custom fields are read, merged and
written back, so two writes at once could lose one)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy import delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from harvest_sync.store.models import LeaseLock

_POLL_SECONDS = 0.05


class LockBusy(Exception):
    """Another holder kept the lock for longer than we would wait."""


class LeaseLocks:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sessions = sessions
        self._clock = clock

    @asynccontextmanager
    async def held(
        self, name: str, *, lease_seconds: float, wait_seconds: float
    ) -> AsyncIterator[None]:
        """Holds `name` for the block (and at most `lease_seconds`); LockBusy when it could
        not be had within `wait_seconds`."""
        holder = uuid.uuid4().hex
        deadline = time.monotonic() + wait_seconds
        while not await self._take(name, holder, lease_seconds):
            if time.monotonic() >= deadline:
                raise LockBusy(name)
            await asyncio.sleep(_POLL_SECONDS)
        try:
            yield
        finally:
            async with self._sessions.begin() as session:
                await session.execute(
                    delete(LeaseLock).where(LeaseLock.name == name, LeaseLock.holder == holder)
                )

    async def _take(self, name: str, holder: str, lease_seconds: float) -> bool:
        now = self._clock()
        async with self._sessions.begin() as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            created = await session.execute(
                insert(LeaseLock)
                .values(name=name, holder=holder, expires_at=now + lease_seconds)
                .on_conflict_do_nothing()
            )
            if created.rowcount == 1:  # type: ignore[attr-defined]
                return True
            expired = await session.execute(
                update(LeaseLock)
                .where(LeaseLock.name == name, LeaseLock.expires_at < now)
                .values(holder=holder, expires_at=now + lease_seconds)
            )
            return bool(expired.rowcount == 1)  # type: ignore[attr-defined]
