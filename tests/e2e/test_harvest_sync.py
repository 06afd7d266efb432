"""harvest-sync as a real process against the emulated Harvest API: SIGKILLed with pushes
queued and in flight, it finishes the queue after a restart, losing nothing."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

import pytest

from alooba.harvest_sync.v1 import harvest_sync_pb2 as hpb
from alooba.harvest_sync.v1 import harvest_sync_pb2_grpc as hpb_grpc
from alooba.outbox.v1 import outbox_pb2 as opb
from alooba.outbox.v1 import outbox_pb2_grpc as opb_grpc
from alooba_common.tls import Identity
from alooba_dev.stack import Stack
from greenhouse_emulator.harvest import HarvestEmulator

pytestmark = pytest.mark.e2e

PUSHES = 30


def score_of(application_id: int, applications: list[int]) -> int:
    return 40 + applications.index(application_id)


def written(greenhouse: HarvestEmulator, application_id: int) -> object:
    keyed = greenhouse.application(application_id)["keyed_custom_fields"]
    return {f["name"]: f["value"] for f in keyed.values()}.get("Alooba Score")


@pytest.mark.parametrize("mode", ["v1", "v3"])
async def test_harvest_sync_killed_mid_queue_finishes_it_after_a_restart(
    make_stack: Callable[..., Stack], mode: str
) -> None:
    # 5 requests a second: the queue takes several seconds, so the kill lands mid-way.
    async with HarvestEmulator(rate_limit=5, rate_window_seconds=1.0) as greenhouse:
        greenhouse.add_user("Ada", "Admin", "ada@customer.example", site_admin=True)
        stack = await asyncio.to_thread(
            make_stack,
            service_env={
                "harvest-sync": {
                    "HARVEST_BASE_URL": greenhouse.base_url,
                    "HARVEST_TOKEN_URL": greenhouse.token_url,
                    "HARVEST_CA_FILE": str(greenhouse.ca_cert_path),
                    "HARVEST_RATE_WINDOW_SECONDS": "1",
                    "OUTBOX_POLL_INTERVAL_SECONDS": "0.1",
                    "OUTBOX_BASE_DELAY_SECONDS": "0.2",
                    "OUTBOX_MAX_DELAY_SECONDS": "1",
                    # A lease short enough that pushes claimed by the killed process are
                    # taken up again quickly after the restart.
                    "OUTBOX_LEASE_SECONDS": "5",
                }
            },
        )
        organization_id = f"e2eharvest{mode}00000000000000000001"
        if mode == "v1":
            credential = {"v1": hpb.V1Credential(api_key=greenhouse.issue_v1_key())}
        else:
            client_id, secret = greenhouse.issue_v3_client()
            credential = {"v3": hpb.V3Credential(client_id=client_id, client_secret=secret)}
        async with (
            stack.channel("harvest-sync", Identity.OPERATOR) as operator,
            stack.channel("harvest-sync", Identity.ASSESSMENTS) as assessments,
        ):
            harvest = hpb_grpc.HarvestSyncServiceStub(operator)
            status = await harvest.Connect(
                hpb.ConnectRequest(organization_id=organization_id, **credential)
            )
            greenhouse.set_site_admin(status.integration_user.id)
            await harvest.GetStatus(
                hpb.GetStatusRequest(organization_id=organization_id, refresh=True)
            )
            applications = [greenhouse.add_application() for _ in range(PUSHES)]
            for application_id in applications:
                queued = await hpb_grpc.HarvestSyncServiceStub(assessments).QueueScores(
                    hpb.QueueScoresRequest(
                        organization_id=organization_id,
                        application_id=application_id,
                        result_id=f"result-{application_id}",
                        total_score=score_of(application_id, applications),
                    )
                )
                assert queued.queued

        async def some_written(count: int) -> None:
            while True:
                if sum(1 for a in applications if written(greenhouse, a) is not None) >= count:
                    return
                await asyncio.sleep(0.05)

        await asyncio.wait_for(some_written(5), 30)
        process = stack.processes["harvest-sync"]
        process.send_signal(signal.SIGKILL)
        assert await asyncio.to_thread(process.wait, 10) == -signal.SIGKILL
        done_before_restart = sum(1 for a in applications if written(greenhouse, a) is not None)
        assert done_before_restart < PUSHES, "the queue finished before the kill"

        stack.start("harvest-sync")
        await asyncio.to_thread(stack.wait_ready, ("harvest-sync",), 30.0)
        await asyncio.wait_for(some_written(PUSHES), 90)

        for application_id in applications:
            assert written(greenhouse, application_id) == score_of(application_id, applications)
        async with stack.channel("harvest-sync", Identity.OPERATOR) as channel:
            status = await hpb_grpc.HarvestSyncServiceStub(channel).GetStatus(
                hpb.GetStatusRequest(organization_id=organization_id)
            )
            dead = await opb_grpc.OutboxServiceStub(channel).ListDeadLetters(
                opb.ListDeadLettersRequest()
            )
        assert list(dead.dead_letters) == []
        assert status.dead_letters == 0
        # Greenhouse's limit held across the restart as well.
        assert greenhouse.stats().max_in_window <= 5
