"""Harvest clients per credential, sharing one HTTP session and one rate budget per key."""

from __future__ import annotations

import aiohttp

from alooba_common.http_client import ssl_context
from harvest_sync.config import HarvestSettings
from harvest_sync.credentials import V1, Credential
from harvest_sync.harvest.api import HarvestApi
from harvest_sync.harvest.client import HarvestClient
from harvest_sync.harvest.ratelimit import RateBudget
from harvest_sync.harvest.transport import Transport
from harvest_sync.harvest.v1 import HarvestV1
from harvest_sync.harvest.v3 import HarvestV3, TokenSource


class HarvestClients:
    def __init__(self, settings: HarvestSettings) -> None:
        self._settings = settings
        self._http: aiohttp.ClientSession | None = None
        self._clients: dict[str, HarvestClient] = {}
        self._budgets: dict[str, RateBudget] = {}

    def _session(self) -> aiohttp.ClientSession:
        # Created lazily, inside the running event loop.
        if self._http is None:
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=ssl_context(self._settings.ca_file)),
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._http

    def budget(self, credential: Credential) -> RateBudget:
        key = credential.fingerprint()
        if key not in self._budgets:
            self._budgets[key] = RateBudget(
                limit=self._settings.default_rate_limit,
                window_seconds=self._settings.rate_window_seconds,
            )
        return self._budgets[key]

    def client(self, credential: Credential) -> HarvestApi:
        """The client for `credential`, kept so its tokens and budget last between calls."""
        key = credential.fingerprint()
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = self._build(credential)
        return client

    def _build(self, credential: Credential) -> HarvestClient:
        settings = self._settings
        http = self._session()
        transport = Transport(
            http, settings.base_url, self.budget(credential), timeout=settings.timeout_seconds
        )
        if credential.mode == V1:
            return HarvestV1(transport, credential.api_key)
        tokens = TokenSource(
            http,
            settings.token_url,
            credential.client_id,
            credential.client_secret,
            timeout=settings.timeout_seconds,
        )
        return HarvestV3(transport, tokens)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
