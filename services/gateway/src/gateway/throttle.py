"""Throttling of failed authentication: partner Basic auth and webhook signatures.

Greenhouse calls every partner from a shared set of egress addresses on behalf of all its
customers, so a throttle that refused requests up front would let one organization's
misconfigured (or an attacker's) wrong keys lock every other organization out. Nothing is
refused before it is checked: a request with a valid key or signature always goes through.
Only a request that has *failed* authentication is answered 429 instead of 401 once its
client address, or the key prefix (for webhooks: the organization) it named, has failed too
often within a sliding window. Guessing gets no faster answer than "slow down", and the
metric shows it happening.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

# Bounds the memory an attacker can make us use by varying addresses or prefixes: the
# least recently failing subjects are forgotten first.
MAX_TRACKED_SUBJECTS = 10_000


class SlidingWindow:
    """The times of the last `limit` failures of each subject within `window` seconds."""

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        max_subjects: int = MAX_TRACKED_SUBJECTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = limit
        self._window = window
        self._max_subjects = max_subjects
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def over_limit(self, subject: str) -> bool:
        """Whether `subject` has failed `limit` times within the window (nothing recorded)."""
        failures = self._failures.get(subject)
        if self._limit <= 0 or failures is None or len(failures) < self._limit:
            return False
        return failures[0] > self._clock() - self._window

    def record_failure(self, subject: str) -> float | None:
        """Counts one failure of `subject`. None while it is within its limit; otherwise
        the seconds until it would be again (failures while throttled count too, so a
        client that ignores Retry-After stays throttled)."""
        if self._limit <= 0:
            return None
        now = self._clock()
        failures = self._failures.get(subject)
        if failures is None:
            failures = deque(maxlen=self._limit)
            self._failures[subject] = failures
            if len(self._failures) > self._max_subjects:
                self._failures.popitem(last=False)
        else:
            self._failures.move_to_end(subject)
        while failures and failures[0] <= now - self._window:
            failures.popleft()
        throttled = len(failures) >= self._limit
        failures.append(now)
        if not throttled:
            return None
        # The deque holds the last `limit` failures: the subject is under its limit again
        # once the oldest of them leaves the window.
        return max(failures[0] + self._window - now, 0.0)


@dataclass(frozen=True, slots=True)
class Verdict:
    """What to answer a failed authentication: `retry_after` is None for a plain 401."""

    retry_after: int | None
    limits: tuple[str, ...] = ()


class AuthThrottle:
    """Failed authentications per client address and per key prefix (or organization)."""

    def __init__(
        self,
        *,
        window_seconds: float,
        address_limit: int,
        prefix_limit: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._by_address = SlidingWindow(address_limit, window_seconds, clock=clock)
        self._by_prefix = SlidingWindow(prefix_limit, window_seconds, clock=clock)

    def address_throttled(self, address: str) -> bool:
        """Whether failures from `address` are being answered 429 at the moment."""
        return self._by_address.over_limit(address)

    def failed(self, address: str, prefix: str | None) -> Verdict:
        """Records one failed authentication from `address`, naming `prefix` (None when
        the request named none, e.g. no or malformed credentials)."""
        waits: dict[str, float] = {}
        if (wait := self._by_address.record_failure(address)) is not None:
            waits["address"] = wait
        if prefix and (wait := self._by_prefix.record_failure(prefix)) is not None:
            waits["prefix"] = wait
        if not waits:
            return Verdict(None)
        return Verdict(max(1, math.ceil(max(waits.values()))), tuple(sorted(waits)))
