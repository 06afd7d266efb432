"""Time-driven changes: invitations past their deadline expire, and one reminder is
queued before a deadline. Safe with several replicas: each change is a conditional
UPDATE that only one replica's statement can win."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import Callable

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alooba_common.db import utcnow
from assessments.metrics import INVITATIONS_EXPIRED, REMINDERS_QUEUED
from assessments.store import states
from assessments.store.models import InvitationEvent
from assessments.store.repository import Repository

log = structlog.get_logger("assessments.jobs.sweeper")

_BATCH = 200


class Sweeper:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        reminder_before: dt.timedelta,
        interval_seconds: float,
        outbox_committed: Callable[[], None],
    ) -> None:
        self._sessions = sessions
        self._reminder_before = reminder_before
        self._interval = interval_seconds
        self._outbox_committed = outbox_committed

    async def run(self, stopping: asyncio.Event) -> None:
        """Sweeps every interval until `stopping` is set (checked between sweeps)."""
        while not stopping.is_set():
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sweeper.failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self._interval)

    async def sweep(self) -> tuple[int, int]:
        """(expired, reminders queued) in this pass."""
        now = utcnow()
        expired = await self._expire(now)
        reminded = await self._queue_reminders(now) if self._reminder_before else 0
        if reminded:
            self._outbox_committed()
        return expired, reminded

    async def _expire(self, now: dt.datetime) -> int:
        async with self._sessions.begin() as session:
            repository = Repository(session)
            ids = await repository.expire_due_invitations(now)
            repository.add(
                *(
                    InvitationEvent(invitation_id=invitation_id, kind="expired", occurred_at=now)
                    for invitation_id in ids
                )
            )
        if ids:
            INVITATIONS_EXPIRED.inc(len(ids))
            log.info("invitations.expired", count=len(ids))
        return len(ids)

    async def _queue_reminders(self, now: dt.datetime) -> int:
        queued = 0
        async with self._sessions.begin() as session:
            repository = Repository(session)
            due = await repository.invitations_due_a_reminder(
                now, self._reminder_before, limit=_BATCH
            )
            for invitation_id in due:
                if not await repository.claim_reminder(invitation_id, now):
                    continue  # another replica queued it first
                await repository.enqueue(
                    states.EMAIL_KIND,
                    {"invitation_id": invitation_id, "purpose": "reminder", "sequence": 0},
                    dedupe_key=f"reminder:{invitation_id}:{now.isoformat()}",
                )
                queued += 1
        if queued:
            REMINDERS_QUEUED.inc(queued)
            log.info("reminders.queued", count=queued)
        return queued
