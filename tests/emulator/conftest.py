"""Fixtures for the emulator's own tests: a fake partner on a real aiohttp server on
127.0.0.1:0, and an emulator started against it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from emulator.fake_partner import FakePartner

from greenhouse_emulator.emulator import GreenhouseEmulator
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
