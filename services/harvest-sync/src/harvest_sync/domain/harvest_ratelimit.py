"""Request budgets that keep Harvest's 429s rare, and the one kept in a process.

Greenhouse allows `X-RateLimit-Limit` requests per window, per credential (v1: 10 s,
sliding; v3: a fixed 30 s window, harvest-v3-facts.md row 39). A budget holds one slot per
request: a slot is taken before sending and is given back a full window after the answer
arrived. Greenhouse received the request before we read its answer, so by then the request
has surely left Greenhouse's window too, whatever the network latency; the budget therefore
never exceeds the limit in any window from our side (a fixed window is one of the sliding
ones), and reaches it to within one round trip per window.

Until the first answer has come back, one request at a time: the configured default may be
above what Greenhouse gives this key, and that answer's X-RateLimit-Limit says.

What the budget cannot see (another integration on the same key) shows in
`X-RateLimit-Remaining`: when Greenhouse has fewer requests left than we think, the
difference is held as phantom slots until Greenhouse's window resets (`X-RateLimit-Reset`,
v3) or, without that header, for a window. A 429 pauses the whole budget until its
Retry-After.

`RateBudget` lives in one process (v1). The v3 budget every replica shares is
`harvest_sync.store.budgets.SharedBudget`, the same rules kept in harvest-sync's database.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import time
from collections.abc import Callable
from typing import Protocol

from harvest_sync.domain.harvest_errors import BudgetExhausted

# A slot as a budget hands it out (its row id in the shared budget; None in a process's).
Slot = int | None


class Budget(Protocol):
    """What the transport asks of a budget, around each request."""

    @property
    def limit(self) -> int:
        """The limit per window, as last learnt."""
        ...

    async def acquire(self, *, within: float | None = None) -> Slot:
        """Waits until a request may be sent and takes its slot; BudgetExhausted when none
        would be free within `within` seconds."""
        ...

    async def answered(
        self, slot: Slot, *, limit: int | None, remaining: int | None, reset_in: float | None
    ) -> None:
        """Holds the slot for a window from now, learning from the answer's headers."""
        ...

    async def refused(self, slot: Slot, retry_after: float) -> None:
        """A 429: sends nothing for `retry_after` seconds; the slot is given back (Greenhouse
        does not count a refused request)."""
        ...

    async def unanswered(self, slot: Slot) -> None:
        """The request was never answered (a timeout, a refused connection): Greenhouse may
        still have counted it, so its slot is held for a window like an answered one."""
        ...


def allowed(limit: int, *, learnt: bool, answered: int) -> int:
    """How many slots may be held: the limit once an answer named it, else one in flight
    at a time."""
    return limit if learnt else min(limit, 1 + answered)


def phantoms(limit: int, held: int, remaining: int | None) -> int:
    """Requests Greenhouse counted that we did not send (another integration on the key)."""
    if remaining is None or remaining < 0:
        return 0
    return max((limit - held) - remaining, 0)


class RateBudget:
    def __init__(
        self,
        *,
        limit: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._in_flight = 0
        # When each used slot is free again (a min-heap of clock times).
        self._releases: list[float] = []
        self._paused_until = 0.0
        self._learnt = False
        self._changed = asyncio.Condition()

    @property
    def limit(self) -> int:
        return self._limit

    def _expire(self, now: float) -> None:
        while self._releases and self._releases[0] <= now:
            heapq.heappop(self._releases)

    def used(self) -> int:
        self._expire(self._clock())
        return self._in_flight + len(self._releases)

    async def acquire(self, *, within: float | None = None) -> Slot:
        async with self._changed:
            deadline = None if within is None else self._clock() + within
            while True:
                now = self._clock()
                self._expire(now)
                most = allowed(self._limit, learnt=self._learnt, answered=len(self._releases))
                if now >= self._paused_until and self._in_flight + len(self._releases) < most:
                    self._in_flight += 1
                    return None
                wake_at = self._paused_until if now < self._paused_until else None
                if wake_at is None and self._releases:
                    wake_at = self._releases[0]
                if deadline is not None:
                    if now >= deadline or (wake_at is not None and wake_at > deadline):
                        raise BudgetExhausted(max((wake_at or now) - now, 0.0))
                    # Without a known time (a request in flight), until its answer or the end.
                    wake_at = deadline if wake_at is None else wake_at
                timeout = None if wake_at is None else max(wake_at - now, 0.001)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout)

    async def answered(
        self,
        slot: Slot = None,
        *,
        limit: int | None = None,
        remaining: int | None = None,
        reset_in: float | None = None,
    ) -> None:
        now = self._clock()
        async with self._changed:
            self._in_flight = max(self._in_flight - 1, 0)
            heapq.heappush(self._releases, now + self.window_seconds)
            if limit is not None and limit > 0:
                self._limit = limit
            # One answer is enough: it either named the limit or never will.
            self._learnt = True
            self._expire(now)
            unseen = phantoms(self._limit, self._in_flight + len(self._releases), remaining)
            free_at = now + (reset_in if reset_in is not None else self.window_seconds)
            for _ in range(unseen):
                heapq.heappush(self._releases, free_at)
            self._changed.notify_all()

    async def refused(self, slot: Slot, retry_after: float) -> None:
        now = self._clock()
        async with self._changed:
            self._in_flight = max(self._in_flight - 1, 0)
            self._paused_until = max(self._paused_until, now + retry_after)
            self._changed.notify_all()

    async def unanswered(self, slot: Slot = None) -> None:
        await self.answered(slot)
