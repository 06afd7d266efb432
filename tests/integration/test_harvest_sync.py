"""harvest-sync against the emulated Harvest API, v1 (API key) and v3 (OAuth) alike:
connecting, the integration user, custom fields, pushes, faults and dead letters."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
from integration.harvest_helpers import (
    INTEGRATION_EMAIL,
    HarvestWorld,
    connect,
    connected_tenant,
    credential_for,
    field_values,
    fields_written,
    final_result,
    harvest_world,
    queue_drained,
    queue_scores,
    successful_patches,
)
from integration.helpers import new_tenant
from integration.lifecycle_helpers import database, eventually, rpc_error
from sqlalchemy import select

from alooba.harvest_sync.v1 import harvest_sync_pb2 as hpb
from alooba.outbox.v1 import outbox_pb2 as opb
from greenhouse_emulator.harvest import ALL_PERMISSIONS, CREATE_CUSTOM_FIELD, UPDATE_APPLICATION
from harvest_sync.models import OUTBOX, Connection

MODES = ["v1", "v3"]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def world(shared_databases: dict[str, str]):  # type: ignore[no-untyped-def]
    async with harvest_world(shared_databases) as running:
        yield running


async def status_of(world: HarvestWorld, organization_id: str) -> hpb.HarvestStatus:
    return await world.system.harvest.GetStatus(
        hpb.GetStatusRequest(organization_id=organization_id)
    )


async def test_connect_names_exactly_the_missing_permission(world: HarvestWorld, mode: str) -> None:
    tenant = await new_tenant(world.system)
    lacking = [p for p in ALL_PERMISSIONS if p != CREATE_CUSTOM_FIELD]

    status = await connect(world, tenant.organization.id, mode, lacking, promote=False)

    assert list(status.missing_permissions) == [CREATE_CUSTOM_FIELD]
    assert any(CREATE_CUSTOM_FIELD in action for action in status.actions_needed)
    expected_mode = hpb.CONNECTION_MODE_V1 if mode == "v1" else hpb.CONNECTION_MODE_V3
    assert status.mode == expected_mode


async def test_a_refused_credential_is_an_error_and_stores_nothing(
    world: HarvestWorld, mode: str
) -> None:
    tenant = await new_tenant(world.system)
    credential = (
        {"v1": hpb.V1Credential(api_key="not-a-key")}
        if mode == "v1"
        else {"v3": hpb.V3Credential(client_id="nobody", client_secret="wrong")}
    )
    error = await rpc_error(
        world.system.harvest.Connect(
            hpb.ConnectRequest(organization_id=tenant.organization.id, **credential)
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "refused" in (error.details() or "")
    assert (await status_of(world, tenant.organization.id)).mode == hpb.CONNECTION_MODE_NONE


async def test_the_integration_user_is_created_once_and_site_admin_is_reported_until_granted(
    world: HarvestWorld, mode: str
) -> None:
    tenant = await new_tenant(world.system)
    organization_id = tenant.organization.id

    status = await connect(world, organization_id, mode, promote=False)

    user = status.integration_user
    assert user.email == INTEGRATION_EMAIL
    assert user.created
    assert not user.site_admin
    created = world.greenhouse.user(user.id)
    assert (created["first_name"], created["last_name"]) == ("Alooba", "Integration")
    assert created["site_admin"] is False  # Harvest can only create Basic users
    assert any("Site Admin" in action for action in status.actions_needed)

    # The Greenhouse admin promotes it; a refreshed status says so and asks for nothing.
    world.greenhouse.set_site_admin(user.id)
    refreshed = await world.system.harvest.GetStatus(
        hpb.GetStatusRequest(organization_id=organization_id, refresh=True)
    )
    assert refreshed.integration_user.site_admin
    assert list(refreshed.actions_needed) == []

    # Connecting again (a new key) reuses the user rather than creating a second.
    again = await connect(world, organization_id, mode, promote=False)
    assert again.integration_user.id == user.id
    assert len(world.greenhouse.users_by_email(INTEGRATION_EMAIL)) == 1


async def test_a_final_result_writes_total_and_skills_and_leaves_other_fields_alone(
    world: HarvestWorld, mode: str
) -> None:
    tenant = await connected_tenant(world, mode)
    application_id = world.greenhouse.add_application()
    # A field someone else wrote on the same application.
    other = world.greenhouse.add_custom_field("Referral Bonus", value_type="short_text")
    world.greenhouse.set_application_custom_field(application_id, other["name_key"], "yes")

    await final_result(world, tenant, application_id, score=81, skills={"SQL": 90, "Python": 72.5})

    values = await fields_written(
        world.greenhouse,
        application_id,
        {"Alooba Score": 81, "Alooba SQL Score": 90, "Alooba Python Score": 72.5},
    )
    assert values["Referral Bonus"] == "yes"
    status = await queue_drained(world, tenant.organization.id)
    assert sorted(f.name for f in status.custom_fields) == [
        "Alooba Python Score",
        "Alooba SQL Score",
        "Alooba Score",
    ]
    assert all(
        f["value_type"] == "number"
        for f in world.greenhouse.custom_fields()
        if f["name"].startswith("Alooba")
    )
    assert status.HasField("last_success_time")

    # A second result for another application reuses the fields: no new ones, no lists.
    posts_before = sum(1 for r in world.greenhouse.requests if r.method == "POST")
    second = world.greenhouse.add_application()
    await final_result(world, tenant, second, score=55, skills={"SQL": 40})
    await fields_written(world.greenhouse, second, {"Alooba Score": 55, "Alooba SQL Score": 40})
    assert sum(1 for r in world.greenhouse.requests if r.method == "POST") == posts_before


async def test_an_existing_field_with_our_name_is_used_not_duplicated(
    world: HarvestWorld, mode: str
) -> None:
    existing = world.greenhouse.add_custom_field("Alooba Score", value_type="number")
    tenant = await connected_tenant(world, mode)
    application_id = world.greenhouse.add_application()

    assert await queue_scores(world, tenant.organization.id, application_id, "r1", 64)

    await fields_written(world.greenhouse, application_id, {"Alooba Score": 64})
    named = [f for f in world.greenhouse.custom_fields() if f["name"] == "Alooba Score"]
    assert [f["id"] for f in named] == [existing["id"]]


async def test_every_push_lands_once_through_random_429s_5xx_and_timeouts(
    world: HarvestWorld, mode: str
) -> None:
    tenant = await connected_tenant(world, mode)
    applications = [world.greenhouse.add_application() for _ in range(12)]
    # Warm the field cache, so the fault stretch is about the writes.
    assert await queue_scores(world, tenant.organization.id, applications[0], "r0", 50)
    await fields_written(world.greenhouse, applications[0], {"Alooba Score": 50})

    world.greenhouse.inject_faults(
        0.5, (429, 500, 502, 503, 0), seconds=2.5, hang_seconds=3.0, seed=7
    )
    for n, application_id in enumerate(applications[1:], start=1):
        assert await queue_scores(world, tenant.organization.id, application_id, f"r{n}", n)

    for n, application_id in enumerate(applications[1:], start=1):
        await fields_written(world.greenhouse, application_id, {"Alooba Score": n}, within=60)

    await queue_drained(world, tenant.organization.id, within=60)
    faults = [r for r in world.greenhouse.requests if r.fault]
    assert faults, "the fault stretch caught no request"
    for application_id in applications:
        # Answered 200 once; a timed-out write may also have been applied (same values).
        assert successful_patches(world.greenhouse, application_id) == 1
    dead = await world.system.harvest_outbox.ListDeadLetters(opb.ListDeadLettersRequest())
    assert not [
        d for d in dead.dead_letters if d.payload["organization_id"] == tenant.organization.id
    ]


async def test_a_deleted_application_is_a_dead_letter_with_the_reason_and_the_others_go_through(
    world: HarvestWorld, mode: str
) -> None:
    tenant = await connected_tenant(world, mode)
    organization_id = tenant.organization.id
    kept = [world.greenhouse.add_application() for _ in range(3)]
    deleted = world.greenhouse.add_application()
    world.greenhouse.delete_application(deleted)

    assert await queue_scores(world, organization_id, deleted, "gone", 70)
    for n, application_id in enumerate(kept):
        assert await queue_scores(world, organization_id, application_id, f"kept{n}", 80 + n)

    for n, application_id in enumerate(kept):
        await fields_written(world.greenhouse, application_id, {"Alooba Score": 80 + n})

    async def dead_letter() -> list[opb.DeadLetter]:
        listed = await world.system.harvest_outbox.ListDeadLetters(opb.ListDeadLettersRequest())
        return [
            d
            for d in listed.dead_letters
            if d.payload["result_id"] == "gone" and d.payload["organization_id"] == organization_id
        ]

    [letter] = await eventually(dead_letter, what="the dead letter")
    assert f"Application {deleted} has been deleted." in letter.last_error
    assert letter.kind == "harvest.push"
    status = await queue_drained(world, organization_id)
    assert status.dead_letters == 1
    assert "has been deleted" in status.last_error


async def test_pushes_wait_for_the_site_admin_grant_and_then_land(
    world: HarvestWorld, mode: str
) -> None:
    tenant = await new_tenant(world.system)
    status = await connect(world, tenant.organization.id, mode, promote=False)
    application_id = world.greenhouse.add_application()

    assert await queue_scores(world, tenant.organization.id, application_id, "early", 77)
    await asyncio.sleep(1.0)
    assert "Alooba Score" not in field_values(world.greenhouse, application_id)
    waiting = await status_of(world, tenant.organization.id)
    assert waiting.queue_depth == 1
    assert waiting.dead_letters == 0

    world.greenhouse.set_site_admin(status.integration_user.id)
    await fields_written(world.greenhouse, application_id, {"Alooba Score": 77})


async def test_the_same_result_is_queued_once_and_unconnected_organizations_queue_nothing(
    world: HarvestWorld, mode: str
) -> None:
    tenant = await connected_tenant(world, mode)
    application_id = world.greenhouse.add_application()
    for _ in range(3):
        assert await queue_scores(world, tenant.organization.id, application_id, "same", 66)
    await fields_written(world.greenhouse, application_id, {"Alooba Score": 66})
    await asyncio.sleep(0.5)
    assert successful_patches(world.greenhouse, application_id) == 1

    stranger = await new_tenant(world.system)
    assert not await queue_scores(world, stranger.organization.id, application_id, "x", 10)
    # One organization's connection is invisible to another.
    assert (await status_of(world, stranger.organization.id)).mode == hpb.CONNECTION_MODE_NONE


async def test_scores_outside_0_to_100_are_refused(world: HarvestWorld) -> None:
    tenant = await connected_tenant(world, "v1")
    for total, skills in ((101, {}), (-1, {}), (50, {"SQL": float("nan")}), (50, {" ": 5})):
        error = await rpc_error(
            queue_scores(world, tenant.organization.id, 1, uuid.uuid4().hex, total, skills)
        )
        assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_the_rate_budget_keeps_within_greenhouse_limit(
    shared_databases: dict[str, str],
) -> None:
    async with harvest_world(shared_databases, rate_limit=4, rate_window_seconds=0.5) as world:
        tenant = await connected_tenant(world, "v1")
        applications = [world.greenhouse.add_application() for _ in range(16)]
        for n, application_id in enumerate(applications):
            assert await queue_scores(world, tenant.organization.id, application_id, f"b{n}", n)
        for n, application_id in enumerate(applications):
            await fields_written(world.greenhouse, application_id, {"Alooba Score": n}, within=30)
        stats = world.greenhouse.stats()
        assert stats.rate_limited == 0
        assert stats.max_in_window <= 4


async def test_a_v3_token_expiring_mid_run_is_renewed_without_a_failed_push(
    shared_databases: dict[str, str],
) -> None:
    # A generous request timeout: on a loaded machine a slow answer must not be what
    # makes a push take a second attempt.
    async with harvest_world(shared_databases, timeout_seconds=15) as world:
        await _token_renewal_run(world)


async def _token_renewal_run(world: HarvestWorld) -> None:
    # Tokens live 2 s: renewed before they expire, several times during the run.
    world.greenhouse.token_lifetime_seconds = 2.0
    tenant = await connected_tenant(world, "v3")
    applications = [world.greenhouse.add_application() for _ in range(10)]
    tokens_before = len(world.greenhouse.token_requests)

    for n, application_id in enumerate(applications[:6]):
        assert await queue_scores(world, tenant.organization.id, application_id, f"t{n}", n)
        await fields_written(world.greenhouse, application_id, {"Alooba Score": n})
        await asyncio.sleep(0.4)
    assert len(world.greenhouse.token_requests) >= tokens_before + 2

    # And one that expires early (revoked before its expires_in): Greenhouse answers 401,
    # the token is renewed and the same push goes through.
    world.greenhouse.token_lifetime_seconds = 3600
    assert await queue_scores(world, tenant.organization.id, applications[6], "t6", 6)
    await fields_written(world.greenhouse, applications[6], {"Alooba Score": 6})
    world.greenhouse.revoke_tokens()
    for n, application_id in enumerate(applications[7:], start=7):
        assert await queue_scores(world, tenant.organization.id, application_id, f"t{n}", n)
    for n, application_id in enumerate(applications[7:], start=7):
        await fields_written(world.greenhouse, application_id, {"Alooba Score": n})
    assert any(r.status == 401 for r in world.greenhouse.requests)  # the revoked token
    # A write lands in Greenhouse a moment before its queue entry is marked delivered.
    await queue_drained(world, tenant.organization.id)
    async with database(world.system.databases["harvest-sync"]) as sessions, sessions.begin() as s:
        rows = (
            await s.execute(
                select(OUTBOX.c.status, OUTBOX.c.attempts).where(
                    OUTBOX.c.dedupe_key.startswith(f"{tenant.organization.id}:")
                )
            )
        ).all()
    # Every push delivered at its first attempt: no push failed on the way.
    assert rows
    assert all(status == "delivered" and attempts == 1 for status, attempts in rows)


async def test_credentials_never_appear_in_the_status(world: HarvestWorld, mode: str) -> None:
    tenant = await new_tenant(world.system)
    credential = credential_for(world.greenhouse, mode)
    status = await world.system.harvest.Connect(
        hpb.ConnectRequest(organization_id=tenant.organization.id, **credential)
    )
    secret = credential["v1"].api_key if mode == "v1" else credential["v3"].client_secret
    assert secret not in str(status)
    async with database(world.system.databases["harvest-sync"]) as sessions, sessions.begin() as s:
        stored = (await s.execute(select(Connection.__table__))).all()
    assert stored
    assert secret not in str(stored)


async def test_pagination_is_followed_link_headers_in_v1_cursors_in_v3(
    world: HarvestWorld, mode: str
) -> None:
    greenhouse = world.greenhouse
    # The only Site Admin is on the second page of users...
    greenhouse.set_site_admin(world.admin_id, False)
    for n in range(150):
        greenhouse.add_user("Basic", f"User{n}", f"basic{n}@customer.example")
    admin = greenhouse.add_user("Late", "Admin", "late.admin@customer.example", site_admin=True)
    # ... and our field is on the second page of custom fields.
    for n in range(120):
        greenhouse.add_custom_field(f"Other Field {n}", value_type="short_text")
    ours = greenhouse.add_custom_field("Alooba Score", value_type="number")
    tenant = await new_tenant(world.system)

    status = await connect(world, tenant.organization.id, mode)

    created = [r for r in greenhouse.requests if r.method == "POST" and r.path.endswith("/users")]
    assert [r.on_behalf_of for r in created if r.status == 201] == [admin]
    assert not status.actions_needed
    application_id = greenhouse.add_application()
    assert await queue_scores(world, tenant.organization.id, application_id, "paged", 88)
    await fields_written(greenhouse, application_id, {"Alooba Score": 88})
    fields_created = [
        r
        for r in greenhouse.requests
        if r.method == "POST" and "custom_fields" in r.path and r.status == 201
    ]
    assert fields_created == []
    assert [f.id for f in (await status_of(world, tenant.organization.id)).custom_fields] == [
        ours["id"]
    ]
    if mode == "v3":
        followed = [r for r in greenhouse.requests if "cursor=" in r.query]
        assert followed
        assert all(r.query.startswith("cursor=") and "&" not in r.query for r in followed)
    else:
        assert any("page=2" in r.query for r in greenhouse.requests)


async def test_pushes_wait_for_a_missing_permission_and_land_after_reconnecting(
    world: HarvestWorld, mode: str
) -> None:
    tenant = await new_tenant(world.system)
    organization_id = tenant.organization.id
    lacking = [p for p in ALL_PERMISSIONS if p != UPDATE_APPLICATION]
    status = await connect(world, organization_id, mode, lacking)
    assert list(status.missing_permissions) == [UPDATE_APPLICATION]
    application_id = world.greenhouse.add_application()

    assert await queue_scores(world, organization_id, application_id, "needs-perm", 42)
    await asyncio.sleep(1.0)
    waiting = await status_of(world, organization_id)
    assert waiting.queue_depth == 1
    assert waiting.dead_letters == 0
    assert "Alooba Score" not in field_values(world.greenhouse, application_id)

    # The admin issues a key with the permission; connecting again lets the push through.
    await connect(world, organization_id, mode)
    await fields_written(world.greenhouse, application_id, {"Alooba Score": 42})
