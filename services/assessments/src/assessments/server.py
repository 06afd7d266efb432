"""Builds the assessments service from its settings and runs it until SIGTERM."""

from __future__ import annotations

from pathlib import Path

from alooba.assessments.v1 import assessments_pb2 as pb
from alooba.assessments.v1 import assessments_pb2_grpc as pb_grpc
from alooba_common import grpc_server
from alooba_common.db import create_engine, session_factory
from alooba_common.grpc_client import create_channel
from alooba_common.migrations import database_readiness
from alooba_common.secrets import SecretBox
from assessments.clients import GrpcCandidateDirectory
from assessments.config import Settings
from assessments.service import Administration, PartnerApi
from assessments.servicer import AdminServicer, PartnerServicer

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
PARTNER_SERVICE = pb.DESCRIPTOR.services_by_name["PartnerService"].full_name
ADMIN_SERVICE = pb.DESCRIPTOR.services_by_name["AdminService"].full_name


def build_service(settings: Settings) -> grpc_server.GrpcService:
    """The service's servicers, readiness check and clean-ups, ready to be served."""
    box = SecretBox.from_base64(settings.key_encryption_key)
    engine = create_engine(settings.database)
    sessions = session_factory(engine)
    candidates_channel = create_channel(
        settings.candidates_addr, default_timeout=settings.rpc_timeout_seconds
    )
    partner = PartnerApi(
        sessions,
        box,
        GrpcCandidateDirectory(candidates_channel, timeout=settings.rpc_timeout_seconds),
        callback_host_allowlist=settings.callback_host_allowlist,
    )
    admin = Administration(
        sessions,
        box,
        default_expiry_days=settings.default_expiry_days,
        key_rotation_grace_seconds=settings.key_rotation_grace_seconds,
    )
    return grpc_server.GrpcService(
        name="assessments",
        registrations=[
            (
                lambda server: pb_grpc.add_PartnerServiceServicer_to_server(
                    PartnerServicer(partner), server
                ),
                PARTNER_SERVICE,
            ),
            (
                lambda server: pb_grpc.add_AdminServiceServicer_to_server(
                    AdminServicer(admin), server
                ),
                ADMIN_SERVICE,
            ),
        ],
        readiness_check=database_readiness(engine, MIGRATIONS),
        cleanups=[engine.dispose, lambda: candidates_channel.close(None)],
    )


async def serve(settings: Settings) -> None:
    await grpc_server.serve(build_service(settings), settings.server)
