"""harvest-sync as real processes against the emulated Harvest API: SIGKILLed with pushes
queued and in flight, it finishes the queue after a restart, losing nothing; and two
replicas on one database share one v3 token and hold Greenhouse's fixed window between
them (the figures at full scale are `make bench`'s Harvest section)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from typing import Any

import pytest

from alooba.harvest_sync.v1 import harvest_sync_pb2 as hpb
from alooba.harvest_sync.v1 import harvest_sync_pb2_grpc as hpb_grpc
from alooba.outbox.v1 import outbox_pb2 as opb
from alooba.outbox.v1 import outbox_pb2_grpc as opb_grpc
from alooba_common.tls import Identity
from alooba_dev.harvest_emulated import connect_and_promote, field_values, pointed_at
from alooba_dev.stack import Stack
from greenhouse_emulator.harvest import HarvestEmulator, V3Behaviour

pytestmark = pytest.mark.e2e

PUSHES = 30
BEHAVIOURS = {"worst-case": V3Behaviour(), "other": V3Behaviour.other()}


def score_of(application_id: int, applications: list[int]) -> int:
    return 40 + applications.index(application_id)


def written(greenhouse: HarvestEmulator, application_id: int) -> object:
    return field_values(greenhouse, application_id).get("Alooba Score")


def harvest_env(greenhouse: HarvestEmulator, **extra: str) -> dict[str, dict[str, str]]:
    return {
        "harvest-sync": {
            **pointed_at(greenhouse),
            "OUTBOX_POLL_INTERVAL_SECONDS": "0.1",
            "OUTBOX_BASE_DELAY_SECONDS": "0.2",
            "OUTBOX_MAX_DELAY_SECONDS": "1",
            **extra,
        }
    }


async def queue_all(stack: Stack, organization_id: str, applications: list[int]) -> None:
    # Final results queued as assessments queues them.
    async with stack.channel("harvest-sync", Identity.ASSESSMENTS) as channel:
        harvest = hpb_grpc.HarvestSyncServiceStub(channel)
        for application_id in applications:
            queued = await harvest.QueueScores(
                hpb.QueueScoresRequest(
                    organization_id=organization_id,
                    application_id=application_id,
                    result_id=f"result-{application_id}",
                    total_score=score_of(application_id, applications),
                )
            )
            assert queued.queued


async def until_written(
    greenhouse: HarvestEmulator, applications: list[int], count: int, within: float
) -> None:
    async def some() -> None:
        while True:
            if sum(1 for a in applications if written(greenhouse, a) is not None) >= count:
                return
            await asyncio.sleep(0.05)

    await asyncio.wait_for(some(), within)


async def no_dead_letters(stack: Stack, organization_id: str) -> None:
    async with stack.channel("harvest-sync", Identity.OPERATOR) as channel:
        status = (
            await hpb_grpc.HarvestSyncServiceStub(channel).GetStatus(
                hpb.GetStatusRequest(organization_id=organization_id)
            )
        ).status
        dead = await opb_grpc.OutboxServiceStub(channel).ListDeadLetters(
            opb.ListDeadLettersRequest()
        )
    assert list(dead.dead_letters) == []
    assert status.dead_letters == 0


@pytest.mark.parametrize("mode", ["v1", "v3"])
async def test_harvest_sync_killed_mid_queue_finishes_it_after_a_restart(
    make_stack: Callable[..., Stack], mode: str
) -> None:
    # 5 requests a second: the queue takes several seconds, so the kill lands mid-way.
    async with HarvestEmulator(
        rate_limit=5, rate_window_seconds=1.0, v3_rate_window_seconds=1.0
    ) as greenhouse:
        admin = greenhouse.add_user("Ada", "Admin", "ada@customer.example", site_admin=True)
        # A lease short enough that pushes claimed by the killed process are taken up
        # again quickly after the restart.
        env = harvest_env(greenhouse, OUTBOX_LEASE_SECONDS="5")
        stack = await asyncio.to_thread(make_stack, service_env=env)
        organization_id = f"e2eharvest{mode}00000000000000000001"
        await connect_and_promote(
            greenhouse, stack, organization_id, mode=mode, acting_user_id=admin
        )
        applications = [greenhouse.add_application() for _ in range(PUSHES)]
        await queue_all(stack, organization_id, applications)

        await until_written(greenhouse, applications, 5, 30)
        process = stack.processes["harvest-sync"]
        process.send_signal(signal.SIGKILL)
        assert await asyncio.to_thread(process.wait, 10) == -signal.SIGKILL
        done_before_restart = sum(1 for a in applications if written(greenhouse, a) is not None)
        assert done_before_restart < PUSHES, "the queue finished before the kill"

        stack.start("harvest-sync")
        await asyncio.to_thread(stack.wait_ready, ("harvest-sync",), 30.0)
        await until_written(greenhouse, applications, PUSHES, 90)

        for application_id in applications:
            assert written(greenhouse, application_id) == score_of(application_id, applications)
        await no_dead_letters(stack, organization_id)
        # Greenhouse's limit held across the restart as well.
        assert greenhouse.stats().max_in_window <= 5


LIMIT = 10
WINDOW = 1.0
REPLICATED_PUSHES = 40


@pytest.mark.parametrize("behaviour", sorted(BEHAVIOURS))
async def test_two_replicas_share_one_v3_token_and_hold_the_fixed_window(
    make_stack: Callable[..., Stack], behaviour: str
) -> None:
    async with HarvestEmulator(
        rate_limit=LIMIT, v3_rate_window_seconds=WINDOW, v3_behaviour=BEHAVIOURS[behaviour]
    ) as greenhouse:
        admin = greenhouse.add_user("Ada", "Admin", "ada@customer.example", site_admin=True)
        stack = await asyncio.to_thread(make_stack, service_env=harvest_env(greenhouse))
        stack.start_replica("harvest-sync", 1)
        organization_id = f"e2ereplicas{behaviour.replace('-', '')}000000000001"
        connected, _ = await connect_and_promote(
            greenhouse, stack, organization_id, acting_user_id=admin
        )
        # The fields exist before the run, so that the run is the writes.
        warm = greenhouse.add_application()
        await queue_all(stack, organization_id, [warm])
        await until_written(greenhouse, [warm], 1, 30)
        first = len(greenhouse.requests)
        applications = [greenhouse.add_application() for _ in range(REPLICATED_PUSHES)]

        await queue_all(stack, organization_id, applications)
        await until_written(greenhouse, applications, REPLICATED_PUSHES, 120)

        for application_id in applications:
            assert written(greenhouse, application_id) == score_of(application_id, applications)
        await no_dead_letters(stack, organization_id)
        run = greenhouse.requests[first:]
        client = run[0].credential
    assert client is not None
    windows = greenhouse.window_counts(client)
    # Greenhouse's limit in every window, and no more than one 429 in any.
    assert max(w.counted for w in windows) <= LIMIT
    assert max(w.refused for w in windows) <= 1
    # Between them the replicas reach the limit (they do not each keep half of it).
    assert _most_in_any_window(run) == LIMIT
    # One token, shared: every request of the run carried it, none was refused as stale.
    assert {r.token for r in run} == {run[0].token}
    assert not [r for r in run if r.status == 401]
    assert connected.integration_user.id == run[0].on_behalf_of
    # And both replicas did part of the work.
    for log in (stack.log_path("harvest-sync"), stack.log_path("harvest-sync-1")):
        assert "harvest.pushed" in log.read_text()


def _most_in_any_window(requests: list[Any]) -> int:
    """The most requests Greenhouse counted in any WINDOW seconds (sliding)."""
    times = sorted(r.at for r in requests if r.status != 429)
    most, start = 0, 0
    for end, moment in enumerate(times):
        while times[start] <= moment - WINDOW:
            start += 1
        most = max(most, end - start + 1)
    return most
