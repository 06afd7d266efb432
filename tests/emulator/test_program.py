"""`python -m greenhouse_emulator`, run as a real process."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from emulator.fake_partner import COMPLETE, FakePartner

from greenhouse_emulator.tls import client_ssl_context

DEADLINE = 10.0


@asynccontextmanager
async def _program(*args: str, key: str) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "greenhouse_emulator",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        # The key comes from the environment, as the program recommends.
        env={**os.environ, "GREENHOUSE_API_KEY": key},
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _line(stream: asyncio.StreamReader | None, pattern: str) -> re.Match[str]:
    """The first line matching `pattern`, within the deadline."""
    assert stream is not None
    async with asyncio.timeout(DEADLINE):
        while True:
            line = (await stream.readline()).decode()
            assert line, f"stream ended before a line matching {pattern!r}"
            if match := re.search(pattern, line):
                return match


async def test_serve_prints_its_addresses_serves_inspection_and_stops_on_sigterm(
    partner: FakePartner,
) -> None:
    async with _program("--partner-url", partner.base_url, "--port", "0", key=partner.key) as run:
        callback_base = (await _line(run.stdout, r"^callback_base_url=(\S+)")).group(1)
        ca_cert = (await _line(run.stdout, r"^ca_cert=(\S+)")).group(1)
        tests_url = (await _line(run.stdout, r"^tests_url=(\S+)")).group(1)
        await _line(run.stdout, r"^violations_url=")
        assert re.fullmatch(
            r"https://127\.0\.0\.1:\d+/integrations/testing_partners/take_home_tests/",
            callback_base,
        )
        connector = aiohttp.TCPConnector(ssl=client_ssl_context(ca_cert))
        async with (
            aiohttp.ClientSession(connector=connector) as http,
            http.get(tests_url) as response,
        ):
            assert await response.json() == []

        run.send_signal(signal.SIGTERM)
        async with asyncio.timeout(DEADLINE):
            assert await run.wait() == 0


async def test_list_tests_prints_the_partners_tests(partner: FakePartner) -> None:
    async with _program("list-tests", "--partner-url", partner.base_url, key=partner.key) as run:
        async with asyncio.timeout(DEADLINE):
            stdout, _ = await run.communicate()
    assert run.returncode == 0
    assert json.loads(stdout) == partner.tests


async def test_a_partner_refusal_exits_1(partner: FakePartner) -> None:
    async with _program("list-tests", "--partner-url", partner.base_url, key="wrong") as run:
        async with asyncio.timeout(DEADLINE):
            _, stderr = await run.communicate()
    assert run.returncode == 1
    assert b"401" in stderr


async def test_send_test_waits_for_the_callback_and_prints_the_result(
    partner: FakePartner,
) -> None:
    args = ["send-test", "--partner-url", partner.base_url, "--no-tls", "--test-id", "12345"]
    args += ["--email", "hermione@hogwarts.edu", "--wait", "10"]
    async with _program(*args, key=partner.key) as run:
        callback_url = (await _line(run.stderr, r"for the callback at (\S+)")).group(1)
        (sent,) = partner.sent
        assert sent["candidate"]["email"] == "hermione@hogwarts.edu"
        assert sent["url"] == callback_url
        partner.statuses["1"] = COMPLETE
        authorization = "Basic " + base64.b64encode(f"{partner.key}:".encode()).decode()
        async with (
            aiohttp.ClientSession() as http,
            http.patch(callback_url, headers={"Authorization": authorization}) as response,
        ):
            assert response.status == 200
        async with asyncio.timeout(DEADLINE):
            stdout, _ = await run.communicate()
    assert run.returncode == 0
    printed = json.loads(stdout)
    assert printed["take_home_test"]["status"] == "complete"
    assert printed["take_home_test"]["score"] == 81
    assert printed["violations"] == []
