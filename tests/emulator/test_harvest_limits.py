"""The Harvest emulator's rate limit, injected faults, observation (requests, stats) and
`greenhouse-emulator harvest`."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
import time

import aiohttp
import pytest
from emulator.conftest import HarvestClient

from greenhouse_emulator.auth import basic_auth
from greenhouse_emulator.harvest import HarvestEmulator
from greenhouse_emulator.tls import client_ssl_context

RATE_LIMITED = {"message": "Rate limit exceeded"}
SCORE = {"name": "Alooba Score", "field_type": "application", "value_type": "number"}


# --- rate limit ----------------------------------------------------------------------------------


async def test_every_counted_answer_says_limit_and_remaining(harvest: HarvestClient) -> None:
    remaining = []
    for _ in range(3):
        reply = await harvest.v1("GET", "/users")
        assert reply.headers["X-RateLimit-Limit"] == "50"
        remaining.append(reply.headers["X-RateLimit-Remaining"])
    missing = await harvest.v1("GET", "/users/99999")
    assert missing.status == 404
    assert [*remaining, missing.headers["X-RateLimit-Remaining"]] == ["49", "48", "47", "46"]


async def test_over_the_limit_is_429_until_the_window_passes(harvest: HarvestClient) -> None:
    emulator = harvest.emulator
    emulator.rate_limit, emulator.rate_window_seconds = 3, 0.5
    started = time.monotonic()
    statuses = [(await harvest.v1("GET", "/users")).status for _ in range(3)]
    assert statuses == [200, 200, 200]
    refused = await harvest.v1("GET", "/users")
    assert (refused.status, refused.body) == (429, RATE_LIMITED)
    assert refused.headers["Retry-After"] == "1"  # ceil, at least 1
    assert abs(int(refused.headers["X-RateLimit-Reset"]) - time.time()) <= 2
    assert "X-RateLimit-Limit" not in refused.headers
    assert "X-RateLimit-Remaining" not in refused.headers
    # 429s are not counted: hammering does not push recovery back.
    for _ in range(5):
        assert (await harvest.v1("GET", "/users")).status == 429
    await asyncio.sleep(max(0.0, started + 0.55 - time.monotonic()))
    recovered = await harvest.v1("GET", "/users")
    assert recovered.status == 200
    assert recovered.headers["X-RateLimit-Remaining"] == "2"
    stats = emulator.stats()
    assert (stats.rate_limited, stats.max_in_window) == (6, 3)


async def test_the_limit_is_per_credential(harvest: HarvestClient) -> None:
    harvest.emulator.rate_limit, harvest.emulator.rate_window_seconds = 2, 5.0
    for _ in range(2):
        await harvest.v1("GET", "/users")
    assert (await harvest.v1("GET", "/users")).status == 429
    other = harvest.emulator.issue_v1_key()
    assert (await harvest.v1("GET", "/users", key=other)).status == 200
    token = await harvest.bearer()
    assert (await harvest.v3("GET", "/users", token=token)).status == 200
    # Unauthenticated requests count against nobody.
    assert (await harvest.v1("GET", "/users", key="wrong")).status == 401


async def test_v3_tokens_of_one_client_share_its_limit(harvest: HarvestClient) -> None:
    harvest.emulator.rate_limit, harvest.emulator.v3_rate_window_seconds = 2, 30.0
    client_id, secret = harvest.emulator.issue_v3_client()
    basic = harvest.emulator.add_user("Bo", "Basic", "bo@example.com")
    subs = [str(harvest.admin), str(basic), str(harvest.admin)]
    statuses = []
    for sub in subs:
        token = (await harvest.token(client_id, secret, sub=sub)).body["access_token"]
        statuses.append((await harvest.v3("GET", "/users", token=token)).status)
    assert statuses == [200, 200, 429]
    assert {r.credential for r in harvest.emulator.requests} == {client_id}


async def test_v3_answers_carry_limit_remaining_and_reset_even_errors(
    harvest: HarvestClient,
) -> None:
    # Rows 39-40: a fixed window; the three headers "on every response including errors".
    harvest.emulator.rate_limit, harvest.emulator.v3_rate_window_seconds = 3, 30.0
    token = await harvest.bearer()
    answers = [
        await harvest.v3("GET", "/users", token=token),
        await harvest.v3("PATCH", "/applications/999999", token=token, json={}),
        await harvest.v3("GET", "/users", token=token, params={"per_page": "0"}),
    ]
    assert [a.status for a in answers] == [200, 404, 422]
    assert [a.headers["X-RateLimit-Remaining"] for a in answers] == ["2", "1", "0"]
    for answer in answers:
        assert answer.headers["X-RateLimit-Limit"] == "3"
        reset = int(answer.headers["X-RateLimit-Reset"])
        assert time.time() <= reset <= time.time() + 31
    refused = await harvest.v3("GET", "/users", token=token)
    assert (refused.status, refused.body) == (429, RATE_LIMITED)
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert int(refused.headers["Retry-After"]) <= 30
    assert int(refused.headers["X-RateLimit-Reset"]) == int(answers[0].headers["X-RateLimit-Reset"])


async def test_a_v3_window_is_fixed_and_every_window_is_counted(harvest: HarvestClient) -> None:
    emulator = harvest.emulator
    emulator.rate_limit, emulator.v3_rate_window_seconds = 2, 1.0
    token = await harvest.bearer()
    # Start at the beginning of a window, so that the three requests fall in one.
    await asyncio.sleep(1.0 - time.monotonic() % 1.0)
    statuses = [(await harvest.v3("GET", "/users", token=token)).status for _ in range(3)]
    assert statuses == [200, 200, 429]
    # Fixed, not sliding: the next window starts afresh, whatever the last one did.
    await asyncio.sleep(1.0 - time.monotonic() % 1.0)
    assert (await harvest.v3("GET", "/users", token=token)).status == 200
    windows = emulator.window_counts()
    assert [(w.counted, w.refused) for w in windows] == [(2, 1), (1, 0)]
    assert windows[1].index == windows[0].index + 1
    assert emulator.stats().max_in_window == 2


async def test_permission_refusals_count_against_the_limit(harvest: HarvestClient) -> None:
    harvest.emulator.rate_limit, harvest.emulator.rate_window_seconds = 1, 5.0
    lacking = harvest.emulator.issue_v1_key([])
    assert (await harvest.v1("GET", "/users", key=lacking)).status == 401
    assert (await harvest.v1("GET", "/users", key=lacking)).status == 429


# --- faults -------------------------------------------------------------------------------


async def test_an_injected_5xx_is_not_applied(harvest: HarvestClient) -> None:
    harvest.emulator.inject_faults(1.0, [503])
    reply = await harvest.v1("POST", "/custom_fields", json=SCORE)
    assert reply.status == 503
    assert harvest.emulator.custom_fields() == []
    record = harvest.emulator.requests[-1]
    assert (record.status, record.fault, record.credential) == (
        503,
        "injected",
        harvest.emulator.key_id(harvest.key),
    )
    # Where the key stands, without counting the failure.
    assert reply.headers["X-RateLimit-Remaining"] == "50"
    harvest.emulator.clear_faults()
    assert (await harvest.v1("POST", "/custom_fields", json=SCORE)).status == 201


async def test_an_injected_429_says_retry_after_1(harvest: HarvestClient) -> None:
    harvest.emulator.inject_faults(1.0, [429], seed=1)
    reply = await harvest.v3("GET", "/users", token=await harvest.bearer())
    assert (reply.status, reply.body) == (429, RATE_LIMITED)
    assert reply.headers["Retry-After"] == "1"
    assert harvest.emulator.stats().rate_limited == 1


async def test_a_timeout_applies_the_write_but_answers_late(harvest: HarvestClient) -> None:
    harvest.emulator.inject_faults(1.0, [0], hang_seconds=5.0)
    application = harvest.emulator.add_application()
    harvest.emulator.add_custom_field("Alooba Score")
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await harvest.v1(
                "PATCH",
                f"/applications/{application}",
                json={"custom_fields": [{"name_key": "alooba_score", "value": 42}]},
            )
    assert time.monotonic() - started < 1.0
    assert harvest.emulator.application(application)["custom_fields"] == {"alooba_score": 42}
    record = harvest.emulator.requests[-1]
    # The client got no answer: recorded as 0, with what was sent after the hang.
    assert (record.fault, record.status, record.late_status) == ("timeout", 0, 200)
    assert harvest.emulator.stats().by_status == {0: 1}


async def test_faults_stop_after_their_seconds(harvest: HarvestClient) -> None:
    harvest.emulator.inject_faults(1.0, [500, 502], seconds=0.2, seed=7)
    assert (await harvest.v1("GET", "/users")).status in (500, 502)
    await asyncio.sleep(0.25)
    assert (await harvest.v1("GET", "/users")).status == 200


async def test_random_faults_follow_the_probability(harvest: HarvestClient) -> None:
    harvest.emulator.inject_faults(0.5, [500], seed=3)
    statuses = [(await harvest.v1("GET", "/users")).status for _ in range(40)]
    assert 5 < statuses.count(500) < 35
    assert set(statuses) == {200, 500}


async def test_next_statuses_are_answered_in_order(harvest: HarvestClient) -> None:
    harvest.emulator.next_statuses.extend([502, 200, 429])
    statuses = [(await harvest.v1("GET", "/users")).status for _ in range(4)]
    assert statuses == [502, 200, 429, 200]
    harvest.emulator.next_statuses = [0]
    harvest.emulator.hang_seconds = 0.05
    assert (await harvest.v1("GET", "/users")).status == 200  # a short hang
    assert harvest.emulator.requests[-1].fault == "timeout"
    assert harvest.emulator.requests[-1].late_status == 200


async def test_route_statuses_answer_only_that_route_and_come_first(
    harvest: HarvestClient,
) -> None:
    harvest.emulator.route_statuses("POST", "/v1/custom_fields").extend([503, 0])
    harvest.emulator.next_statuses.append(502)
    harvest.emulator.hang_seconds = 0.05
    assert (await harvest.v1("GET", "/users")).status == 502  # not that route
    assert (await harvest.v1("POST", "/custom_fields", json=SCORE)).status == 503
    assert (await harvest.v1("POST", "/custom_fields", json=SCORE)).status == 201
    assert harvest.emulator.requests[-1].fault == "timeout"  # applied, answered late
    assert (await harvest.v1("POST", "/users", json={})).status == 422
    harvest.emulator.route_statuses("GET", "/v1/users").append(500)
    harvest.emulator.clear_faults()
    assert (await harvest.v1("GET", "/users")).status == 200


async def test_stop_releases_a_hanging_answer() -> None:
    emulator = HarvestEmulator(tls=False)
    key = emulator.issue_v1_key()
    await emulator.start()
    emulator.inject_faults(1.0, [0], hang_seconds=30.0)
    async with aiohttp.ClientSession() as http:
        request = asyncio.ensure_future(
            http.get(emulator.base_url + "/v1/users", headers={"Authorization": basic_auth(key)})
        )
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await emulator.stop()
        assert time.monotonic() - started < 2.0
        response = await request
        response.release()


# --- observation --------------------------------------------------------------------------------


async def test_stats_summarise_the_requests(harvest: HarvestClient) -> None:
    harvest.emulator.rate_limit = 4
    await harvest.v1("GET", "/users")
    await harvest.v1("GET", "/users/1")
    await harvest.v1("POST", "/custom_fields", json=SCORE)
    await harvest.v1("GET", "/users", key=None)
    harvest.emulator.next_statuses.append(503)
    await harvest.v1("GET", "/users")
    await harvest.v1("GET", "/users")
    await harvest.v1("GET", "/users")
    stats = harvest.emulator.stats()
    assert stats.total == 7 == len(harvest.emulator.requests)
    assert stats.by_status == {200: 2, 201: 1, 401: 1, 404: 1, 429: 1, 503: 1}
    assert (stats.rate_limited, stats.max_in_window) == (1, 4)
    assert [r.on_behalf_of for r in harvest.emulator.requests][2] == harvest.admin
    assert all(harvest.key not in str(r) for r in harvest.emulator.requests)


# --- the program ---------------------------------------------------------------------------------


async def test_the_harvest_command_serves_until_sigterm() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "greenhouse_emulator",
        "harvest",
        "--rate-limit",
        "7",
        "--v3-behaviour",
        "other",
        "--patch-custom-fields",
        "replace",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        values: dict[str, str] = {}
        async with asyncio.timeout(10):
            while "v3_behaviour" not in values:
                line = (await process.stdout.readline()).decode()
                assert line, "the program ended early"
                if match := re.match(r"^(\w+)=(.*)$", line.strip()):
                    values[match[1]] = match[2]
        assert values["token_url"] == values["base_url"] + "/token"
        # The other reading of every unconfirmed behaviour, but the one overridden.
        assert "patch_custom_fields=replace" in values["v3_behaviour"]
        assert "token_scope=True" in values["v3_behaviour"]
        connector = aiohttp.TCPConnector(ssl=client_ssl_context(values["ca_cert"]))
        async with aiohttp.ClientSession(connector=connector) as http:
            async with http.get(
                f"{values['base_url']}/v1/users/{values['site_admin_user_id']}",
                headers={"Authorization": basic_auth(values["v1_api_key"])},
            ) as response:
                assert response.status == 200
                assert response.headers["X-RateLimit-Limit"] == "7"
                assert (await response.json())["site_admin"] is True
            async with http.post(
                values["token_url"],
                data={"grant_type": "client_credentials", "sub": values["site_admin_user_id"]},
                headers={
                    "Authorization": aiohttp.encode_basic_auth(
                        values["v3_client_id"], values["v3_client_secret"]
                    )
                },
            ) as response:
                assert response.status == 200
                assert "scope" in await response.json()
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
