"""A Harvest v3 access token, and what a store of them must do and needs: the types the
token store (store/token_store.py) and the v3 client (outbound/harvest/v3.py) share, kept
below both. How one is minted is outbound/harvest/tokens.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Token:
    access_token: str
    # Epoch seconds (time.time()): replicas compare them.
    expires_at: float
    renew_at: float
    # None when the token answer named no scopes (row 36).
    scopes: frozenset[str] | None


class TokenStore(Protocol):
    async def token(self, sub: int | None) -> Token:
        """A live token acting as `sub`, minted when there is none or it is due."""
        ...

    async def invalidate(self, sub: int | None, access_token: str) -> None:
        """Greenhouse refused `access_token` (401): the next call mints another, unless
        someone already has."""
        ...

    async def forget(self) -> None:
        """Every token of the client is minted afresh next time: its scopes may have
        changed (E16: "added scopes need a new token")."""
        ...


class Minter(Protocol):
    """Asks Greenhouse for a token acting as `sub` (outbound.harvest.tokens.TokenMint)."""

    async def mint(self, sub: int | None) -> Token: ...
