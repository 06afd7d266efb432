"""Harvest v3 access tokens: how one is minted (OAuth 2.0 client credentials), and what a
store of them must do.

A customer-built integration gets a token from Greenhouse's token endpoint with HTTP Basic
client_id:client_secret and `grant_type=client_credentials&sub=<user id>`
(harvest-v3-facts.md row 10); the `sub` user is who requests act as (row 11; none: the
service account). There is no refresh token: the grant is run again (E11). A token lives an
hour (row 37), named as `expires_in` or `expires_at` (both are read); `scope` may or may not
be there (row 36, unconfirmed).

Minting may revoke the client's earlier token for the same `sub` (E12, unconfirmed), so
every replica must use the same token: the store (harvest_sync.store.token_store.SharedTokens) keeps
one per client and `sub` in harvest-sync's database and mints under a lock.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import structlog

from harvest_sync.app import harvest_contract as contract
from harvest_sync.app import harvest_unconfirmed as unconfirmed
from harvest_sync.domain.harvest_errors import (
    CredentialRefused,
    HarvestUnavailable,
    RateLimited,
    SubjectRefused,
)
from harvest_sync.domain.harvest_tokens import Token
from harvest_sync.outbound.harvest.transport import error_message

log = structlog.get_logger("harvest_sync.outbound.harvest.tokens")

# Renew when less than a tenth of a token's lifetime is left, or 30 s, whichever is more
# (but never sooner than half-way: a short-lived token is still used).
_RENEW_FRACTION = 0.1
_RENEW_MIN_SECONDS = 30.0
# Row 40: "Token requests are metered separately on a 60-second window".
_TOKEN_WINDOW_SECONDS = 60.0


def _renew_margin(lifetime: float) -> float:
    return min(max(lifetime * _RENEW_FRACTION, _RENEW_MIN_SECONDS), lifetime / 2)


def _lifetime(body: Mapping[str, Any], now: float) -> float:
    """Row 37: W6W reads `expires_in` (seconds) from the OpenAPI document; SV, baton and
    AB parse an ISO-8601 `expires_at`. Either will do; an hour when neither is there."""
    expires_in = body.get("expires_in")
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
        return float(expires_in)
    expires_at = body.get("expires_at")
    if isinstance(expires_at, str):
        try:
            moment = dt.datetime.fromisoformat(expires_at)
        except ValueError:
            moment = None
        if moment is not None:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.UTC)
            return max(moment.timestamp() - now, 0.0)
    return contract.V3_TOKEN_LIFETIME_SECONDS


class TokenMint:
    """Asks Greenhouse's token endpoint for a token acting as `sub`."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        token_url: str,
        client_id: str,
        client_secret: str,
        *,
        timeout: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._http = http
        self._token_url = token_url
        self._authorization = aiohttp.encode_basic_auth(client_id, client_secret)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._clock = clock
        self.minted = 0

    async def mint(self, sub: int | None) -> Token:
        form = {"grant_type": "client_credentials"}
        if sub is not None:
            form["sub"] = str(sub)
        started = self._clock()
        try:
            async with self._http.post(
                self._token_url,
                data=form,
                headers={"Authorization": self._authorization},
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                status = response.status
                retry_after = response.headers.get("Retry-After", "")
                try:
                    body = await response.json(content_type=None)
                except ValueError:
                    body = None
        except (TimeoutError, aiohttp.ClientError) as error:
            raise HarvestUnavailable(
                f"token endpoint unreachable: {type(error).__name__}"
            ) from None
        if status == 429:
            wait = float(retry_after) if retry_after.isdigit() else _TOKEN_WINDOW_SECONDS
            raise RateLimited(wait)
        if status >= 500:
            raise HarvestUnavailable(f"token endpoint answered {status}", status=status)
        reason = error_message(body) or f"status {status}"
        if status == 400 and sub is not None:
            # The client may be fine and the user not (unknown or deactivated): the caller
            # tells them apart by asking as someone else.
            raise SubjectRefused(
                f"Greenhouse would not issue a token acting as user {sub}: {reason}",
                status=status,
            )
        if status != 200 or not isinstance(body, dict) or "access_token" not in body:
            raise CredentialRefused(f"Greenhouse refused the OAuth client: {reason}", status=status)
        lifetime = _lifetime(body, started)
        scope = body.get(unconfirmed.V3_GRANTED_SCOPES_FIELD)
        self.minted += 1
        log.info("harvest.token_issued", expires_in=round(lifetime), sub=sub)
        return Token(
            access_token=str(body["access_token"]),
            expires_at=started + lifetime,
            renew_at=started + lifetime - _renew_margin(lifetime),
            scopes=frozenset(scope.split()) if isinstance(scope, str) else None,
        )
