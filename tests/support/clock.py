"""A clock the test moves (alooba_common.clock.Clock): time passes only when the test says
so, or when the code under test sleeps on it, so nothing depends on how fast a loaded
machine runs."""

from __future__ import annotations

import asyncio


class ManualClock:
    def __init__(self, start: float = 1_000_000.0) -> None:
        self._now = start
        self.slept: list[float] = []

    def now(self) -> float:
        return self._now

    def __call__(self) -> float:
        """For code that takes the clock as a plain `Callable[[], float]`."""
        return self._now

    def advance(self, seconds: float) -> None:
        assert seconds >= 0, "time does not go back"
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        """The sleeper's time passes at once (it is the only thing waiting on this clock
        in the tests that use it); other tasks still get their turn."""
        self.slept.append(seconds)
        self.advance(max(seconds, 0.0))
        await asyncio.sleep(0)
