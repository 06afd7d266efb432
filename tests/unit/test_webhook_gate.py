"""gateway.webhook_gate: bounded, fair admission of webhooks not yet verified, and
organization look-ups cached alike for known and unknown names (findings 4d, 4e)."""

from __future__ import annotations

import asyncio

import pytest

from gateway.webhook_gate import OrganizationLookups, QueueFull, VerificationGate


async def _hold(
    gate: VerificationGate, address: str, order: list[str], release: asyncio.Event
) -> None:
    async with gate.admit(address):
        order.append(address)
        await release.wait()


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_no_more_than_the_concurrency_hold_a_place_at_once() -> None:
    gate = VerificationGate(concurrency=2, queue_per_address=10)
    order: list[str] = []
    release = asyncio.Event()
    tasks = [asyncio.create_task(_hold(gate, "a", order, release)) for _ in range(5)]
    await _settle()

    assert len(order) == 2
    assert gate.waiting == 3
    release.set()
    await asyncio.gather(*tasks)
    assert len(order) == 5


async def test_waiters_are_admitted_one_address_at_a_time_in_turn() -> None:
    gate = VerificationGate(concurrency=1, queue_per_address=10)
    order: list[str] = []
    gates = {name: asyncio.Event() for name in ("first", "flood", "greenhouse")}
    holder = asyncio.create_task(_hold(gate, "first", order, gates["first"]))
    await _settle()
    flood = [asyncio.create_task(_hold(gate, "flood", order, gates["flood"])) for _ in range(4)]
    await _settle()
    greenhouse = asyncio.create_task(_hold(gate, "greenhouse", order, gates["greenhouse"]))
    await _settle()

    for event in gates.values():
        event.set()
    await asyncio.gather(holder, *flood, greenhouse)

    # Greenhouse's webhook waits for one of the flood's, not for all four.
    assert order == ["first", "flood", "greenhouse", "flood", "flood", "flood"]


async def test_an_address_with_its_queue_full_is_refused_at_once_and_others_are_not() -> None:
    gate = VerificationGate(concurrency=1, queue_per_address=2)
    release = asyncio.Event()
    order: list[str] = []
    tasks = [asyncio.create_task(_hold(gate, "flood", order, release)) for _ in range(3)]
    await _settle()

    with pytest.raises(QueueFull):
        async with gate.admit("flood"):
            pass
    other = asyncio.create_task(_hold(gate, "greenhouse", order, release))
    await _settle()
    release.set()
    await asyncio.gather(*tasks, other)
    assert order.count("greenhouse") == 1


async def test_a_cancelled_waiter_gives_up_its_place_in_line() -> None:
    gate = VerificationGate(concurrency=1, queue_per_address=10)
    release = asyncio.Event()
    order: list[str] = []
    holder = asyncio.create_task(_hold(gate, "a", order, release))
    await _settle()
    gone = asyncio.create_task(_hold(gate, "b", order, release))
    await _settle()
    gone.cancel()
    await _settle()
    release.set()
    await holder
    async with gate.admit("c"):
        order.append("c")

    assert order == ["a", "c"]
    assert gate.waiting == 0


async def test_known_and_unknown_names_are_both_asked_once_per_ttl() -> None:
    asked: list[str] = []
    now = [0.0]

    async def lookup(name: str) -> bool:
        asked.append(name)
        return name == "Acme"

    lookups = OrganizationLookups(lookup, ttl_seconds=5, clock=lambda: now[0])
    for _ in range(3):
        assert await lookups.known("Acme")
        assert not await lookups.known("Nobody")
    now[0] = 6.0
    assert await lookups.known("Acme")

    assert asked == ["Acme", "Nobody", "Acme"]
