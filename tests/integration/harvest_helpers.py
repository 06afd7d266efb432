"""Helpers for the Harvest tests: an emulated Greenhouse Harvest API, the system pointed at
it, an organization connected with a v1 key or a v3 OAuth client, and final results.

The tests run in three modes: "v1", "v3" (the emulator playing the worst reading of every
unconfirmed v3 behaviour, its default) and "v3-other" (the other reading of each)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Final

from integration.helpers import Tenant, new_tenant, send_test
from integration.lifecycle_helpers import callback_receiver, callbacks, eventually, start, submit
from support.greenhouse import send_test_body
from support.inprocess import System, running_system

from alooba.harvest_sync.v1 import harvest_sync_pb2 as hpb
from alooba_common.outbox import RelaySettings
from greenhouse_emulator.harvest import (
    ADD_USER,
    ALL_PERMISSIONS,
    ALL_SCOPES,
    APPLICATIONS_LIST,
    APPLICATIONS_UPDATE,
    CREATE_CUSTOM_FIELD,
    CUSTOM_FIELDS_CREATE,
    CUSTOM_FIELDS_LIST,
    GET_CUSTOM_FIELDS,
    LIST_USERS,
    UPDATE_APPLICATION,
    USERS_CREATE,
    USERS_LIST,
    HarvestEmulator,
    V3Behaviour,
)
from harvest_sync.config import HarvestSettings

INTEGRATION_EMAIL = "greenhouse-integration@alooba.com"
MODES: Final = ("v1", "v3", "v3-other")

# What the integration needs, in each version's terms (v3 also reads applications).
GRANTS: Final = {
    "read application": ("", APPLICATIONS_LIST),
    "list users": (LIST_USERS, USERS_LIST),
    "add user": (ADD_USER, USERS_CREATE),
    "update application": (UPDATE_APPLICATION, APPLICATIONS_UPDATE),
    "create field": (CREATE_CUSTOM_FIELD, CUSTOM_FIELDS_CREATE),
    "list fields": (GET_CUSTOM_FIELDS, CUSTOM_FIELDS_LIST),
}


def version(mode: str) -> str:
    return "v1" if mode == "v1" else "v3"


def behaviour(mode: str) -> V3Behaviour:
    return V3Behaviour.other() if mode == "v3-other" else V3Behaviour()


def grant(mode: str, need: str) -> str:
    """The v1 permission label or v3 scope of a need ("update application", ...)."""
    label, scope = GRANTS[need]
    return label if mode == "v1" else scope


def all_grants(mode: str) -> tuple[str, ...]:
    return ALL_PERMISSIONS if mode == "v1" else ALL_SCOPES


def all_but(mode: str, need: str) -> list[str]:
    """Every permission or scope but that of `need`."""
    return [g for g in all_grants(mode) if g != grant(mode, need)]


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
    mode: str = "v1"


@asynccontextmanager
async def harvest_world(
    databases: dict[str, str],
    *,
    mode: str = "v1",
    rate_limit: int = 1000,
    rate_window_seconds: float = 10.0,
    timeout_seconds: float = 2.0,
    token_clock: Callable[[], float] = time.time,
    **system_options: Any,
) -> AsyncIterator[HarvestWorld]:
    """The system pointed at a Harvest emulator playing `mode`'s v3 behaviour; one rate
    window for both versions. `token_clock` times v3 tokens on both sides."""
    async with HarvestEmulator(
        rate_limit=rate_limit,
        rate_window_seconds=rate_window_seconds,
        v3_rate_window_seconds=rate_window_seconds,
        v3_behaviour=behaviour(mode),
        token_clock=token_clock,
    ) as greenhouse:
        admin_id = greenhouse.add_user("Ada", "Admin", "ada@customer.example", site_admin=True)
        settings = HarvestSettings(
            base_url=greenhouse.base_url,
            token_url=greenhouse.token_url,
            ca_file=str(greenhouse.ca_cert_path),
            rate_window_seconds=rate_window_seconds,
            v3_rate_window_seconds=rate_window_seconds,
            recheck_seconds=0.3,
            timeout_seconds=timeout_seconds,
        )
        async with running_system(
            databases,
            harvest=settings,
            harvest_relay=FAST_RELAY,
            harvest_token_clock=token_clock,
            **callbacks(),
            **system_options,
        ) as system:
            yield HarvestWorld(system, greenhouse, admin_id, mode)


def credential_for(
    greenhouse: HarvestEmulator, mode: str, grants: Iterable[str] | None = None
) -> dict[str, Any]:
    """A credential with these permissions (v1) or scopes (v3); all by default."""
    if version(mode) == "v1":
        key = greenhouse.issue_v1_key(ALL_PERMISSIONS if grants is None else grants)
        return {"v1": hpb.V1Credential(api_key=key)}
    client_id, secret = greenhouse.issue_v3_client(ALL_SCOPES if grants is None else grants)
    return {"v3": hpb.V3Credential(client_id=client_id, client_secret=secret)}


async def connect(
    world: HarvestWorld,
    organization_id: str,
    grants: Iterable[str] | None = None,
    *,
    mode: str | None = None,
    promote: bool = True,
    acting_user_id: int | None = None,
    credential: dict[str, Any] | None = None,
) -> hpb.HarvestStatus:
    """Connects the organization in `mode` (default: the world's); v3 names the Site Admin
    to act as (Greenhouse may show nothing to the service account, harvest-v3-facts.md E6).
    With `promote`, the Greenhouse admin then makes the integration user a Site Admin (as
    the seed's setup asks) and the status is refreshed."""
    mode = mode or world.mode
    if acting_user_id is None and version(mode) == "v3":
        acting_user_id = world.admin_id
    status = (
        await world.system.harvest.Connect(
            hpb.ConnectRequest(
                organization_id=organization_id,
                acting_user_id=acting_user_id or 0,
                **(credential or credential_for(world.greenhouse, mode, grants)),
            )
        )
    ).status
    if promote and status.HasField("integration_user"):
        world.greenhouse.set_site_admin(status.integration_user.id)
        status = (
            await world.system.harvest.GetStatus(
                hpb.GetStatusRequest(organization_id=organization_id, refresh=True)
            )
        ).status
    return status


async def connected_tenant(world: HarvestWorld) -> Tenant:
    tenant = await new_tenant(world.system)
    status = await connect(world, tenant.organization.id)
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
        status = (
            await world.system.harvest.GetStatus(
                hpb.GetStatusRequest(organization_id=organization_id)
            )
        ).status
        return status if status.queue_depth == 0 else None

    return await eventually(check, within=within, what="the push queue drained")
