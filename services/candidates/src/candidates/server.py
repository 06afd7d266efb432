"""Builds the candidates service from its settings and runs it until SIGTERM."""

from __future__ import annotations

from pathlib import Path

from alooba.candidates.v1 import candidates_pb2 as pb
from alooba.candidates.v1 import candidates_pb2_grpc as pb_grpc
from alooba_common import grpc_server
from alooba_common.db import (
    checkpoint_wal,
    create_engine,
    read_session_factory,
    session_factory,
)
from alooba_common.migrations import database_readiness
from candidates.api.access import ACCESS
from candidates.api.servicer import CandidatesServicer
from candidates.app.events import WebhookEvents
from candidates.app.service import Candidates
from candidates.config import Settings

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
CANDIDATES_SERVICE = pb.DESCRIPTOR.services_by_name["CandidatesService"].full_name


def build_service(settings: Settings) -> grpc_server.GrpcService:
    """The service's servicers, readiness check and clean-ups, ready to be served."""
    engine = create_engine(settings.database)
    sessions = session_factory(engine)
    candidates = Candidates(sessions, read_sessions=read_session_factory(engine))
    events = WebhookEvents(sessions, after_erasure=lambda: checkpoint_wal(engine))
    return grpc_server.GrpcService(
        name="candidates",
        registrations=[
            (
                lambda server: pb_grpc.add_CandidatesServiceServicer_to_server(
                    CandidatesServicer(candidates, events), server
                ),
                CANDIDATES_SERVICE,
            )
        ],
        readiness_check=database_readiness(engine, MIGRATIONS),
        access=ACCESS,
        cleanups=[engine.dispose],
    )


async def serve(settings: Settings) -> None:
    await grpc_server.serve(build_service(settings), settings.server)
