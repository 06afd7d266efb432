"""The Harvest rate budget kept in a process (v1): one request until the limit is learnt,
never more than the limit in flight or in a window, slots back a window after the answer,
phantom slots for requests others made on the same key (until Greenhouse's reset, when it
says), a pause for a 429's Retry-After, and a bounded wait."""

from __future__ import annotations

import asyncio
import time

import pytest

from harvest_sync.domain.harvest_errors import BudgetExhausted
from harvest_sync.domain.harvest_ratelimit import RateBudget

WINDOW = 0.3


async def acquired_within(budget: RateBudget, seconds: float) -> bool:
    try:
        await asyncio.wait_for(budget.acquire(), seconds)
    except TimeoutError:
        return False
    return True


async def test_the_first_request_goes_alone_until_its_answer_names_the_limit() -> None:
    budget = RateBudget(limit=50, window_seconds=WINDOW)
    await budget.acquire()
    assert not await acquired_within(budget, 0.05)  # the default 50 is not trusted yet
    await budget.answered(None, limit=3, remaining=2)
    assert budget.limit == 3
    assert await acquired_within(budget, 0.05)
    assert await acquired_within(budget, 0.05)
    assert not await acquired_within(budget, 0.05)  # 3 in the window: the learnt limit


async def test_a_slot_comes_back_a_whole_window_after_its_answer() -> None:
    budget = RateBudget(limit=2, window_seconds=WINDOW)
    await budget.acquire()
    await budget.answered(None, limit=2, remaining=1)
    await budget.acquire()
    await budget.answered(None, limit=2, remaining=0)
    answered = time.monotonic()
    await budget.acquire()
    waited = time.monotonic() - answered
    # Not before the first answer's window is over (a little slack for the clock).
    assert waited >= WINDOW * 0.9


async def test_requests_others_made_on_the_same_key_hold_phantom_slots() -> None:
    budget = RateBudget(limit=5, window_seconds=WINDOW)
    await budget.acquire()
    # We sent 1; Greenhouse says 1 left of 5: someone else sent 3 in this window.
    await budget.answered(None, limit=5, remaining=1)
    assert budget.used() == 4
    assert await acquired_within(budget, 0.05)
    assert not await acquired_within(budget, 0.05)


async def test_phantom_slots_end_when_greenhouse_says_its_window_resets() -> None:
    budget = RateBudget(limit=3, window_seconds=10.0)
    await budget.acquire()
    # Someone else used one; Greenhouse's fixed window resets in 0.1 s.
    await budget.answered(None, limit=3, remaining=1, reset_in=0.1)
    assert budget.used() == 2
    await asyncio.sleep(0.15)
    assert budget.used() == 1  # ours, held a whole window; theirs gone with the reset


async def test_a_429_pauses_everything_for_its_retry_after() -> None:
    budget = RateBudget(limit=10, window_seconds=WINDOW)
    await budget.acquire()
    await budget.answered(None, limit=10, remaining=9)
    await budget.acquire()
    paused_at = time.monotonic()
    await budget.refused(None, 0.2)
    await budget.acquire()
    assert time.monotonic() - paused_at >= 0.18


async def test_an_unanswered_request_still_holds_its_slot_for_a_window() -> None:
    budget = RateBudget(limit=1, window_seconds=WINDOW)
    await budget.acquire()
    await budget.answered(None, limit=1, remaining=0)
    assert not await acquired_within(budget, 0.05)
    await asyncio.sleep(WINDOW)
    await budget.acquire()
    await budget.unanswered(None)  # a timeout: Greenhouse may have counted it
    assert not await acquired_within(budget, 0.05)


async def test_a_wait_longer_than_allowed_is_told_when_to_come_back() -> None:
    budget = RateBudget(limit=1, window_seconds=10.0)
    await budget.acquire()
    await budget.answered(None, limit=1, remaining=0)
    with pytest.raises(BudgetExhausted) as exhausted:
        await budget.acquire(within=0.05)
    assert 9.0 < exhausted.value.retry_after <= 10.0
