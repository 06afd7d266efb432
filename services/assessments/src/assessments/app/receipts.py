"""Webhook receipts (the setup doctor's "seen" and "last signature failure"), tallied in
memory and written in one batch a second, off the webhook's own path.

A webhook's answer must not wait for bookkeeping: writing each receipt as it came cost a
database transaction per webhook (about a third of assessments' CPU for one). The tally
adds up counts per (organization, action) and keeps the latest times; `flush()` upserts
them. A crash loses at most the last interval's counts, which only a diagnostic reads;
readers in this process flush first, so they see everything this process has counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from dataclasses import dataclass

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from assessments.store.repository import Repository

log = structlog.get_logger("assessments.app.receipts")


@dataclass(slots=True)
class _Tally:
    successes: int = 0
    last_success: dt.datetime | None = None
    failures: int = 0
    last_failure: dt.datetime | None = None


class ReceiptTally:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, interval_seconds: float = 1.0
    ) -> None:
        self._sessions = sessions
        self._interval = interval_seconds
        self._pending: dict[tuple[str, str], _Tally] = {}
        self._flushing = asyncio.Lock()

    def count(self, organization_id: str, action: str, *, verified: bool, at: dt.datetime) -> None:
        tally = self._pending.setdefault((organization_id, action), _Tally())
        if verified:
            tally.successes += 1
            tally.last_success = at
        else:
            tally.failures += 1
            tally.last_failure = at

    async def flush(self) -> None:
        """Writes what was counted since the last flush; on failure keeps it for the next."""
        async with self._flushing:
            batch, self._pending = self._pending, {}
            if not batch:
                return
            try:
                async with self._sessions.begin() as session:
                    repo = Repository(session)
                    for (organization_id, action), tally in batch.items():
                        for verified, times, at in (
                            (True, tally.successes, tally.last_success),
                            (False, tally.failures, tally.last_failure),
                        ):
                            if times and at is not None:
                                await repo.record_webhook_receipt(
                                    organization_id, action, verified=verified, now=at, times=times
                                )
            except SQLAlchemyError as error:
                log.warning("webhook.receipts_not_recorded", error=type(error).__name__)
                for key, tally in batch.items():
                    self._merge_back(key, tally)

    def _merge_back(self, key: tuple[str, str], tally: _Tally) -> None:
        current = self._pending.setdefault(key, _Tally())
        current.successes += tally.successes
        current.failures += tally.failures
        current.last_success = _latest(current.last_success, tally.last_success)
        current.last_failure = _latest(current.last_failure, tally.last_failure)

    async def run(self, stopping: asyncio.Event) -> None:
        """Flushes every interval until `stopping`, then once more."""
        try:
            while not stopping.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), self._interval)
                await self.flush()
        finally:
            await self.flush()


def _latest(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)
