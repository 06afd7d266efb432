"""What the setup check reads about an organization (AdminService.GetIntegrationHealth):
webhooks counted per action as their signatures verify or not, the pings, the Greenhouse
callbacks by status and the dead letters by kind."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from integration.helpers import PARTNER, Reply, Tenant, call, new_tenant, unique
from integration.lifecycle_helpers import (
    callbacks,
    database,
    eventually,
    invite,
    rpc_error,
    submit,
)
from sqlalchemy import func, select
from support.inprocess import System, running_system

from alooba.assessments.v1 import assessments_pb2 as apb
from alooba_common.db import utcnow
from assessments.store.models import WebhookReceipt
from greenhouse_emulator import webhooks
from greenhouse_emulator.signing import encode_webhook_body, sign


@pytest.fixture
async def system(shared_databases: dict[str, str]) -> AsyncIterator[System]:
    async with running_system(shared_databases, **callbacks()) as running:
        yield running


async def deliver(
    system: System,
    organisation: str,
    payload: dict[str, Any] | bytes,
    secret: str,
    *,
    event_id: str = "",
) -> Reply:
    """A webhook as Greenhouse sends it: the body signed with `secret`."""
    body = payload if isinstance(payload, bytes) else encode_webhook_body(payload)
    return await call(
        system,
        "POST",
        f"{PARTNER}/webhook",
        headers={
            "X-Organisation": organisation,
            "Signature": sign(body, secret),
            "Greenhouse-Event-ID": event_id or unique("event").replace(" ", "-"),
            "Content-Type": "application/json",
        },
        data=body,
    )


async def health(system: System, organization_id: str) -> apb.GetIntegrationHealthResponse:
    return await system.admin.GetIntegrationHealth(
        apb.GetIntegrationHealthRequest(organization_id=organization_id)
    )


def receipts(found: apb.GetIntegrationHealthResponse) -> dict[str, apb.WebhookReceipt]:
    return {receipt.action: receipt for receipt in found.webhook_receipts}


def when(stamp: Any) -> dt.datetime:
    moment: dt.datetime = stamp.ToDatetime(tzinfo=dt.UTC)
    return moment


def hired(n: int = 1) -> dict[str, Any]:
    return webhooks.hire_candidate(900_000 + n, 910_000 + n, resolved_at=utcnow())


async def test_webhooks_are_counted_per_action_with_their_signature_failures(
    system: System, tenant: Tenant
) -> None:
    name = tenant.organization.name
    before = utcnow() - dt.timedelta(seconds=1)

    # The second delivery verifies from the key cache: it is counted all the same.
    assert (await deliver(system, name, hired(1), tenant.key)).status == 200
    assert (await deliver(system, name, hired(2), tenant.key)).status == 200
    assert (await deliver(system, name, hired(3), "agh_not-the-key")).status == 401
    reject = webhooks.reject_candidate(900_004, 910_004, rejected_at=utcnow())
    assert (await deliver(system, name, reject, "agh_not-the-key")).status == 401

    found = receipts(await health(system, tenant.organization.id))
    assert set(found) == {"hire_candidate", "reject_candidate"}
    hire = found["hire_candidate"]
    assert (hire.success_count, hire.failure_count) == (2, 1)
    assert before < when(hire.last_success_time) <= when(hire.last_failure_time) <= utcnow()
    never = found["reject_candidate"]
    assert (never.success_count, never.failure_count) == (0, 1)
    assert not never.HasField("last_success_time")


async def test_a_ping_is_counted_and_listed_with_the_pings(system: System, tenant: Tenant) -> None:
    ping = webhooks.ping(4242, "Alooba hired", "Candidate has been hired", "https://x/webhook")
    assert (await deliver(system, tenant.organization.name, ping, tenant.key)).status == 200

    found = await health(system, tenant.organization.id)
    assert receipts(found)["ping"].success_count == 1
    [recorded] = found.webhook_pings
    assert (recorded.web_hook_id, recorded.event) == (4242, "Candidate has been hired")


async def test_unknown_actions_and_unreadable_bodies_count_as_other(
    system: System, tenant: Tenant
) -> None:
    name = tenant.organization.name
    invented = {"action": "x" * 60, "payload": {}}
    assert (await deliver(system, name, invented, tenant.key)).status == 200
    assert (await deliver(system, name, b"{not json", tenant.key)).status == 400
    assert (await deliver(system, name, b"{not json", "agh_wrong")).status == 401

    other = receipts(await health(system, tenant.organization.id))
    assert set(other) == {"other"}
    assert (other["other"].success_count, other["other"].failure_count) == (2, 1)


async def test_a_failure_for_an_unknown_organization_records_nothing(
    system: System, tenant: Tenant
) -> None:
    async def rows() -> int:
        async with database(system.databases["assessments"]) as sessions, sessions.begin() as s:
            return int(await s.scalar(select(func.count()).select_from(WebhookReceipt)) or 0)

    counted = await rows()
    reply = await deliver(system, unique("Nobody"), hired(), tenant.key)
    assert reply.status == 401
    assert await rows() == counted


async def test_callbacks_and_dead_letters_are_counted_for_their_organization_only(
    system: System,
) -> None:
    tenant = await new_tenant(system)
    neighbour = await new_tenant(system)
    delivered = await invite(system, tenant)
    await submit(system, delivered)
    orphan = await invite(system, tenant)
    await submit(system, await invite(system, neighbour))

    # Only these organizations' callbacks: the shared database may hold other tests'
    # messages that never settle (sealed with another run's key).
    async def delivered_for(organization_id: str) -> bool:
        found = await health(system, organization_id)
        return found.callbacks.delivered == 1 and found.callbacks.pending == 0

    for organization_id in (tenant.organization.id, neighbour.organization.id):
        await eventually(
            lambda organization_id=organization_id: delivered_for(organization_id),
            what="the callback delivered",
        )

    # Without an active key the callback cannot be signed: it dies at once.
    [key] = (
        await system.admin.ListApiKeys(
            apb.ListApiKeysRequest(organization_id=tenant.organization.id)
        )
    ).api_keys
    await system.admin.RevokeApiKey(
        apb.RevokeApiKeyRequest(organization_id=tenant.organization.id, api_key_id=key.id)
    )
    await submit(system, orphan)

    async def dead_callback() -> apb.GetIntegrationHealthResponse | None:
        found = await health(system, tenant.organization.id)
        return found if found.callbacks.dead == 1 else None

    found = await eventually(dead_callback, what="the callback dead")
    assert (found.callbacks.delivered, found.callbacks.pending) == (1, 0)
    assert found.callbacks.HasField("last_delivery_time")
    assert [(d.kind, d.count) for d in found.dead_letters] == [("greenhouse.callback", 1)]

    other = await health(system, neighbour.organization.id)
    assert (other.callbacks.delivered, other.callbacks.dead) == (1, 0)
    assert list(other.dead_letters) == []


async def test_an_unknown_organization_is_not_found(system: System) -> None:
    error = await rpc_error(health(system, "0" * 32))
    assert error.code() == grpc.StatusCode.NOT_FOUND


@pytest.fixture
async def tenant(system: System) -> Tenant:
    return await new_tenant(system)
