"""Failed authentication is throttled per client address and per key prefix, but a valid
key is never refused: Greenhouse calls from shared egress addresses for all organizations."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from integration.helpers import PARTNER, Reply, Tenant, call, new_tenant
from support.clock import ManualClock
from support.inprocess import System, running_system

from greenhouse_emulator.signing import sign

ADDRESS_LIMIT = 6
PREFIX_LIMIT = 3
WINDOW = 1.5


@pytest.fixture
def clock() -> ManualClock:
    """The throttle's clock: a burst is a burst however slowly a loaded machine sends it,
    and a window passes when the test says so."""
    return ManualClock()


@pytest.fixture
async def throttled(shared_databases: dict[str, str], clock: ManualClock) -> AsyncIterator[System]:
    options: dict[str, Any] = {
        "auth_throttle_window_seconds": WINDOW,
        "auth_throttle_address_limit": ADDRESS_LIMIT,
        "auth_throttle_prefix_limit": PREFIX_LIMIT,
        "trusted_proxy_hops": 1,
    }
    async with running_system(
        shared_databases, gateway_options=options, gateway_clock=clock
    ) as running:
        yield running


def from_address(address: str) -> dict[str, str]:
    # The gateway trusts one proxy hop here, as behind the ingress controller.
    return {"X-Forwarded-For": address}


async def list_tests(
    system: System, key: str | None, address: str, *, authorization: str | None = None
) -> Reply:
    headers = from_address(address)
    if authorization is not None:
        headers["Authorization"] = authorization
    return await call(system, "GET", f"{PARTNER}/list_tests", key=key, headers=headers)


def wrong_key(tenant: Tenant, n: int) -> str:
    """A wrong secret behind the tenant's real (non-secret) prefix."""
    return tenant.key[:12] + f"{n:x}".rjust(35, "x")


async def test_a_burst_of_wrong_keys_from_one_address_is_429_with_retry_after(
    throttled: System,
) -> None:
    statuses = [
        (await list_tests(throttled, f"agh_{n:08d}{'y' * 35}", "203.0.113.7")).status
        for n in range(ADDRESS_LIMIT)
    ]
    assert statuses == [401] * ADDRESS_LIMIT
    reply = await list_tests(throttled, "agh_99999999" + "y" * 35, "203.0.113.7")
    assert reply.status == 429
    assert reply.content_type == "application/json"
    assert reply.body["error"] == "too_many_requests"
    assert 1 <= int(reply.headers["Retry-After"]) <= WINDOW + 1
    assert "WWW-Authenticate" not in reply.headers


async def test_missing_credentials_count_against_the_address(throttled: System) -> None:
    for _ in range(ADDRESS_LIMIT):
        assert (await list_tests(throttled, None, "203.0.113.8")).status == 401
    assert (await list_tests(throttled, None, "203.0.113.8")).status == 429


async def test_the_right_key_still_works_from_a_throttled_address(throttled: System) -> None:
    tenant = await new_tenant(throttled)
    for n in range(ADDRESS_LIMIT + 2):
        await list_tests(throttled, f"agh_{n:08d}{'z' * 35}", "203.0.113.9")
    assert (await list_tests(throttled, "agh_zzzzzzzz" + "z" * 35, "203.0.113.9")).status == 429
    reply = await list_tests(throttled, tenant.key, "203.0.113.9")
    assert reply.status == 200
    assert reply.body == [
        {"partner_test_id": tenant.test.id, "partner_test_name": tenant.test.name}
    ]


async def test_a_burst_against_one_prefix_is_429_for_wrong_secrets_with_that_prefix(
    throttled: System,
) -> None:
    tenant = await new_tenant(throttled)
    # Each guess from a different address: only the prefix limit can apply.
    statuses = [
        (await list_tests(throttled, wrong_key(tenant, n), f"198.51.100.{n}")).status
        for n in range(PREFIX_LIMIT + 2)
    ]
    assert statuses == [401] * PREFIX_LIMIT + [429, 429]
    # The right key behind that prefix still works, from any address.
    assert (await list_tests(throttled, tenant.key, "198.51.100.200")).status == 200
    # Another organization's wrong keys are still plain 401s, and its key works.
    other = await new_tenant(throttled)
    assert (await list_tests(throttled, wrong_key(other, 1), "198.51.100.201")).status == 401
    assert (await list_tests(throttled, other.key, "198.51.100.201")).status == 200


async def test_throttling_ends_once_the_window_has_passed(
    throttled: System, clock: ManualClock
) -> None:
    tenant = await new_tenant(throttled)
    for n in range(PREFIX_LIMIT):
        await list_tests(throttled, wrong_key(tenant, n), "192.0.2.10")
    reply = await list_tests(throttled, wrong_key(tenant, 99), "192.0.2.10")
    assert reply.status == 429
    # A client that honours Retry-After is answered normally again when it comes back.
    clock.advance(int(reply.headers["Retry-After"]))
    assert (await list_tests(throttled, wrong_key(tenant, 100), "192.0.2.10")).status == 401
    assert (await list_tests(throttled, tenant.key, "192.0.2.10")).status == 200


async def test_failed_webhook_signatures_are_throttled_but_a_valid_one_is_accepted(
    throttled: System,
) -> None:
    tenant = await new_tenant(throttled)
    body = json.dumps(
        {"action": "ping", "payload": {"web_hook_id": 7, "name": "Alooba", "active": True}}
    ).encode()
    headers = {"X-Organisation": tenant.organization.name, "Content-Type": "application/json"}

    async def deliver(signature: str, address: str) -> Reply:
        return await call(
            throttled,
            "POST",
            f"{PARTNER}/webhook",
            headers={**headers, **from_address(address), "Signature": signature},
            data=body,
        )

    forged = "sha256 " + "0" * 64
    statuses = [
        (await deliver(forged, f"192.0.2.{20 + n}")).status for n in range(PREFIX_LIMIT + 1)
    ]
    assert statuses == [401] * PREFIX_LIMIT + [429]
    assert (await deliver(sign(body, tenant.key), "192.0.2.50")).status == 200


def _basic(raw_key: str) -> str:
    return "Basic " + base64.b64encode(f"{raw_key}:".encode()).decode()


@pytest.mark.parametrize("where", ["end", "middle"])
async def test_a_nul_byte_in_the_key_is_401_and_counts_toward_throttling(
    throttled: System, tenant: Tenant, where: str
) -> None:
    # Finding 4k: such a key was a 422 (the services refuse NUL in any field), which
    # neither looked like a wrong key nor counted as a failed attempt.
    key = tenant.key + "\x00" if where == "end" else tenant.key[:20] + "\x00" + tenant.key[20:]
    address = f"198.51.100.{40 + len(where)}"

    replies = [
        await list_tests(throttled, None, address, authorization=_basic(key))
        for _ in range(ADDRESS_LIMIT + 1)
    ]

    statuses = [reply.status for reply in replies]
    assert statuses[0] == 401
    assert replies[0].headers["WWW-Authenticate"] == 'Basic realm="greenhouse"'
    # Throttled as any wrong key is: by the key's prefix or, at the latest, the address.
    assert set(statuses) == {401, 429}
    assert statuses[-1] == 429
