"""Everything the Harvest HTTP application works with, in one object: the organisation,
credentials, rate limiter, faults, cursors, settings and records. HarvestEmulator is the
public face of it; the application reads the settings on every request so that tests may
change them while requests are flowing."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from greenhouse_emulator.harvest.answers import Answer
from greenhouse_emulator.harvest.auth import Credentials
from greenhouse_emulator.harvest.behaviour import V3Behaviour
from greenhouse_emulator.harvest.faults import Faults
from greenhouse_emulator.harvest.pagination import CursorStore
from greenhouse_emulator.harvest.ratelimit import FixedWindowLimiter, RateLimiter
from greenhouse_emulator.harvest.records import HarvestRequest, TokenRequest
from greenhouse_emulator.harvest.state import Organisation


@dataclass
class Settings:
    """The knobs a test may turn at any time."""

    rate_limit: int
    # v1's sliding window (reference §3.4: "per 10 seconds").
    rate_window_seconds: float
    token_lifetime_seconds: float
    # v3's fixed window (harvest-v3-facts.md row 39: 30 s).
    v3_rate_window_seconds: float = 30.0
    v3: V3Behaviour = field(default_factory=V3Behaviour)


class Service:
    """The state behind one Harvest emulator."""

    def __init__(
        self,
        settings: Settings,
        first_id: int | None,
        *,
        token_clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        # When v3 tokens are issued and expire (wall-clock seconds, as `expires_at` says):
        # a test may drive it, with the partner's own token clock, to renew on cue.
        self.token_clock = token_clock
        self.organisation = Organisation(first_id)
        self.credentials = Credentials()
        self.limiter = RateLimiter()
        self.v3_limiter = FixedWindowLimiter()
        # With V3Behaviour.idempotency_keys: (client id, key) -> the first answer.
        self.idempotent: dict[tuple[str, str], Answer] = {}
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
