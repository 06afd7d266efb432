"""Fixtures for the emulator's own tests: a fake partner on a real aiohttp server on
127.0.0.1:0, and an emulator started against it; a started Harvest emulator with a
client for it."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from emulator.fake_partner import FakePartner
from multidict import CIMultiDictProxy

from greenhouse_emulator.auth import basic_auth
from greenhouse_emulator.emulator import GreenhouseEmulator
from greenhouse_emulator.harvest import HarvestEmulator
from greenhouse_emulator.tls import client_ssl_context


@pytest.fixture
async def partner() -> AsyncIterator[FakePartner]:
    fake = FakePartner()
    runner = web.AppRunner(fake.app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    fake.base_url = f"http://127.0.0.1:{port}/v1/greenhouse"
    yield fake
    await runner.cleanup()


@pytest.fixture
async def greenhouse(partner: FakePartner) -> AsyncIterator[GreenhouseEmulator]:
    async with GreenhouseEmulator(
        partner.base_url, partner.key, first_take_home_test_id=1000
    ) as emulator:
        yield emulator


@pytest.fixture
async def trusting_http(greenhouse: GreenhouseEmulator) -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client that trusts the emulator's CA, as the partner's callback sender must."""
    assert greenhouse.ca_cert_path is not None
    connector = aiohttp.TCPConnector(ssl=client_ssl_context(greenhouse.ca_cert_path))
    async with aiohttp.ClientSession(connector=connector) as session:
        yield session


# --- the Harvest emulator ---------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """A Harvest answer, read."""

    status: int
    body: Any
    headers: CIMultiDictProxy[str]


_DEFAULT: Any = object()


class HarvestClient:
    """A thin HTTP client for the Harvest emulator's tests: a Site Admin (`admin`) and a
    full-permission v1 key (`key`) are set up; `v1()` sends Basic auth and, on writes,
    On-Behalf-Of: admin unless told otherwise."""

    def __init__(self, emulator: HarvestEmulator, http: aiohttp.ClientSession) -> None:
        self.emulator = emulator
        self.http = http
        self.admin = emulator.add_user("Ada", "Admin", "ada@example.com", site_admin=True)
        self.key = emulator.issue_v1_key()

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: dict[str, str],
        json: Any = None,
        params: Any = None,
        data: Any = None,
    ) -> Reply:
        url = path if path.startswith("http") else self.emulator.base_url + path
        async with self.http.request(
            method, url, headers=headers, json=json, params=params, data=data
        ) as response:
            body = await response.json(content_type=None) if await response.read() else None
            return Reply(response.status, body, response.headers)

    async def v1(
        self,
        method: str,
        path: str,
        *,
        key: str | None = _DEFAULT,
        on_behalf_of: Any = _DEFAULT,
        json: Any = None,
        params: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        key = self.key if key is _DEFAULT else key
        all_headers = {}
        if key is not None:
            all_headers["Authorization"] = basic_auth(key)
        if on_behalf_of is _DEFAULT:
            on_behalf_of = self.admin if method != "GET" else None
        if on_behalf_of is not None:
            all_headers["On-Behalf-Of"] = str(on_behalf_of)
        all_headers.update(headers or {})
        return await self.request(
            method,
            path if path.startswith("http") else "/v1" + path,
            headers=all_headers,
            json=json,
            params=params,
        )

    @staticmethod
    def token_headers(client_id: str, client_secret: str) -> dict[str, str]:
        auth = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
        return {"Authorization": f"Basic {auth}"}

    async def token(self, client_id: str, client_secret: str, **form: str) -> Reply:
        form.setdefault("grant_type", "client_credentials")
        return await self.request(
            "POST", "/token", headers=self.token_headers(client_id, client_secret), data=form
        )

    async def bearer(self, scopes: Any = None, sub: int | None = _DEFAULT) -> str:
        """A fresh token of a new client (default: every scope, sub the admin)."""
        client_id, secret = (
            self.emulator.issue_v3_client()
            if scopes is None
            else self.emulator.issue_v3_client(scopes)
        )
        form = {} if sub is None else {"sub": str(self.admin if sub is _DEFAULT else sub)}
        reply = await self.token(client_id, secret, **form)
        assert reply.status == 200, reply.body
        token: str = reply.body["access_token"]
        return token

    async def v3(
        self,
        method: str,
        path: str,
        *,
        token: str | None,
        json: Any = None,
        params: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        all_headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        all_headers.update(headers or {})
        return await self.request(
            method,
            path if path.startswith("http") else "/v3" + path,
            headers=all_headers,
            json=json,
            params=params,
        )


@pytest.fixture
async def harvest() -> AsyncIterator[HarvestClient]:
    """A started Harvest emulator (TLS, ids from 1000) and a client trusting its CA."""
    async with HarvestEmulator(first_id=1000) as emulator:
        assert emulator.ca_cert_path is not None
        connector = aiohttp.TCPConnector(ssl=client_ssl_context(emulator.ca_cert_path))
        async with aiohttp.ClientSession(connector=connector) as http:
            yield HarvestClient(emulator, http)
