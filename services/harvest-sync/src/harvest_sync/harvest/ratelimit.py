"""A per-credential request budget that keeps Harvest's 429s rare.

Greenhouse allows `X-RateLimit-Limit` requests per 10-second window, per API key. The
budget holds one slot per request: a slot is taken before sending and is given back a full
window after the answer arrived. Greenhouse received the request before we read its
answer, so by then the request has surely left Greenhouse's window too, whatever the
network latency; the budget therefore never exceeds the limit from our side, and reaches it
to within one round trip per window.

Until the first answer has come back, one request at a time: the configured default may be
above what Greenhouse gives this key, and that answer's X-RateLimit-Limit says.

What the budget cannot see (another replica, another integration on the same key) shows in
`X-RateLimit-Remaining`: when Greenhouse has fewer requests left than we think, the
difference is held as phantom slots until the window has passed. A 429 pauses the whole
budget until its Retry-After.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import time
from collections.abc import Callable


class RateBudget:
    def __init__(
        self,
        *,
        limit: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._in_flight = 0
        # When each used slot is free again (a min-heap of clock times).
        self._releases: list[float] = []
        self._paused_until = 0.0
        self._learnt = False
        self._changed = asyncio.Condition()

    def _expire(self, now: float) -> None:
        while self._releases and self._releases[0] <= now:
            heapq.heappop(self._releases)

    def used(self) -> int:
        self._expire(self._clock())
        return self._in_flight + len(self._releases)

    async def acquire(self) -> None:
        """Waits until a request may be sent, and takes its slot."""
        async with self._changed:
            while True:
                now = self._clock()
                self._expire(now)
                allowed = self.limit if self._learnt else min(self.limit, 1 + len(self._releases))
                if now >= self._paused_until and self._in_flight + len(self._releases) < allowed:
                    self._in_flight += 1
                    return
                wake_at = self._paused_until if now < self._paused_until else None
                if wake_at is None and self._releases:
                    wake_at = self._releases[0]
                timeout = None if wake_at is None else max(wake_at - now, 0.001)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout)

    async def release(self, *, limit: int | None = None, remaining: int | None = None) -> None:
        """Gives the slot back a window from now, learning from the answer's headers."""
        now = self._clock()
        async with self._changed:
            self._in_flight = max(self._in_flight - 1, 0)
            heapq.heappush(self._releases, now + self.window_seconds)
            if limit is not None and limit > 0:
                self.limit = limit
            # One answer is enough: it either named the limit or never will.
            self._learnt = True
            if remaining is not None and remaining >= 0:
                self._expire(now)
                ours = self._in_flight + len(self._releases)
                unseen = (self.limit - ours) - remaining
                for _ in range(max(unseen, 0)):
                    heapq.heappush(self._releases, now + self.window_seconds)
            self._changed.notify_all()

    async def pause(self, seconds: float) -> None:
        """Sends nothing for `seconds` (a 429's Retry-After); also gives back the slot."""
        now = self._clock()
        async with self._changed:
            self._in_flight = max(self._in_flight - 1, 0)
            self._paused_until = max(self._paused_until, now + seconds)
            self._changed.notify_all()

    async def cancel(self) -> None:
        """The request was never answered (a timeout, a refused connection): Greenhouse
        may still have counted it, so its slot is held for a window like an answered one."""
        await self.release()
