"""Time as a dependency: what reads the time and waits for it takes a Clock, so that tests
can drive it (tests/support/clock.py's ManualClock) instead of waiting in real time.

`now()` is in seconds on the clock's own scale: the monotonic clock for what stays in
one process, the wall clock for times written where other replicas read them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds on this clock's scale."""

    async def sleep(self, seconds: float) -> None:
        """Returns once `seconds` have passed on this clock."""


class SystemClock:
    """The process's real time: `time.monotonic` (the default) or `time.time`."""

    def __init__(self, source: Callable[[], float] = time.monotonic) -> None:
        self._source = source

    def now(self) -> float:
        return self._source()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


MONOTONIC = SystemClock(time.monotonic)
# Times shared through a database between replicas (and processes) are wall-clock times.
WALL = SystemClock(time.time)
