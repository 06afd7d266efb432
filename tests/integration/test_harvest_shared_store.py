"""What harvest-sync replicas share through their database for Harvest v3 (each replica
stood in for by its own engine on the same database): the rate budget of a credential, and
one token per OAuth client and `sub`, minted by one replica at a time and kept encrypted."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack

import pytest
from integration.lifecycle_helpers import database
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from support.clock import ManualClock

from alooba_common.secrets import SecretBox, generate_kek
from harvest_sync.domain.harvest_errors import BudgetExhausted
from harvest_sync.domain.harvest_tokens import Token
from harvest_sync.store.budgets import SharedBudget
from harvest_sync.store.locks import LeaseLocks
from harvest_sync.store.models import TokenRecord
from harvest_sync.store.token_store import SharedTokens

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def replicas(shared_databases: dict[str, str]) -> AsyncIterator[list[Sessions]]:
    """Two replicas' sessions on one harvest-sync database."""
    async with AsyncExitStack() as stack:
        url = shared_databases["harvest-sync"]
        yield [await stack.enter_async_context(database(url)) for _ in range(2)]


def budget(
    sessions: Sessions, key: str, clock: ManualClock, *, limit: int = 3, window: float = 5.0
) -> SharedBudget:
    """A replica's budget on the replicas' shared clock: the time between two steps is what
    the test's clock says, never how long a loaded machine took."""
    return SharedBudget(
        sessions, key, default_limit=limit, window_seconds=window, lease_seconds=2.0, clock=clock
    )


async def test_two_replicas_never_hold_more_than_the_limit_between_them(
    replicas: list[Sessions],
) -> None:
    key, clock = uuid.uuid4().hex, ManualClock()
    first, second = (budget(sessions, key, clock) for sessions in replicas)
    slot = await first.acquire()
    # One request alone until an answer names the limit, whichever replica asks.
    with pytest.raises(BudgetExhausted):
        await second.acquire(within=0.2)
    await first.answered(slot, limit=3, remaining=2, reset_in=None)
    slots = [await second.acquire(within=0.2), await first.acquire(within=0.2)]
    assert all(s is not None for s in slots)
    for replica in (first, second):
        with pytest.raises(BudgetExhausted) as exhausted:
            await replica.acquire(within=0.2)
        assert 4.0 < exhausted.value.retry_after <= 5.0  # the first answer's window
    assert (first.limit, second.limit) == (3, 3)


async def test_a_429_met_by_one_replica_pauses_the_other(replicas: list[Sessions]) -> None:
    key = uuid.uuid4().hex
    clock = ManualClock()
    first, second = (budget(sessions, key, clock, limit=10) for sessions in replicas)
    await first.answered(await first.acquire(), limit=10, remaining=9, reset_in=None)
    await first.refused(await first.acquire(), 3.0)
    with pytest.raises(BudgetExhausted) as exhausted:
        await second.acquire(within=0.5)
    assert 2.0 < exhausted.value.retry_after <= 3.0


async def test_what_others_spent_is_held_until_greenhouse_resets(
    replicas: list[Sessions],
) -> None:
    key = uuid.uuid4().hex
    clock = ManualClock()
    first, second = (budget(sessions, key, clock, limit=4, window=30.0) for sessions in replicas)
    # Greenhouse counted 3 of 4 after our one request: 2 were someone else's, held until
    # its window resets (in 0.3 s), not for a whole window of ours.
    await first.answered(await first.acquire(), limit=4, remaining=1, reset_in=0.3)
    answered_at = clock.now()
    await second.acquire(within=0.1)
    with pytest.raises(BudgetExhausted):
        await second.acquire(within=0.1)
    assert await second.acquire(within=1.0) is not None
    # It waited for Greenhouse's reset, not for a window of ours.
    assert answered_at + 0.3 <= clock.now() < answered_at + 30.0


class CountingMint:
    """A stand-in for Greenhouse's token endpoint that counts what it is asked, and takes
    a while to answer (so that both replicas ask at once)."""

    def __init__(self) -> None:
        self.minted: list[int | None] = []

    async def mint(self, sub: int | None) -> Token:
        self.minted.append(sub)
        name = f"token-{len(self.minted)}"
        await asyncio.sleep(0.2)
        now = time.monotonic()
        return Token(name, now + 3600, now + 3000, None)


def tokens(sessions: Sessions, box: SecretBox, mint: CountingMint, client: str) -> SharedTokens:
    return SharedTokens(
        sessions,
        box,
        LeaseLocks(sessions),
        mint,  # type: ignore[arg-type]
        client_key=client,
        mint_timeout=2.0,
        clock=time.monotonic,
    )


async def test_replicas_share_one_token_per_client_and_sub_kept_encrypted(
    replicas: list[Sessions],
) -> None:
    box = SecretBox.from_base64(generate_kek())
    mint = CountingMint()
    client = uuid.uuid4().hex
    first, second = (tokens(sessions, box, mint, client) for sessions in replicas)

    got = await asyncio.gather(first.token(7), second.token(7), first.token(7), second.token(None))

    assert mint.minted.count(7) == 1  # one replica minted; the others waited and used it
    assert len({t.access_token for t in got[:3]}) == 1
    assert got[3].access_token != got[0].access_token  # another sub, another token
    async with replicas[0]() as session:
        stored = (
            await session.scalars(select(TokenRecord).where(TokenRecord.key.startswith(client)))
        ).all()
    assert len(stored) == 2
    assert all(not record.encrypted_token.startswith("token-") for record in stored)


async def test_a_refused_token_is_minted_again_once_and_forget_renews_them_all(
    replicas: list[Sessions],
) -> None:
    box = SecretBox.from_base64(generate_kek())
    mint = CountingMint()
    client = uuid.uuid4().hex
    first, second = (tokens(sessions, box, mint, client) for sessions in replicas)
    old = await first.token(7)

    # Both replicas meet the 401 with the same token: one new token between them.
    await asyncio.gather(
        first.invalidate(7, old.access_token), second.invalidate(7, old.access_token)
    )
    renewed = await asyncio.gather(first.token(7), second.token(7))
    assert {t.access_token for t in renewed} == {"token-2"}
    # A replica late with its 401 does not throw away the new token.
    await second.invalidate(7, old.access_token)
    assert (await first.token(7)).access_token == "token-2"

    await second.token(None)
    await first.forget()  # E16: scopes may have changed
    assert (await first.token(7)).access_token == "token-4"
    # The other replica uses the copy it read until Greenhouse refuses it (the new token
    # revoked it, E12); then it reads the new one rather than minting a third.
    assert (await second.token(7)).access_token == "token-2"
    await second.invalidate(7, "token-2")
    assert (await second.token(7)).access_token == "token-4"
    assert mint.minted == [7, 7, None, 7]
