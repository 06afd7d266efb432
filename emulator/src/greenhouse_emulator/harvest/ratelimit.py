"""Harvest's rate limit (reference §3.4): at most `limit` requests per credential in any
window of `window` seconds (the docs' "per 10 seconds", read as a sliding window, which
is the stricter reading). Refused requests (429s) are not counted, so a client that
waits as told always gets through.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    """Whether a request may go ahead, and the headers that say so."""

    allowed: bool
    limit: int
    remaining: int
    retry_after: int = 0
    reset_epoch: int = 0

    def headers(self) -> dict[str, str]:
        """X-RateLimit-Limit/-Remaining on an allowed request; Retry-After and
        X-RateLimit-Reset (and, as the 2018 docs said, not the other two) on a 429."""
        if self.allowed:
            return {
                "X-RateLimit-Limit": str(self.limit),
                "X-RateLimit-Remaining": str(self.remaining),
            }
        return {"Retry-After": str(self.retry_after), "X-RateLimit-Reset": str(self.reset_epoch)}


class RateLimiter:
    """Sliding windows, one per credential. Limit and window are passed on every check,
    so that a test can change them while requests are flowing."""

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = {}
        self.max_in_window = 0

    def peek(self, credential: str, limit: int, window: float, now: float) -> Verdict:
        """Where `credential` stands, without counting a request (for answers that do not
        count, such as an injected 5xx)."""
        limit = max(1, limit)
        hits = self._hits.setdefault(credential, deque())
        while hits and hits[0] <= now - window:
            hits.popleft()
        return Verdict(allowed=True, limit=limit, remaining=max(0, limit - len(hits)))

    def check(self, credential: str, limit: int, window: float, now: float) -> Verdict:
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
                reset_epoch=math.ceil(time.time() + wait),
            )
        hits.append(now)
        self.max_in_window = max(self.max_in_window, len(hits))
        return Verdict(allowed=True, limit=limit, remaining=limit - len(hits))
