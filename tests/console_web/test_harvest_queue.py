"""The Harvest page's queue: the organization's pushes still waiting and its dead letters
listed (not only counted), and dead letters replayed by an Owner or Admin, through
harvest-sync's OutboxService scoped to the organization; the replay is in the audit log."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest
import structlog
from console_web.helpers import joined, web_client
from integration.harvest_helpers import (
    HarvestWorld,
    connect,
    connected_tenant,
    fields_written,
    harvest_world,
    queue_scores,
)
from integration.helpers import new_tenant
from integration.lifecycle_helpers import eventually, rpc_error
from support.console import Console, running_console
from support.tls import channel as tls_channel

from alooba.outbox.v1 import outbox_pb2 as opb
from alooba.outbox.v1 import outbox_pb2_grpc as ogrpc
from alooba_common.acting import ActingUser, acting_metadata
from alooba_common.tls import Identity
from greenhouse_emulator.harvest import HarvestEmulator


@dataclass
class Setup:
    world: HarvestWorld
    console: Console


@pytest.fixture
async def setup(shared_databases: dict[str, str]) -> AsyncIterator[Setup]:
    with structlog.testing.capture_logs():
        async with (
            harvest_world(shared_databases) as world,
            running_console(world.system, shared_databases["console"]) as console,
        ):
            yield Setup(world, console)


def asked_about(greenhouse: HarvestEmulator, application_id: int) -> int:
    """How many times harvest-sync asked Greenhouse to write this application."""
    return sum(
        1
        for r in greenhouse.requests
        if r.method == "PATCH" and r.path.endswith(f"/applications/{application_id}")
    )


async def asked_again(greenhouse: HarvestEmulator, application_id: int, before: int) -> bool:
    return asked_about(greenhouse, application_id) > before


async def dead_letter_for(setup: Setup, organization_id: str, result_id: str) -> opb.DeadLetter:
    async def find() -> list[opb.DeadLetter]:
        listed = await setup.world.system.harvest_outbox.ListDeadLetters(
            opb.ListDeadLettersRequest()
        )
        return [
            d
            for d in listed.dead_letters
            if d.payload["organization_id"] == organization_id
            and d.payload["result_id"] == result_id
        ]

    [letter] = await eventually(find, within=20, what=f"the dead letter of {result_id}")
    return letter


async def a_dead_push(setup: Setup, organization_id: str, result_id: str) -> int:
    """Scores for an application Greenhouse deleted: refused for good, a dead letter."""
    greenhouse = setup.world.greenhouse
    application_id = greenhouse.add_application()
    greenhouse.delete_application(application_id)
    assert await queue_scores(setup.world, organization_id, application_id, result_id, 71)
    await dead_letter_for(setup, organization_id, result_id)
    return application_id


async def test_the_queue_and_dead_letters_are_listed_and_an_admin_replays_them(
    setup: Setup,
) -> None:
    mine = await connected_tenant(setup.world)
    theirs = await connected_tenant(setup.world)
    org = mine.organization.id
    dead_application = await a_dead_push(setup, org, "mine-gone")
    their_letter_application = await a_dead_push(setup, theirs.organization.id, "theirs-gone")
    their_letter = await dead_letter_for(setup, theirs.organization.id, "theirs-gone")

    async with web_client(setup.console) as client:
        email = await joined(setup.console, client, org, "admin")
        page = await client.get(f"/orgs/{org}/settings/harvest")
        assert page.status == 200
        assert "Dead letters" in page.text
        assert f"<td>{dead_application}</td>" in page.text
        assert "mine-gone" in page.text
        assert "has been deleted" in page.text
        # Another organization's push is not listed, nor replayable from here.
        assert "theirs-gone" not in page.text
        assert str(their_letter_application) not in page.text

        before = asked_about(setup.world.greenhouse, dead_application)
        [letter] = [
            d
            for d in (
                await setup.world.system.harvest_outbox.ListDeadLetters(
                    opb.ListDeadLettersRequest()
                )
            ).dead_letters
            if d.payload["result_id"] == "mine-gone"
        ]
        page = await client.post(
            f"/orgs/{org}/settings/harvest/replay",
            {"id": letter.id, "which": "selected"},
        )
        assert page.status == 200
        assert page.url.endswith("?replayed=1")
        assert "1 dead letter is queued again" in page.text
        # Replayed means tried again with Greenhouse (still deleted, so dead once more).
        await eventually(
            lambda: asked_again(setup.world.greenhouse, dead_application, before),
            within=20,
            what="the replayed push sent to Greenhouse",
        )
        await dead_letter_for(setup, org, "mine-gone")

        page = await client.get(f"/orgs/{org}/settings/harvest")
        forged = await client.post(
            f"/orgs/{org}/settings/harvest/replay", {"id": their_letter.id, "which": "selected"}
        )
        assert forged.url.endswith("?replayed=0")
        assert "0 dead letters are queued again" in forged.text
        page = await client.post(f"/orgs/{org}/settings/harvest/replay", {"which": "selected"})
        assert page.status == 400
        assert "Choose the dead letters to replay." in page.text

    still_dead = await dead_letter_for(setup, theirs.organization.id, "theirs-gone")
    assert still_dead.update_time == their_letter.update_time

    async with web_client(setup.console) as owner:
        await joined(setup.console, owner, org, "owner")
        audit = await owner.get(f"/orgs/{org}/audit")
        assert "harvest.replayed" in audit.text
        assert "count: 1" in audit.text
        assert "count: 0" in audit.text
        assert email in audit.text


async def test_pushes_waiting_for_the_site_admin_grant_are_listed_and_replay_all_works(
    setup: Setup,
) -> None:
    tenant = await new_tenant(setup.world.system)
    org = tenant.organization.id
    status = await connect(setup.world, org, promote=False)
    application_id = setup.world.greenhouse.add_application()
    assert await queue_scores(setup.world, org, application_id, "waiting-result", 77)
    async with web_client(setup.console) as client:
        await joined(setup.console, client, org, "owner")
        page = await client.get(f"/orgs/{org}/settings/harvest")
        assert "Waiting to be written" in page.text
        assert f"<td>{application_id}</td>" in page.text
        assert "waiting-result" in page.text
        assert "Dead letters" in page.text
        assert "<p>None.</p>" in page.text  # no dead letter yet
        page = await client.post(f"/orgs/{org}/settings/harvest/replay", {"which": "all"})
        assert page.status == 400
        assert "There are no dead letters to replay." in page.text
        # The Site Admin grant lets the queue move; a deleted application's push dies, and
        # "Replay all" puts it back in the queue.
        setup.world.greenhouse.set_site_admin(status.integration_user.id)
        await fields_written(setup.world.greenhouse, application_id, {"Alooba Score": 77})
        gone = await a_dead_push(setup, org, "gone-after-grant")
        page = await client.get(f"/orgs/{org}/settings/harvest")
        assert f"<td>{gone}</td>" in page.text
        page = await client.post(f"/orgs/{org}/settings/harvest/replay", {"which": "all"})
        assert page.url.endswith("?replayed=1"), page.text


async def test_a_member_may_not_see_or_replay_the_queue(setup: Setup) -> None:
    tenant = await connected_tenant(setup.world)
    org = tenant.organization.id
    await a_dead_push(setup, org, "member-gone")
    async with web_client(setup.console) as client:
        await joined(setup.console, client, org, "member")
        assert (await client.get(f"/orgs/{org}/settings/harvest")).status == 403
        await client.get(f"/orgs/{org}/tests")
        page = await client.post(f"/orgs/{org}/settings/harvest/replay", {"which": "all"})
        assert page.status == 403
    # harvest-sync itself: the console acting for a Member is refused; acting for an Admin
    # sees only that organization's messages; assessments' outbox refuses the console.
    address = setup.world.system.addresses["harvest-sync"]
    async with tls_channel(address, Identity.CONSOLE) as channel:
        outbox = ogrpc.OutboxServiceStub(channel)
        member = acting_metadata(ActingUser("u1", org, "member"))
        error = await rpc_error(
            outbox.ListDeadLetters(opb.ListDeadLettersRequest(), metadata=member)
        )
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        admin = acting_metadata(ActingUser("u1", org, "admin"))
        listed = await outbox.ListDeadLetters(opb.ListDeadLettersRequest(), metadata=admin)
        assert {d.payload["organization_id"] for d in listed.dead_letters} == {org}
        queued = await outbox.ListQueued(opb.ListQueuedRequest(), metadata=admin)
        assert {m.payload["organization_id"] for m in queued.messages} <= {org}
    async with tls_channel(setup.world.system.addresses["assessments"], Identity.CONSOLE) as ch:
        admin = acting_metadata(ActingUser("u1", org, "admin"))
        error = await rpc_error(
            ogrpc.OutboxServiceStub(ch).ListDeadLetters(
                opb.ListDeadLettersRequest(), metadata=admin
            )
        )
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
