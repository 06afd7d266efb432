"""Harvest clients per credential, sharing one HTTP session.

v1 keeps its rate budget in the process, as it always has. v3 keeps its budget and its
tokens in harvest-sync's database, shared by every replica (harvest-v3-facts.md row 39:
the limit is per client; E12: a new token may revoke the last one).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alooba_common.http_client import ssl_context
from alooba_common.secrets import SecretBox
from harvest_sync.app.harvest_api import HarvestApi
from harvest_sync.config import HarvestSettings
from harvest_sync.domain.harvest_ratelimit import Budget, RateBudget
from harvest_sync.outbound.harvest.tokens import TokenMint
from harvest_sync.outbound.harvest.transport import Transport
from harvest_sync.outbound.harvest.v1 import HarvestV1
from harvest_sync.outbound.harvest.v3 import HarvestV3
from harvest_sync.store.budgets import SharedBudget
from harvest_sync.store.credentials import V1, Credential
from harvest_sync.store.locks import LeaseLocks
from harvest_sync.store.token_store import SharedTokens


class HarvestClients:
    def __init__(
        self,
        settings: HarvestSettings,
        sessions: async_sessionmaker[AsyncSession],
        box: SecretBox,
        locks: LeaseLocks,
        *,
        token_clock: Callable[[], float] = time.time,
    ) -> None:
        self._settings = settings
        # When v3 tokens were minted and are due for renewal (wall-clock seconds, shared by
        # the replicas through the database); a test drives it with Greenhouse's.
        self._token_clock = token_clock
        self._sessions = sessions
        self._box = box
        self._locks = locks
        self._http: aiohttp.ClientSession | None = None
        self._clients: dict[str, HarvestApi] = {}
        self._budgets: dict[str, Budget] = {}

    def _session(self) -> aiohttp.ClientSession:
        # Created lazily, inside the running event loop.
        if self._http is None:
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=ssl_context(self._settings.ca_file)),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._http

    def budget(self, credential: Credential) -> Budget:
        key = credential.fingerprint()
        if key not in self._budgets:
            settings = self._settings
            if credential.mode == V1:
                self._budgets[key] = RateBudget(
                    limit=settings.default_rate_limit, window_seconds=settings.rate_window_seconds
                )
            else:
                self._budgets[key] = SharedBudget(
                    self._sessions,
                    key,
                    default_limit=settings.default_rate_limit,
                    window_seconds=settings.v3_rate_window_seconds,
                    lease_seconds=settings.timeout_seconds,
                )
        return self._budgets[key]

    def client(self, credential: Credential) -> HarvestApi:
        """The client for `credential`, kept so that its budget lasts between calls."""
        key = credential.fingerprint()
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = self._build(credential)
        return client

    def _build(self, credential: Credential) -> HarvestApi:
        settings = self._settings
        http = self._session()
        window = (
            settings.rate_window_seconds
            if credential.mode == V1
            else settings.v3_rate_window_seconds
        )
        transport = Transport(
            http,
            settings.base_url,
            self.budget(credential),
            timeout=settings.timeout_seconds,
            window_seconds=window,
            budget_wait_seconds=settings.budget_wait_seconds,
        )
        if credential.mode == V1:
            return HarvestV1(transport, credential.api_key)
        mint = TokenMint(
            http,
            settings.token_url,
            credential.client_id,
            credential.client_secret,
            timeout=settings.timeout_seconds,
            clock=self._token_clock,
        )
        tokens = SharedTokens(
            self._sessions,
            self._box,
            self._locks,
            mint,
            client_key=credential.fingerprint(),
            mint_timeout=settings.timeout_seconds,
            clock=self._token_clock,
        )
        return HarvestV3(transport, tokens)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
