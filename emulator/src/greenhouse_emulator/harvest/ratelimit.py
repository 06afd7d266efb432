"""Harvest's rate limits, one per credential.

v1 (reference §3.4): at most `limit` requests in any window of `window` seconds (the docs'
"per 10 seconds", read as a sliding window, the stricter reading); counted answers carry
X-RateLimit-Limit and -Remaining, a 429 only Retry-After and X-RateLimit-Reset (the 2018
docs).

v3 (harvest-v3-facts.md rows 39-40): "a fixed 30-second window, with X-RateLimit-Limit,
X-RateLimit-Remaining and X-RateLimit-Reset (UTC epoch seconds) on every response",
including errors; a 429 carries Retry-After in seconds. Windows are aligned on multiples
of the window's length.

Refused requests (429s) are not counted in either, so a client that waits as told always
gets through.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Verdict:
    """Whether a request may go ahead, and the headers that say so."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: int = 0
    reset_epoch: int = 0
    # v3 sends all three X-RateLimit headers on every answer (row 40).
    fixed_window: bool = False

    def headers(self) -> dict[str, str]:
        if self.fixed_window:
            headers = {
                "X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(self.remaining),
                "X-RateLimit-Reset": str(self.reset_epoch),
            }
            if not self.allowed:
                headers["Retry-After"] = str(self.retry_after)
            return headers
        if self.allowed:
            return {
                "X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(self.remaining),
            }
        return {"Retry-After": str(self.retry_after), "X-RateLimit-Reset": str(self.reset_epoch)}


@dataclass
class WindowCount:
    """One fixed window of one credential: requests counted, and 429s answered."""

    credential: str
    index: int
    counted: int = 0
    refused: int = 0


class Limiter(Protocol):
    """A rate limiter, v1's or v3's."""

    max_in_window: int

    def peek(self, credential: str, limit: int, window: float, now: float, wall: float) -> Verdict:
        """Where `credential` stands, without counting a request."""
        ...

    def check(self, credential: str, limit: int, window: float, now: float, wall: float) -> Verdict:
        """Count a request at `now` (monotonic; `wall` is time.time()) unless over the limit."""
        ...


class RateLimiter:
    """v1's sliding windows, one per credential. Limit and window are passed on every
    check, so that a test can change them while requests are flowing."""

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}
        self.max_in_window = 0

    def peek(self, credential: str, limit: int, window: float, now: float, wall: float) -> Verdict:
        """Where `credential` stands, without counting a request (for answers that do not
        count, such as an injected 5xx)."""
        limit = max(1, limit)
        hits = self._hits.setdefault(credential, deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        return Verdict(allowed=True, limit=limit, remaining=max(0, limit - len(hits)))

    def check(self, credential: str, limit: int, window: float, now: float, wall: float) -> Verdict:
        """Count a request at `now` (monotonic) against `credential`, unless over the limit."""
        limit = max(1, limit)
        hits = self._hits.setdefault(credential, deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= limit:
            # Enough of the oldest hits must leave the window to make room for one more.
            wait = hits[len(hits) - limit] + window - now
            return Verdict(
                allowed=False,
                limit=limit,
                remaining=0,
                retry_after=max(1, math.ceil(wait)),
                reset_epoch=math.ceil(wall + wait),
            )
        hits.append(now)
        self.max_in_window = max(self.max_in_window, len(hits))
        return Verdict(allowed=True, limit=limit, remaining=limit - len(hits))


class FixedWindowLimiter:
    """v3's fixed windows, one series per credential, with every window's counts kept
    (`windows`) so that a test can check each one."""

    def __init__(self) -> None:
        self.windows: dict[tuple[str, int], WindowCount] = {}
        self.max_in_window = 0

    def _window(self, credential: str, window: float, now: float) -> tuple[WindowCount, float]:
        index = math.floor(now / window)
        count = self.windows.get((credential, index))
        if count is None:
            count = self.windows[(credential, index)] = WindowCount(credential, index)
        return count, (index + 1) * window - now

    def _verdict(
        self, allowed: bool, count: WindowCount, limit: int, left: float, wall: float
    ) -> Verdict:
        return Verdict(
            allowed=allowed,
            limit=limit,
            remaining=max(0, limit - count.counted),
            retry_after=max(1, math.ceil(left)),
            reset_epoch=math.ceil(wall + left),
            fixed_window=True,
        )

    def peek(self, credential: str, limit: int, window: float, now: float, wall: float) -> Verdict:
        limit = max(1, limit)
        count, left = self._window(credential, window, now)
        return self._verdict(True, count, limit, left, wall)

    def check(self, credential: str, limit: int, window: float, now: float, wall: float) -> Verdict:
        limit = max(1, limit)
        count, left = self._window(credential, window, now)
        if count.counted >= limit:
            count.refused += 1
            return self._verdict(False, count, limit, left, wall)
        count.counted += 1
        self.max_in_window = max(self.max_in_window, count.counted)
        return self._verdict(True, count, limit, left, wall)
