"""Everything the Harvest HTTP application works with, in one object: the organisation,
credentials, rate limiter, faults, cursors, settings and records. HarvestEmulator is the
public face of it; the application reads the settings on every request so that tests may
change them while requests are flowing."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass

from greenhouse_emulator.harvest.auth import Credentials
from greenhouse_emulator.harvest.faults import Faults
from greenhouse_emulator.harvest.pagination import CursorStore
from greenhouse_emulator.harvest.ratelimit import RateLimiter
from greenhouse_emulator.harvest.records import HarvestRequest, TokenRequest
from greenhouse_emulator.harvest.state import Organisation


@dataclass
class Settings:
    """The knobs a test may turn at any time."""

    rate_limit: int
    rate_window_seconds: float
    token_lifetime_seconds: float


class Service:
    """The state behind one Harvest emulator."""

    def __init__(self, settings: Settings, first_id: int | None) -> None:
        self.settings = settings
        self.organisation = Organisation(first_id)
        self.credentials = Credentials()
        self.limiter = RateLimiter()
        self.faults = Faults()
        self.next_statuses: deque[int] = deque()
        self.cursors = CursorStore()
        self.requests: list[HarvestRequest] = []
        self.token_requests: list[TokenRequest] = []
        self.base_url = ""
        self._stopping = asyncio.Event()

    async def hang(self, seconds: float) -> None:
        """Wait `seconds`, or less if the emulator stops meanwhile (so that a timeout
        fault never holds up a test's teardown)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def stopping(self) -> None:
        """Release every hanging answer."""
        self._stopping.set()

    def restarting(self) -> None:
        """Hang again from now on."""
        self._stopping = asyncio.Event()
