"""Injected faults: answers Greenhouse (or the load balancer in front of it) gives
regardless of the request, scripted (for one route, `route_statuses`; for any request,
`next_statuses`; both FIFO) or drawn at random.

Status meanings: 0 is a timeout (the request is applied as usual but answered only after
`hang_seconds`); a status below 400 means "behave normally"; any other status is answered
at once, before authentication, without the request being applied or counted against the
rate limit (a 429 carries `Retry-After: 1`).
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence
from typing import Final

TIMEOUT: Final = 0


class Faults:
    """The random part; scripted statuses are kept by the caller and passed to `draw`."""

    def __init__(self) -> None:
        self.hang_seconds = 0.0
        self._probability = 0.0
        self._statuses: tuple[int, ...] = ()
        self._until: float | None = None
        self._random = random.Random()  # noqa: S311 - test faults, not secrets
        # (method, path) -> the next statuses of requests to exactly that route.
        self.routes: dict[tuple[str, str], deque[int]] = {}

    def inject(
        self,
        probability: float,
        statuses: Sequence[int],
        *,
        until: float | None,
        hang_seconds: float,
        seed: int | None,
    ) -> None:
        """Fail each request with `probability` until `until` (monotonic; None: forever)."""
        if not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        if probability > 0 and not statuses:
            raise ValueError("statuses must not be empty")
        self._probability = probability
        self._statuses = tuple(statuses)
        self._until = until
        self.hang_seconds = hang_seconds
        self._random = random.Random(seed)  # noqa: S311 - test faults, not secrets

    def clear(self) -> None:
        """No more random faults."""
        self._probability = 0.0
        self._until = None

    def draw(
        self, scripted: deque[int], now: float, route: tuple[str, str] = ("", "")
    ) -> int | None:
        """The fault status for the next request (TIMEOUT for a timeout), or None."""
        status: int | None = None
        for_route = self.routes.get(route)
        if for_route:
            status = for_route.popleft()
        elif scripted:
            status = scripted.popleft()
        else:
            if self._until is not None and now >= self._until:
                self.clear()
            if self._probability > 0 and self._random.random() < self._probability:
                status = self._random.choice(self._statuses)
        return status if status is not None and (status == TIMEOUT or status >= 400) else None
