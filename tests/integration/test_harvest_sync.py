"""harvest-sync against the emulated Harvest API, v1 (API key) and v3 (OAuth) alike, v3 with
the emulator playing the worst reading of every unconfirmed behaviour ("v3") and the other
one ("v3-other"): connecting, the integration user, custom fields, pushes, faults and dead
letters."""

from __future__ import annotations

import asyncio
import time
import uuid

import aiohttp
import grpc
import pytest
from integration.harvest_helpers import (
    INTEGRATION_EMAIL,
    MODES,
    HarvestWorld,
    all_but,
    connect,
    connected_tenant,
    credential_for,
    field_values,
    fields_written,
    final_result,
    grant,
    harvest_world,
    queue_drained,
    queue_scores,
    successful_patches,
    version,
)
from integration.helpers import new_tenant
from integration.lifecycle_helpers import database, eventually, rpc_error
from sqlalchemy import select
from support.clock import ManualClock

from alooba.harvest_sync.v1 import harvest_sync_pb2 as hpb
from alooba.outbox.v1 import outbox_pb2 as opb
from greenhouse_emulator.harvest import ALL_SCOPES
from greenhouse_emulator.tls import client_ssl_context
from harvest_sync.store.models import OUTBOX, Connection, TokenRecord

V3_MODES = [mode for mode in MODES if version(mode) == "v3"]


@pytest.fixture(params=MODES)
async def world(shared_databases: dict[str, str], request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    async with harvest_world(shared_databases, mode=request.param) as running:
        yield running


@pytest.fixture(params=V3_MODES)
async def v3_world(shared_databases: dict[str, str], request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    async with harvest_world(shared_databases, mode=request.param) as running:
        yield running


async def status_of(
    world: HarvestWorld, organization_id: str, *, refresh: bool = False
) -> hpb.HarvestStatus:
    return (
        await world.system.harvest.GetStatus(
            hpb.GetStatusRequest(organization_id=organization_id, refresh=refresh)
        )
    ).status


async def test_connect_names_exactly_the_missing_permission_or_scope(world: HarvestWorld) -> None:
    tenant = await new_tenant(world.system)
    lacking = all_but(world.mode, "create field")

    status = await connect(world, tenant.organization.id, lacking, promote=False)

    wanted = grant(world.mode, "create field")
    assert list(status.missing_permissions) == [wanted]
    (action,) = [a for a in status.actions_needed if wanted in a]
    expected_mode = hpb.CONNECTION_MODE_V1 if world.mode == "v1" else hpb.CONNECTION_MODE_V3
    assert status.mode == expected_mode
    if world.mode == "v1":
        assert "Manage Permissions" in action
    else:
        assert 'the "Harvest V3 (OAuth)" credential → Manage Scopes' in action
    # Greenhouse's 403 cannot tell a missing scope from a user who is not a Site Admin
    # unless it names the scope (harvest-v3-facts.md rows 34-36).
    assert ("is not a Site Admin" in action) == (world.mode == "v3")


async def test_a_refused_credential_is_an_error_and_stores_nothing(world: HarvestWorld) -> None:
    tenant = await new_tenant(world.system)
    credential = (
        {"v1": hpb.V1Credential(api_key="not-a-key")}
        if world.mode == "v1"
        else {"v3": hpb.V3Credential(client_id="nobody-1", client_secret="wrong")}
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
    world: HarvestWorld,
) -> None:
    tenant = await new_tenant(world.system)
    organization_id = tenant.organization.id

    status = await connect(world, organization_id, promote=False)

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
    refreshed = await status_of(world, organization_id, refresh=True)
    assert refreshed.integration_user.site_admin
    assert list(refreshed.actions_needed) == []

    # Connecting again (a new credential) reuses the user rather than creating a second.
    again = await connect(world, organization_id, promote=False)
    assert again.integration_user.id == user.id
    assert len(world.greenhouse.users_by_email(INTEGRATION_EMAIL)) == 1


async def test_a_deactivated_integration_user_is_not_counted_as_a_site_admin(
    world: HarvestWorld,
) -> None:
    tenant = await connected_tenant(world)
    user_id = (await status_of(world, tenant.organization.id)).integration_user.id
    world.greenhouse.set_disabled(user_id)
    refreshed = await status_of(world, tenant.organization.id, refresh=True)
    assert not refreshed.integration_user.site_admin
    assert any("Site Admin" in action for action in refreshed.actions_needed)


async def test_a_final_result_writes_our_fields_and_leaves_every_other_field_as_it_was(
    world: HarvestWorld,
) -> None:
    greenhouse = world.greenhouse
    tenant = await connected_tenant(world)
    application_id = greenhouse.add_application()
    # Fields someone else wrote on the same application, of every kind.
    others = {
        "Referral Bonus": ("short_text", "yes", ()),
        "Level": ("single_select", "Senior", ("Junior", "Senior")),
        "Tags": ("multi_select", ["A", "C"], ("A", "B", "C")),
        "Salary": ("currency", {"value": 120000, "unit": "USD"}, ()),
        "Band": ("number_range", {"min_value": 1, "max_value": 5}, ()),
        "Remote": ("yes_no", False, ()),
        "Start": ("date", "2026-12-01", ()),
        "Owner": ("user", world.admin_id, ()),
        "Rating": ("number", 4.5, ()),
    }
    for name, (value_type, value, options) in others.items():
        key = greenhouse.add_custom_field(name, value_type=value_type, options=options)["name_key"]
        greenhouse.set_application_custom_field(application_id, key, value)
    greenhouse.add_custom_field("Unset Notes", value_type="long_text")
    before = greenhouse.application(application_id)["custom_fields"]

    await final_result(world, tenant, application_id, score=81, skills={"SQL": 90, "Python": 72.5})

    await fields_written(
        greenhouse,
        application_id,
        {"Alooba Score": 81, "Alooba SQL Score": 90, "Alooba Python Score": 72.5},
    )
    after = greenhouse.application(application_id)["custom_fields"]
    assert {k: v for k, v in after.items() if not k.startswith("alooba_")} == before
    status = await queue_drained(world, tenant.organization.id)
    assert sorted(f.name for f in status.custom_fields) == [
        "Alooba Python Score",
        "Alooba SQL Score",
        "Alooba Score",
    ]
    assert all(f.name_key for f in status.custom_fields)
    assert all(
        f["value_type"] == "number"
        for f in greenhouse.custom_fields()
        if f["name"].startswith("Alooba")
    )
    assert status.HasField("last_success_time")

    # A second result for another application reuses the fields: no new ones, no lists.
    posts_before = sum(1 for r in greenhouse.requests if r.method == "POST")
    second = greenhouse.add_application()
    await final_result(world, tenant, second, score=55, skills={"SQL": 40})
    await fields_written(greenhouse, second, {"Alooba Score": 55, "Alooba SQL Score": 40})
    assert sum(1 for r in greenhouse.requests if r.method == "POST") == posts_before


async def test_two_results_for_one_application_at_once_keep_each_others_fields(
    world: HarvestWorld,
) -> None:
    tenant = await connected_tenant(world)
    organization_id = tenant.organization.id
    application_id = world.greenhouse.add_application()
    # The fields exist, so both pushes go straight to the write.
    assert await queue_scores(world, organization_id, world.greenhouse.add_application(), "w", 1,
                              {"SQL": 1, "Python": 1})  # fmt: skip
    await queue_drained(world, organization_id)

    await asyncio.gather(
        queue_scores(world, organization_id, application_id, "sql", 60, {"SQL": 61}),
        queue_scores(world, organization_id, application_id, "python", 70, {"Python": 71}),
    )

    await queue_drained(world, organization_id)
    values = field_values(world.greenhouse, application_id)
    assert values["Alooba SQL Score"] == 61
    assert values["Alooba Python Score"] == 71
    assert values["Alooba Score"] in (60, 70)


async def test_an_existing_field_with_our_name_is_used_not_duplicated(
    world: HarvestWorld,
) -> None:
    existing = world.greenhouse.add_custom_field("Alooba Score", value_type="number")
    tenant = await connected_tenant(world)
    application_id = world.greenhouse.add_application()

    assert await queue_scores(world, tenant.organization.id, application_id, "r1", 64)

    await fields_written(world.greenhouse, application_id, {"Alooba Score": 64})
    named = [f for f in world.greenhouse.custom_fields() if f["name"] == "Alooba Score"]
    assert [f["id"] for f in named] == [existing["id"]]


async def test_every_push_lands_once_through_random_429s_5xx_and_timeouts(
    world: HarvestWorld,
) -> None:
    tenant = await connected_tenant(world)
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
    world: HarvestWorld,
) -> None:
    tenant = await connected_tenant(world)
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
    # v1 says so (404 "Application N has been deleted."); v3 no longer shows it (E2).
    reason = "has been deleted" if world.mode == "v1" else f"application {deleted} is not in"
    assert reason in letter.last_error
    assert letter.kind == "harvest.push"
    status = await queue_drained(world, organization_id)
    assert status.dead_letters == 1
    assert reason in status.last_error


async def test_pushes_wait_for_the_site_admin_grant_and_then_land(world: HarvestWorld) -> None:
    tenant = await new_tenant(world.system)
    status = await connect(world, tenant.organization.id, promote=False)
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
    world: HarvestWorld,
) -> None:
    tenant = await connected_tenant(world)
    application_id = world.greenhouse.add_application()
    for _ in range(3):
        assert await queue_scores(world, tenant.organization.id, application_id, "same", 66)
    await fields_written(world.greenhouse, application_id, {"Alooba Score": 66})
    await queue_drained(world, tenant.organization.id)
    assert successful_patches(world.greenhouse, application_id) == 1

    stranger = await new_tenant(world.system)
    assert not await queue_scores(world, stranger.organization.id, application_id, "x", 10)
    # One organization's connection is invisible to another.
    assert (await status_of(world, stranger.organization.id)).mode == hpb.CONNECTION_MODE_NONE


async def test_scores_outside_0_to_100_are_refused(shared_databases: dict[str, str]) -> None:
    async with harvest_world(shared_databases) as world:
        tenant = await connected_tenant(world)
        for total, skills in ((101, {}), (-1, {}), (50, {"SQL": float("nan")}), (50, {" ": 5})):
            error = await rpc_error(
                queue_scores(world, tenant.organization.id, 1, uuid.uuid4().hex, total, skills)
            )
            assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("mode", MODES)
async def test_the_rate_budget_keeps_within_greenhouse_limit(
    shared_databases: dict[str, str], mode: str
) -> None:
    async with harvest_world(
        shared_databases, mode=mode, rate_limit=4, rate_window_seconds=0.5
    ) as world:
        tenant = await connected_tenant(world)
        applications = [world.greenhouse.add_application() for _ in range(16)]
        for n, application_id in enumerate(applications):
            assert await queue_scores(world, tenant.organization.id, application_id, f"b{n}", n)
        for n, application_id in enumerate(applications):
            await fields_written(world.greenhouse, application_id, {"Alooba Score": n}, within=30)
        stats = world.greenhouse.stats()
        assert stats.rate_limited == 0
        assert stats.max_in_window <= 4


@pytest.mark.parametrize("mode", V3_MODES)
async def test_a_v3_token_expiring_mid_run_is_renewed_without_a_failed_push(
    shared_databases: dict[str, str], mode: str
) -> None:
    # A generous request timeout: on a loaded machine a slow answer must not be what
    # makes a push take a second attempt. Tokens age on a clock the test moves (shared by
    # Greenhouse and harvest-sync): one never expires while a push is on its way, however
    # slow the machine, and the renewals come when the test says.
    clock = ManualClock(time.time())
    async with harvest_world(
        shared_databases, mode=mode, timeout_seconds=15, token_clock=clock
    ) as world:
        await _token_renewal_run(world, clock)


async def _token_renewal_run(world: HarvestWorld, clock: ManualClock) -> None:
    # Tokens live 2 s: renewed before they expire, several times during the run.
    world.greenhouse.token_lifetime_seconds = 2.0
    tenant = await connected_tenant(world)
    applications = [world.greenhouse.add_application() for _ in range(10)]
    tokens_before = len(world.greenhouse.token_requests)

    for n, application_id in enumerate(applications[:6]):
        assert await queue_scores(world, tenant.organization.id, application_id, f"t{n}", n)
        await fields_written(world.greenhouse, application_id, {"Alooba Score": n})
        clock.advance(0.6)
    user = str((await status_of(world, tenant.organization.id)).integration_user.id)
    renewed = [t for t in world.greenhouse.token_requests[tokens_before:] if t.sub == user]
    assert len(renewed) >= 2

    # And one that expires early (revoked before its expiry): Greenhouse answers 401,
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


async def test_credentials_and_tokens_never_appear_in_the_status_or_the_database(
    world: HarvestWorld,
) -> None:
    tenant = await new_tenant(world.system)
    credential = credential_for(world.greenhouse, world.mode)
    status = await connect(world, tenant.organization.id, credential=credential)
    secret = credential["v1"].api_key if world.mode == "v1" else credential["v3"].client_secret
    assert secret not in str(status)
    async with database(world.system.databases["harvest-sync"]) as sessions, sessions.begin() as s:
        stored = (await s.execute(select(Connection.__table__))).all()
        tokens = (await s.execute(select(TokenRecord.__table__))).all()
    assert stored
    assert secret not in str(stored)
    if world.mode == "v1":
        return
    # The shared token store holds tokens encrypted: what it stores is not a token.
    assert tokens
    for token in tokens:
        assert not await _authenticates(world, token.encrypted_token)


async def _authenticates(world: HarvestWorld, bearer: str) -> bool:
    ssl = client_ssl_context(world.greenhouse.ca_cert_path)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ssl)) as http:
        headers = {"Authorization": f"Bearer {bearer}"}
        async with http.get(world.greenhouse.base_url + "/v3/users", headers=headers) as answer:
            return answer.status != 401


async def test_pagination_is_followed_link_headers_in_v1_cursors_in_v3(
    world: HarvestWorld,
) -> None:
    greenhouse = world.greenhouse
    # The only Site Admin is on the second page of users...
    greenhouse.set_site_admin(world.admin_id, False)
    admin = greenhouse.add_user("Early", "Admin", "early.admin@customer.example", site_admin=True)
    for n in range(150):
        greenhouse.add_user("Basic", f"User{n}", f"basic{n}@customer.example")
    # ... and our field is on the second page of custom fields (v3 pages newest first).
    ours = greenhouse.add_custom_field("Alooba Score", value_type="number")
    for n in range(120):
        greenhouse.add_custom_field(f"Other Field {n}", value_type="short_text")
    tenant = await new_tenant(world.system)

    # v3 reads as the named Site Admin; v1 finds the first one itself.
    status = await connect(world, tenant.organization.id, acting_user_id=admin)

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
    if world.mode == "v1":
        assert any("page=2" in r.query for r in greenhouse.requests)
    else:
        followed = [r for r in greenhouse.requests if "cursor=" in r.query]
        assert followed
        assert all(r.query.startswith("cursor=") and "&" not in r.query for r in followed)


async def test_pushes_wait_for_a_missing_permission_and_land_once_it_is_granted(
    world: HarvestWorld,
) -> None:
    tenant = await new_tenant(world.system)
    organization_id = tenant.organization.id
    credential = credential_for(
        world.greenhouse, world.mode, all_but(world.mode, "update application")
    )
    status = await connect(world, organization_id, credential=credential)
    wanted = grant(world.mode, "update application")
    assert list(status.missing_permissions) == [wanted]
    application_id = world.greenhouse.add_application()

    assert await queue_scores(world, organization_id, application_id, "needs-perm", 42)
    await asyncio.sleep(1.0)
    waiting = await status_of(world, organization_id)
    assert waiting.queue_depth == 1
    assert waiting.dead_letters == 0
    assert any(wanted in action for action in waiting.actions_needed)
    assert "Alooba Score" not in field_values(world.greenhouse, application_id)

    if world.mode == "v1":
        # A v1 key's permissions are fixed: the admin issues another and it is connected.
        await connect(world, organization_id)
    else:
        # A v3 admin adds the scope to the same credential (Manage Scopes); the next check
        # mints new tokens, which have it (E16).
        world.greenhouse.set_v3_scopes(credential["v3"].client_id, ALL_SCOPES)
    await fields_written(world.greenhouse, application_id, {"Alooba Score": 42})


async def test_a_scope_removed_while_pushing_leaves_the_push_waiting_and_the_status_names_it(
    v3_world: HarvestWorld,
) -> None:
    world = v3_world
    tenant = await new_tenant(world.system)
    organization_id = tenant.organization.id
    credential = credential_for(world.greenhouse, world.mode)
    assert not (await connect(world, organization_id, credential=credential)).actions_needed
    client_id = credential["v3"].client_id
    wanted = grant(world.mode, "update application")
    world.greenhouse.set_v3_scopes(client_id, all_but(world.mode, "update application"))
    application_id = world.greenhouse.add_application()

    assert await queue_scores(world, organization_id, application_id, "scope-gone", 33)

    async def named() -> hpb.HarvestStatus | None:
        status = await status_of(world, organization_id)
        return status if list(status.missing_permissions) == [wanted] else None

    status = await eventually(named, what="the status naming the missing scope")
    assert any(wanted in action for action in status.actions_needed)
    assert wanted in status.last_error
    assert status.queue_depth == 1
    assert status.dead_letters == 0
    assert "Alooba Score" not in field_values(world.greenhouse, application_id)

    world.greenhouse.set_v3_scopes(client_id, ALL_SCOPES)
    await fields_written(world.greenhouse, application_id, {"Alooba Score": 33})
    await queue_drained(world, organization_id)
    async with database(world.system.databases["harvest-sync"]) as sessions, sessions.begin() as s:
        (attempts,) = (
            await s.execute(
                select(OUTBOX.c.attempts).where(
                    OUTBOX.c.dedupe_key == f"{organization_id}:scope-gone"
                )
            )
        ).one()
    assert attempts == 1  # waiting spent no attempt


async def test_a_timed_out_create_makes_no_duplicate_user_or_field(
    v3_world: HarvestWorld,
) -> None:
    world = v3_world
    greenhouse = world.greenhouse
    tenant = await new_tenant(world.system)
    organization_id = tenant.organization.id

    # Connect: the integration user's create is applied, but answered after harvest-sync's
    # timeout (2 s) has passed.
    greenhouse.hang_seconds = 3.0
    # (Without the token's scopes, row 36, the check first probes with an empty create.)
    probe = [200] if not greenhouse.v3_behaviour.token_scope else []
    greenhouse.route_statuses("POST", "/v3/users").extend([*probe, 0])
    status = await connect(world, organization_id)
    assert len(greenhouse.users_by_email(INTEGRATION_EMAIL)) == 1
    assert status.integration_user.id == greenhouse.users_by_email(INTEGRATION_EMAIL)[0]["id"]
    assert not status.actions_needed
    assert any(r.fault == "timeout" and r.path == "/v3/users" for r in greenhouse.requests)

    # A push: each field's create is applied, but answered after the timeout.
    greenhouse.route_statuses("POST", "/v3/custom_fields").extend([0, 0])
    application_id = greenhouse.add_application()
    assert await queue_scores(world, organization_id, application_id, "slow", 91, {"SQL": 92})
    await fields_written(greenhouse, application_id, {"Alooba Score": 91, "Alooba SQL Score": 92})
    names = [f["name"] for f in greenhouse.custom_fields(include_inactive=True)]
    assert sorted(names) == ["Alooba SQL Score", "Alooba Score"]
    assert any(r.fault == "timeout" and r.path == "/v3/custom_fields" for r in greenhouse.requests)


async def test_without_a_site_admin_to_act_as_nothing_is_created_and_the_status_says_whom_to_name(
    shared_databases: dict[str, str],
) -> None:
    # The worst reading of E6: the service account reads nothing.
    async with harvest_world(shared_databases, mode="v3") as world:
        tenant = await new_tenant(world.system)
        status = (
            await world.system.harvest.Connect(
                hpb.ConnectRequest(
                    organization_id=tenant.organization.id,
                    **credential_for(world.greenhouse, world.mode),
                )
            )
        ).status
        assert not status.HasField("integration_user")
        (action,) = status.actions_needed
        assert "--acting-user" in action
        assert world.greenhouse.users_by_email(INTEGRATION_EMAIL) == []

        named = await connect(world, tenant.organization.id)
        assert named.integration_user.created
        assert not named.actions_needed


async def test_with_a_service_account_that_reads_no_site_admin_need_be_named(
    shared_databases: dict[str, str],
) -> None:
    async with harvest_world(shared_databases, mode="v3-other") as world:
        tenant = await new_tenant(world.system)
        status = await connect(world, tenant.organization.id, acting_user_id=0)
        assert not status.actions_needed
        created = [r for r in world.greenhouse.requests if r.method == "POST" and r.status == 201]
        assert [r.on_behalf_of for r in created][:1] == [world.admin_id]
