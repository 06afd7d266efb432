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
from alooba_common.grpc_client import create_channel
from alooba_common.migrations import database_readiness
from alooba_common.outbox import DeadLetters, OutboxRelay
from alooba_common.outbox_metrics import OutboxMetrics
from alooba_common.outbox_servicer import outbox_registration
from alooba_common.tls import CertificateFiles, Identity
from candidates.api.access import ACCESS
from candidates.api.servicer import CandidatesServicer
from candidates.app.events import WebhookEvents
from candidates.app.service import Candidates
from candidates.config import Settings
from candidates.outbound import cancellations
from candidates.store.models import OUTBOX

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
CANDIDATES_SERVICE = pb.DESCRIPTOR.services_by_name["CandidatesService"].full_name


def build_service(
    settings: Settings, *, outbox_metrics: OutboxMetrics | None = None
) -> grpc_server.GrpcService:
    """The service's servicers, outbox relay, readiness check and clean-ups."""
    engine = create_engine(settings.database)
    sessions = session_factory(engine)
    # The service calls assessments as itself, only to cancel an erased candidate's
    # invitations.
    assessments_channel = create_channel(
        settings.assessments_addr,
        tls=CertificateFiles(settings.server.tls, expected=Identity.CANDIDATES),
        default_timeout=settings.rpc_timeout_seconds,
        wait_for_ready=True,
    )
    relay = OutboxRelay(
        sessions,
        OUTBOX,
        {
            cancellations.KIND: cancellations.CancelInvitations(
                assessments_channel, timeout=settings.rpc_timeout_seconds
            )
        },
        settings=settings.relay,
        metrics=outbox_metrics or OutboxMetrics.create(),
    )
    candidates = Candidates(sessions, read_sessions=read_session_factory(engine))
    events = WebhookEvents(
        sessions, after_erasure=lambda: checkpoint_wal(engine), outbox_committed=relay.wake
    )

    async def close_clients() -> None:
        await assessments_channel.close(None)

    return grpc_server.GrpcService(
        name="candidates",
        registrations=[
            (
                lambda server: pb_grpc.add_CandidatesServiceServicer_to_server(
                    CandidatesServicer(candidates, events), server
                ),
                CANDIDATES_SERVICE,
            ),
            outbox_registration(DeadLetters(sessions, OUTBOX, on_replay=relay.wake)),
        ],
        readiness_check=database_readiness(engine, MIGRATIONS),
        access=ACCESS,
        cleanups=[engine.dispose, close_clients],
        background=[relay.run] if settings.relay_enabled else [],
    )


async def serve(settings: Settings) -> None:
    await grpc_server.serve(build_service(settings), settings.server)
