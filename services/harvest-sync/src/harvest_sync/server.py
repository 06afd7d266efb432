"""Builds the harvest-sync service from its settings and runs it until SIGTERM."""

from __future__ import annotations

from pathlib import Path

from alooba.harvest_sync.v1 import harvest_sync_pb2 as pb
from alooba.harvest_sync.v1 import harvest_sync_pb2_grpc as pb_grpc
from alooba_common import grpc_server
from alooba_common.db import create_engine
from alooba_common.migrations import database_readiness
from harvest_sync.config import Settings
from harvest_sync.servicer import HarvestSyncServicer

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
HARVEST_SYNC_SERVICE = pb.DESCRIPTOR.services_by_name["HarvestSyncService"].full_name


def build_service(settings: Settings) -> grpc_server.GrpcService:
    """The service's servicers, readiness check and clean-ups, ready to be served."""
    engine = create_engine(settings.database)
    return grpc_server.GrpcService(
        name="harvest-sync",
        registrations=[
            (
                lambda server: pb_grpc.add_HarvestSyncServiceServicer_to_server(
                    HarvestSyncServicer(), server
                ),
                HARVEST_SYNC_SERVICE,
            )
        ],
        readiness_check=database_readiness(engine, MIGRATIONS),
        cleanups=[engine.dispose],
    )


async def serve(settings: Settings) -> None:
    await grpc_server.serve(build_service(settings), settings.server)
