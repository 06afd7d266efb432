"""Helpers for the Harvest tests: an emulated Greenhouse Harvest API, the system pointed at
it, an organization connected with a v1 key or a v3 OAuth client, and final results."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from integration.helpers import Tenant, new_tenant, send_test
from integration.lifecycle_helpers import callback_receiver, callbacks, eventually, start, submit
from support.greenhouse import send_test_body
from support.inprocess import System, running_system

from alooba.harvest_sync.v1 import harvest_sync_pb2 as hpb
from alooba_common.outbox import RelaySettings
from greenhouse_emulator.harvest import ALL_PERMISSIONS, HarvestEmulator
from harvest_sync.config import HarvestSettings

INTEGRATION_EMAIL = "greenhouse-integration@alooba.com"

# Fast retries: the tests' faults last seconds, not minutes.
FAST_RELAY = RelaySettings(
    base_delay_seconds=0.05,
    max_delay_seconds=0.3,
    poll_interval_seconds=0.05,
    stats_interval_seconds=0.5,
    max_attempts=12,
)


@dataclass
class HarvestWorld:
    system: System
    greenhouse: HarvestEmulator
    admin_id: int


@asynccontextmanager
async def harvest_world(
    databases: dict[str, str],
    *,
    rate_limit: int = 1000,
    rate_window_seconds: float = 10.0,
    timeout_seconds: float = 2.0,
    **system_options: Any,
) -> AsyncIterator[HarvestWorld]:
    async with HarvestEmulator(
        rate_limit=rate_limit, rate_window_seconds=rate_window_seconds
    ) as greenhouse:
        admin_id = greenhouse.add_user("Ada", "Admin", "ada@customer.example", site_admin=True)
        settings = HarvestSettings(
            base_url=greenhouse.base_url,
            token_url=greenhouse.token_url,
            ca_file=str(greenhouse.ca_cert_path),
            rate_window_seconds=rate_window_seconds,
            recheck_seconds=0.3,
            timeout_seconds=timeout_seconds,
        )
        async with running_system(
            databases, harvest=settings, harvest_relay=FAST_RELAY, **callbacks(), **system_options
        ) as system:
            yield HarvestWorld(system, greenhouse, admin_id)


def credential_for(
    greenhouse: HarvestEmulator, mode: str, permissions: Iterable[str] = ALL_PERMISSIONS
) -> dict[str, Any]:
    if mode == "v1":
        return {"v1": hpb.V1Credential(api_key=greenhouse.issue_v1_key(permissions))}
    client_id, secret = greenhouse.issue_v3_client(permissions)
    return {"v3": hpb.V3Credential(client_id=client_id, client_secret=secret)}


async def connect(
    world: HarvestWorld,
    organization_id: str,
    mode: str,
    permissions: Iterable[str] = ALL_PERMISSIONS,
    *,
    promote: bool = True,
) -> hpb.HarvestStatus:
    """Connects the organization; with `promote`, the Greenhouse admin then makes the
    integration user a Site Admin (as the seed's setup asks) and the status is refreshed."""
    status = await world.system.harvest.Connect(
        hpb.ConnectRequest(
            organization_id=organization_id,
            **credential_for(world.greenhouse, mode, permissions),
        )
    )
    if promote and status.HasField("integration_user"):
        world.greenhouse.set_site_admin(status.integration_user.id)
        status = await world.system.harvest.GetStatus(
            hpb.GetStatusRequest(organization_id=organization_id, refresh=True)
        )
    return status


async def connected_tenant(world: HarvestWorld, mode: str) -> Tenant:
    tenant = await new_tenant(world.system)
    status = await connect(world, tenant.organization.id, mode)
    assert not status.actions_needed, status
    return tenant


async def final_result(
    world: HarvestWorld,
    tenant: Tenant,
    application_id: int,
    *,
    score: float,
    skills: dict[str, float],
) -> str:
    """send_test from Greenhouse for that application, then the candidate takes the test
    and the result is final; returns the invitation id."""
    body = send_test_body(tenant.test.id, application_id=application_id)
    body["url"] = callback_receiver().url()
    reply = await send_test(world.system, tenant.key, body)
    assert reply.status == 200, reply.body
    invitation_id: str = reply.body["partner_interview_id"]
    await start(world.system, invitation_id)
    await submit(world.system, invitation_id, score=score, skills=skills)
    return invitation_id


def field_values(greenhouse: HarvestEmulator, application_id: int) -> dict[str, Any]:
    """The application's custom fields by their names, as Greenhouse shows them."""
    keyed = greenhouse.application(application_id)["keyed_custom_fields"]
    return {field["name"]: field["value"] for field in keyed.values()}


async def fields_written(
    greenhouse: HarvestEmulator, application_id: int, expected: dict[str, Any], within: float = 20
) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        values = field_values(greenhouse, application_id)
        return values if all(values.get(k) == v for k, v in expected.items()) else None

    return await eventually(check, within=within, what=f"fields on application {application_id}")


def successful_patches(greenhouse: HarvestEmulator, application_id: int) -> int:
    return sum(
        1
        for r in greenhouse.requests
        if r.method == "PATCH"
        and r.path.endswith(f"/applications/{application_id}")
        and r.status == 200
    )


async def queue_scores(
    world: HarvestWorld,
    organization_id: str,
    application_id: int,
    result_id: str,
    total: float,
    skills: dict[str, float] | None = None,
) -> bool:
    response = await world.system.harvest.QueueScores(
        hpb.QueueScoresRequest(
            organization_id=organization_id,
            application_id=application_id,
            result_id=result_id,
            total_score=total,
            skill_scores=[hpb.SkillScore(skill=s, score=v) for s, v in (skills or {}).items()],
        )
    )
    return response.queued


async def queue_drained(
    world: HarvestWorld, organization_id: str, within: float = 30
) -> hpb.HarvestStatus:
    """The organization's status once nothing is pending (a write can land in Greenhouse a
    moment before its queue entry is marked delivered)."""

    async def check() -> hpb.HarvestStatus | None:
        status = await world.system.harvest.GetStatus(
            hpb.GetStatusRequest(organization_id=organization_id)
        )
        return status if status.queue_depth == 0 else None

    return await eventually(check, within=within, what="the push queue drained")
