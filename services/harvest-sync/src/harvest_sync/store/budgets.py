"""The rate budget of a Harvest credential, shared by every harvest-sync replica through its
database: the rules of `harvest_sync.domain.harvest_ratelimit` (a slot per request, held a window
after its answer; one request alone until the limit is learnt; phantom slots for what
others spent, until Greenhouse's reset; a 429 pauses everyone), with each slot a row.

Greenhouse's limit is per credential, whichever replica sends (v3: "a fixed 30-second
window", harvest-v3-facts.md row 39); budgets kept per process would each spend the whole
limit. In a process, one request at a time waits for a slot (the others queue behind it,
first come first served), so a busy budget costs one database poll per replica, not one
per waiting request.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alooba_common.clock import WALL, Clock
from harvest_sync.domain.harvest_errors import BudgetExhausted
from harvest_sync.domain.harvest_ratelimit import Slot, allowed, phantoms
from harvest_sync.store.models import RateBudgetRecord, RateSlot


class SharedBudget:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        key: str,
        *,
        default_limit: int,
        window_seconds: float,
        lease_seconds: float,
        clock: Clock = WALL,
    ) -> None:
        self._sessions = sessions
        self._key = key
        self._default_limit = default_limit
        self._limit = default_limit
        self.window_seconds = window_seconds
        # An unanswered slot is held this long at most (its holder may have died).
        self._lease = lease_seconds + window_seconds
        # Wall-clock times: the slots' times are read by every replica.
        self._clock = clock
        # A freed slot is found at its exact time; only a lease ended early by another
        # replica's answer is noticed a poll later.
        self._poll = max(window_seconds / 20, 0.05)
        self._turn = asyncio.Lock()
        # Whether the database already knows the limit (then an answer that names the same
        # one need not take the credential's row lock, which every acquire takes).
        self._learnt = False
        self._tries = 0

    @property
    def limit(self) -> int:
        return self._limit

    async def _budget(self, session: AsyncSession) -> RateBudgetRecord:
        """This credential's row, locked for the transaction (SQLite: its writes queue)."""
        budget = await session.get(RateBudgetRecord, self._key, with_for_update=True)
        if budget is None:
            budget = RateBudgetRecord(key=self._key, learnt=False, paused_until=0.0)
            session.add(budget)
            await session.flush()
        return budget

    async def _try(self) -> tuple[int | None, float | None]:
        """A slot's id; or None and the soonest a slot can be free (None: unknown, until
        the first answer names the limit)."""
        async with self._sessions.begin() as session:
            budget = await self._budget(session)
            now = self._clock.now()
            mine = RateSlot.budget_key == self._key
            self._tries += 1
            if self._tries % 50 == 1:  # what has expired is not counted; cleared now and then
                await session.execute(delete(RateSlot).where(mine, RateSlot.free_at <= now))
            held, answered, first_answered = (
                await session.execute(
                    select(
                        func.count(),
                        func.count().filter(RateSlot.answered.is_(True)),
                        func.min(RateSlot.free_at).filter(RateSlot.answered.is_(True)),
                    ).where(mine, RateSlot.free_at > now)
                )
            ).one()
            self._limit = budget.rate_limit or self._default_limit
            self._learnt = budget.learnt
            most = allowed(self._limit, learnt=budget.learnt, answered=answered)
            if now >= budget.paused_until and held < most:
                slot = await session.scalar(
                    insert(RateSlot)
                    .values(budget_key=self._key, free_at=now + self._lease, answered=False)
                    .returning(RateSlot.id)
                )
                return slot, now
            if now < budget.paused_until:
                return None, budget.paused_until
            if not budget.learnt:
                return None, None
            # A slot still in flight is free a window after its answer at the soonest.
            return None, first_answered if first_answered is not None else now + self.window_seconds

    async def acquire(self, *, within: float | None = None) -> Slot:
        async with self._turn:
            deadline = None if within is None else self._clock.now() + within
            while True:
                slot, free_at = await self._try()
                if slot is not None:
                    return slot
                now = self._clock.now()
                if deadline is not None and (
                    now >= deadline or (free_at is not None and free_at > deadline)
                ):
                    raise BudgetExhausted(max((free_at or now) - now, 0.0))
                wait = self._poll if free_at is None else max(free_at - now, 0.001)
                await self._clock.sleep(min(wait, self._poll))

    async def answered(
        self,
        slot: Slot,
        *,
        limit: int | None = None,
        remaining: int | None = None,
        reset_in: float | None = None,
    ) -> None:
        now = self._clock.now()
        learning = not self._learnt or (limit is not None and 0 < limit != self._limit)
        async with self._sessions.begin() as session:
            if learning:
                budget = await self._budget(session)
                if limit is not None and limit > 0:
                    budget.rate_limit = limit
                    self._limit = limit
                budget.learnt = self._learnt = True
            if slot is not None:
                await session.execute(
                    update(RateSlot)
                    .where(RateSlot.id == slot)
                    .values(free_at=now + self.window_seconds, answered=True)
                )
            if remaining is None:
                return
            held = await session.scalar(
                select(func.count()).where(RateSlot.budget_key == self._key, RateSlot.free_at > now)
            )
            # Not under the row lock: two replicas may both hold the same phantoms, which
            # errs on the side of sending less.
            unseen = phantoms(self._limit, held or 0, remaining)
            if unseen:
                free_at = now + (reset_in if reset_in is not None else self.window_seconds)
                await session.execute(
                    insert(RateSlot),
                    [
                        {"budget_key": self._key, "free_at": free_at, "answered": True}
                        for _ in range(unseen)
                    ],
                )

    async def refused(self, slot: Slot, retry_after: float) -> None:
        async with self._sessions.begin() as session:
            budget = await self._budget(session)
            budget.paused_until = max(budget.paused_until, self._clock.now() + retry_after)
            if slot is not None:
                await session.execute(delete(RateSlot).where(RateSlot.id == slot))

    async def unanswered(self, slot: Slot) -> None:
        await self.answered(slot)
