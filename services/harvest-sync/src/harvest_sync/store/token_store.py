"""The shared token store: one Harvest v3 access token per OAuth client and `sub`, kept in
harvest-sync's database (encrypted with the key-encryption key) and used by every replica.

Greenhouse may give client credentials "single-active-token semantics (a new token revokes
the prior)" (harvest-v3-facts.md E12, unconfirmed). Were each replica to mint its own, each
would revoke the others' and they would take turns failing. Here a replica reads the token
from the database for each request, and mints a new one only when it is due (or refused,
or its scopes may be out of date, E16), under a lock all replicas see; the others wait for
it and then use it. A replica keeps the token it read until it is due; if another replica
minted a new one meanwhile (and that revoked it), Greenhouse's 401 sends it back to the
database, once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alooba_common.db import utcnow
from alooba_common.secrets import SecretBox
from harvest_sync.domain.harvest_tokens import Minter, Token
from harvest_sync.store.locks import LeaseLocks
from harvest_sync.store.models import TokenRecord


def token_context(key: str, generation: int) -> str:
    """What a stored token's ciphertext is bound to: its row and its generation."""
    return f"harvest-token:{key}:{generation}"


class SharedTokens:
    """A TokenStore (harvest_sync.domain.harvest_tokens) for one OAuth client."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        box: SecretBox,
        locks: LeaseLocks,
        mint: Minter,
        *,
        client_key: str,
        mint_timeout: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._sessions = sessions
        self._box = box
        self._locks = locks
        self._mint = mint
        self._client_key = client_key
        self._mint_timeout = mint_timeout
        self._clock = clock
        # One minter per process and sub: the others wait here, not on the database.
        self._minting: dict[int | None, asyncio.Lock] = {}
        self._read_tokens: dict[int | None, Token] = {}

    def _key(self, sub: int | None) -> str:
        return f"{self._client_key}:{'-' if sub is None else sub}"

    def _context(self, key: str, generation: int) -> str:
        return token_context(key, generation)

    async def _read(self, key: str) -> Token | None:
        async with self._sessions() as session:
            record = await session.get(TokenRecord, key)
            if record is None:
                return None
            access_token = self._box.decrypt(
                record.encrypted_token, context=self._context(key, record.generation)
            )
            return Token(
                access_token=access_token,
                expires_at=record.expires_at,
                renew_at=record.renew_at,
                scopes=frozenset(record.scopes) if record.scopes is not None else None,
            )

    def _fresh(self, token: Token | None) -> bool:
        return token is not None and self._clock() < token.renew_at

    async def token(self, sub: int | None) -> Token:
        known = self._read_tokens.get(sub)
        if known is not None and self._fresh(known):
            return known
        key = self._key(sub)
        current = await self._read(key)
        if current is None or not self._fresh(current):
            async with self._minting.setdefault(sub, asyncio.Lock()):
                current = await self._read(key)
                if current is None or not self._fresh(current):
                    current = await self._mint_under_lock(key, sub)
        self._read_tokens[sub] = current
        return current

    async def _mint_under_lock(self, key: str, sub: int | None) -> Token:
        lease = self._mint_timeout + 5.0
        async with self._locks.held(f"token:{key}", lease_seconds=lease, wait_seconds=2 * lease):
            # Another replica may have minted while we waited for the lock.
            current = await self._read(key)
            if current is not None and self._fresh(current):
                return current
            fresh = await self._mint.mint(sub)
            await self._write(key, fresh)
            return fresh

    async def _write(self, key: str, token: Token) -> None:
        async with self._sessions.begin() as session:
            record = await session.get(TokenRecord, key, with_for_update=True)
            if record is None:
                record = TokenRecord(key=key, generation=0)
                session.add(record)
            record.generation += 1
            record.encrypted_token = self._box.encrypt(
                token.access_token, context=self._context(key, record.generation)
            )
            record.expires_at = token.expires_at
            record.renew_at = token.renew_at
            record.scopes = sorted(token.scopes) if token.scopes is not None else None
            record.updated_at = utcnow()

    async def invalidate(self, sub: int | None, access_token: str) -> None:
        known = self._read_tokens.get(sub)
        if known is not None and known.access_token == access_token:
            del self._read_tokens[sub]
        key = self._key(sub)
        async with self._sessions.begin() as session:
            record = await session.get(TokenRecord, key, with_for_update=True)
            if record is None:
                return
            stored = self._box.decrypt(
                record.encrypted_token, context=self._context(key, record.generation)
            )
            if stored == access_token:  # else already replaced: the next read gets it
                record.renew_at = 0.0

    async def forget(self) -> None:
        self._read_tokens.clear()
        async with self._sessions.begin() as session:
            await session.execute(
                update(TokenRecord)
                .where(TokenRecord.key.startswith(f"{self._client_key}:", autoescape=True))
                .values(renew_at=0.0)
            )
