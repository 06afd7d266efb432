"""What keeps unauthenticated webhook traffic cheap: a webhook's signature can only be
checked once its body is read and sent to assessments, where the keys are, so that work
is bounded before anyone has proved anything.

- Organization names are looked up once per few seconds, known and unknown alike (the
  same cost either way: the timing says nothing about which organizations exist).
- At most `concurrency` unverified webhooks are read and checked at once per gateway
  process. The others wait, their bodies unread (a waiting request costs a socket, not a
  megabyte), and are admitted fairly: one client address at a time in turn, so a flood
  from one address delays that address, not Greenhouse's.
- An address whose failed authentications are being answered 429 (gateway.throttle) has
  its webhooks checked at most `throttled_rate` a second; the rest wait, unread. A flood
  of bad signatures then costs a bounded trickle of checks. A correctly signed webhook
  from the same address (Greenhouse sends every customer's webhooks from shared
  addresses) is delayed by it, never refused for it.
- An address with `queue_per_address` webhooks already waiting gets 503 with Retry-After
  for the next, before its body is read: an address sending faster than its turn comes
  round is told to come back (Greenhouse retries), whatever its signatures.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

DEFAULT_TTL_SECONDS = 5.0
MAX_REMEMBERED = 10_000


class QueueFull(Exception):
    """The client address already has its share of webhooks waiting."""


class OrganizationLookups:
    """Whether an organization name is known, asked of assessments at most once per
    `ttl_seconds` per name; both answers are kept the same way."""

    def __init__(
        self,
        lookup: Callable[[str], Awaitable[bool]],
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lookup = lookup
        self._ttl = ttl_seconds
        self._clock = clock
        self._answers: OrderedDict[str, tuple[bool, float]] = OrderedDict()

    async def known(self, organization_name: str) -> bool:
        now = self._clock()
        answer = self._answers.get(organization_name)
        if answer is not None and answer[1] > now:
            return answer[0]
        known = await self._lookup(organization_name)
        self._answers[organization_name] = (known, now + self._ttl)
        self._answers.move_to_end(organization_name)
        if len(self._answers) > MAX_REMEMBERED:
            self._answers.popitem(last=False)
        return known


class VerificationGate:
    """At most `concurrency` holders at once; waiters admitted round-robin by address."""

    def __init__(
        self, *, concurrency: int, queue_per_address: int, throttled_rate: float = 10.0
    ) -> None:
        self._free = concurrency
        self._queue_per_address = queue_per_address
        self._interval = 1.0 / throttled_rate
        self._waiting: OrderedDict[str, deque[asyncio.Future[None]]] = OrderedDict()
        # Throttled addresses: the next moment one may be checked, and how many wait.
        self._next_slot: dict[str, float] = {}
        self._pacing: dict[str, int] = {}

    @property
    def waiting(self) -> int:
        return sum(len(queue) for queue in self._waiting.values()) + sum(self._pacing.values())

    @asynccontextmanager
    async def admit(self, address: str, *, throttled: bool = False) -> AsyncIterator[None]:
        """Holds a place for the duration; QueueFull at once if `address` already has
        `queue_per_address` waiting. A `throttled` address is paced first."""
        if throttled:
            await self._pace(address)
        if self._free > 0 and not self._waiting:
            self._free -= 1
        else:
            await self._wait_turn(address)
        try:
            yield
        finally:
            self._release()

    async def _pace(self, address: str) -> None:
        """Waits for the address's next slot, one every `1 / throttled_rate` seconds."""
        if self._pacing.get(address, 0) + self._queued(address) >= self._queue_per_address:
            raise QueueFull(address)
        loop = asyncio.get_running_loop()
        now = loop.time()
        slot = max(now, self._next_slot.get(address, now))
        self._next_slot[address] = slot + self._interval
        if len(self._next_slot) > MAX_REMEMBERED:
            self._next_slot = {a: t for a, t in self._next_slot.items() if t > now}
        if slot <= now:
            return
        self._pacing[address] = self._pacing.get(address, 0) + 1
        try:
            await asyncio.sleep(slot - now)
        finally:
            self._pacing[address] -= 1
            if not self._pacing[address]:
                del self._pacing[address]

    def _queued(self, address: str) -> int:
        queue = self._waiting.get(address)
        return len(queue) if queue is not None else 0

    async def _wait_turn(self, address: str) -> None:
        queue = self._waiting.get(address)
        if queue is None:
            queue = self._waiting[address] = deque()
        elif len(queue) + self._pacing.get(address, 0) >= self._queue_per_address:
            raise QueueFull(address)
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self._release()  # admitted just as it was cancelled: pass the place on
            else:
                queue.remove(turn)
                if not queue and self._waiting.get(address) is queue:
                    del self._waiting[address]
            raise

    def _release(self) -> None:
        """Hands the place to the next address in turn (its oldest waiter), or frees it."""
        while self._waiting:
            address, queue = next(iter(self._waiting.items()))
            turn = queue.popleft()
            # This address goes to the back of the round; dropped once it has no waiters.
            del self._waiting[address]
            if queue:
                self._waiting[address] = queue
            if not turn.done():
                turn.set_result(None)
                return
        self._free += 1
