"""Builds the harvest-sync service from its settings and runs it until SIGTERM."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from alooba.harvest_sync.v1 import harvest_sync_pb2 as pb
from alooba.harvest_sync.v1 import harvest_sync_pb2_grpc as pb_grpc
from alooba_common import grpc_server
from alooba_common.db import create_engine, session_factory
from alooba_common.migrations import database_readiness
from alooba_common.outbox import DeadLetters, OutboxRelay
from alooba_common.outbox_metrics import OutboxMetrics
from alooba_common.outbox_servicer import outbox_registration
from harvest_sync.api.access import ACCESS
from harvest_sync.api.servicer import HarvestSyncServicer
from harvest_sync.app.connections import Connections
from harvest_sync.app.fields import FieldCatalog
from harvest_sync.app.push import PushHandler, ScorePushes
from harvest_sync.app.push_kinds import PUSH_KIND, organization_prefix
from harvest_sync.config import Settings
from harvest_sync.outbound.clients import HarvestClients
from harvest_sync.store.locks import LeaseLocks
from harvest_sync.store.models import OUTBOX
from harvest_sync.store.repository import organization_messages

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
HARVEST_SYNC_SERVICE = pb.DESCRIPTOR.services_by_name["HarvestSyncService"].full_name


def build_service(
    settings: Settings,
    *,
    outbox_metrics: OutboxMetrics | None = None,
    token_clock: Callable[[], float] = time.time,
) -> grpc_server.GrpcService:
    """The service's servicers, push relay, readiness check and clean-ups. `token_clock`
    times the v3 tokens (tests drive it together with the Harvest emulator's)."""
    box = settings.secret_box()
    engine = create_engine(settings.database)
    sessions = session_factory(engine)
    locks = LeaseLocks(sessions)
    clients = HarvestClients(settings.harvest, sessions, box, locks, token_clock=token_clock)
    connections = Connections(sessions, box, clients, settings.harvest)
    fields = FieldCatalog(sessions, brand=settings.harvest.brand)
    relay = OutboxRelay(
        sessions,
        OUTBOX,
        {
            PUSH_KIND: PushHandler(
                connections,
                fields,
                locks,
                brand=settings.harvest.brand,
                recheck_seconds=settings.harvest.recheck_seconds,
                write_lease_seconds=settings.relay.lease_seconds,
            )
        },
        settings=settings.relay,
        metrics=outbox_metrics or OutboxMetrics.create(),
    )
    pushes = ScorePushes(sessions, outbox_committed=relay.wake)
    return grpc_server.GrpcService(
        name="harvest-sync",
        registrations=[
            (
                lambda server: pb_grpc.add_HarvestSyncServiceServicer_to_server(
                    HarvestSyncServicer(connections, pushes), server
                ),
                HARVEST_SYNC_SERVICE,
            ),
            # The console lists and replays an organization's own pushes (Owners, Admins).
            outbox_registration(
                DeadLetters(sessions, OUTBOX, on_replay=relay.wake),
                organization_messages=lambda organization_id: organization_messages(
                    PUSH_KIND, organization_prefix(organization_id)
                ),
            ),
        ],
        readiness_check=database_readiness(engine, MIGRATIONS),
        access=ACCESS,
        cleanups=[engine.dispose, clients.close],
        background=[relay.run] if settings.relay_enabled else [],
    )


async def serve(settings: Settings) -> None:
    await grpc_server.serve(build_service(settings), settings.server)
