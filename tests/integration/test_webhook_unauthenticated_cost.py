"""Finding 4d: unauthenticated webhook traffic is cheap to refuse.

A 1 MiB webhook with a bad signature was read whole, sent over gRPC and checked before
it was refused. What can be refused from the headers alone (no or a malformed
`Signature`, no or an unknown `X-Organisation`, a body over the limit) now is, before a
byte of the body is read: these tests send the headers and never the body, and still get
their answer. A correctly signed webhook is never refused because of others' failures.
(`make bench`'s "bad webhook flood" section measures the cost.)"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest
from integration.helpers import PARTNER, Tenant, call
from support.inprocess import System

from greenhouse_emulator import webhooks
from greenhouse_emulator.signing import encode_webhook_body, sign

ANSWER_DEADLINE_SECONDS = 10.0
WELL_FORMED = "sha256 " + "ab" * 32
ANNOUNCED = 1024 * 1024 - 1024


async def _status_without_sending_the_body(system: System, headers: dict[str, str]) -> int:
    """Sends a webhook's headers announcing a large body, sends none of it, and returns
    the status the gateway answers with (a gateway waiting for the body never answers)."""
    parts = urlsplit(system.gateway_url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        head = [f"POST {PARTNER}/webhook HTTP/1.1", f"Host: {parts.netloc}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        head += ["Content-Type: application/json", f"Content-Length: {ANNOUNCED}"]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), ANSWER_DEADLINE_SECONDS)
    finally:
        writer.close()
    return int(status_line.split()[1])


@pytest.mark.parametrize(
    "signature",
    [None, "", "sha256=" + "ab" * 32, "sha256 " + "zz" * 32, "sha256 abc", "sha1 " + "ab" * 20],
)
async def test_no_or_a_malformed_signature_is_401_before_the_body_is_read(
    system: System, tenant: Tenant, signature: str | None
) -> None:
    headers = {"X-Organisation": tenant.organization.name, "Greenhouse-Event-ID": "e1"}
    if signature is not None:
        headers["Signature"] = signature

    assert await _status_without_sending_the_body(system, headers) == 401


@pytest.mark.parametrize("organisation", [None, "No Such Organization", "x" * 201])
async def test_no_or_an_unknown_organization_is_401_before_the_body_is_read(
    system: System, organisation: str | None
) -> None:
    headers = {"Signature": WELL_FORMED, "Greenhouse-Event-ID": "e1"}
    if organisation is not None:
        headers["X-Organisation"] = organisation

    assert await _status_without_sending_the_body(system, headers) == 401


async def test_a_body_announced_over_the_limit_is_413_before_it_is_read(
    system: System, tenant: Tenant
) -> None:
    parts = urlsplit(system.gateway_url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(
            (
                f"POST {PARTNER}/webhook HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                f"X-Organisation: {tenant.organization.name}\r\nSignature: {WELL_FORMED}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {8 * 1024 * 1024}\r\n\r\n"
            ).encode("latin-1")
        )
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), ANSWER_DEADLINE_SECONDS)
    finally:
        writer.close()

    assert int(status_line.split()[1]) == 413


async def test_a_correctly_signed_webhook_is_accepted_amid_a_burst_of_bad_ones(
    system: System, tenant: Tenant
) -> None:
    bad = (
        encode_webhook_body(webhooks.reject_candidate(1, 2, rejected_at="2026-01-01T00:00:00Z"))
        + b" " * 200_000
    )
    good = encode_webhook_body(
        webhooks.ping(9001, "Alooba", "Candidate has been hired", "https://x.example/hook")
    )
    address = {"X-Forwarded-For": "192.0.2.77"}

    async def send(body: bytes, signature: str, event_id: str) -> int:
        reply = await call(
            system,
            "POST",
            f"{PARTNER}/webhook",
            headers={
                **address,
                "X-Organisation": tenant.organization.name,
                "Signature": signature,
                "Greenhouse-Event-ID": event_id,
                "Content-Type": "application/json",
            },
            data=body,
        )
        return reply.status

    bad_ones = [send(bad, WELL_FORMED, f"bad-{n}") for n in range(40)]
    statuses = await asyncio.gather(*bad_ones, send(good, sign(good, tenant.key), "good"))

    assert statuses[-1] == 200
    assert set(statuses[:-1]) <= {401, 429, 503}
