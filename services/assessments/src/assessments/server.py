"""Builds the assessments service from its settings and runs it until SIGTERM."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import aiohttp

from alooba.assessments.v1 import assessments_pb2 as pb
from alooba.assessments.v1 import assessments_pb2_grpc as pb_grpc
from alooba_common import grpc_server
from alooba_common.db import create_engine, read_session_factory, session_factory
from alooba_common.grpc_client import create_channel
from alooba_common.http_client import ssl_context
from alooba_common.mailer import create_mailer
from alooba_common.migrations import database_readiness
from alooba_common.outbox import DeadLetters, Handler, OutboxRelay
from alooba_common.outbox_metrics import OutboxMetrics
from alooba_common.outbox_servicer import outbox_registration
from alooba_common.tls import CertificateFiles, Identity
from assessments.api.access import ACCESS
from assessments.api.servicer import (
    AdminServicer,
    PartnerServicer,
    PlatformServicer,
    WebhookServicer,
)
from assessments.app.administration import Administration
from assessments.app.key_cache import KeyCache
from assessments.app.lifecycle import PlatformApi
from assessments.app.partner import PartnerApi
from assessments.app.receipts import ReceiptTally
from assessments.app.setup_check import DEFAULT_RECENT_DAYS, HarvestStatusSource
from assessments.app.webhooks import Webhooks
from assessments.config import Settings
from assessments.jobs.sweeper import Sweeper
from assessments.outbound.callback import GreenhouseCallback
from assessments.outbound.clients import GrpcCandidateDirectory
from assessments.outbound.emails import EmailSettings, InvitationEmailHandler
from assessments.outbound.harvest import HarvestScores
from assessments.outbound.harvest_status import GrpcHarvestStatus
from assessments.store import states
from assessments.store.models import OUTBOX

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
PARTNER_SERVICE = pb.DESCRIPTOR.services_by_name["PartnerService"].full_name
PLATFORM_SERVICE = pb.DESCRIPTOR.services_by_name["PlatformService"].full_name
ADMIN_SERVICE = pb.DESCRIPTOR.services_by_name["AdminService"].full_name
WEBHOOK_SERVICE = pb.DESCRIPTOR.services_by_name["WebhookService"].full_name


def build_service(
    settings: Settings, *, outbox_metrics: OutboxMetrics | None = None
) -> grpc_server.GrpcService:
    """The service's servicers, relay, sweeper, readiness check and clean-ups."""
    box = settings.secret_box()
    engine = create_engine(settings.database)
    sessions = session_factory(engine)
    read_sessions = read_session_factory(engine)
    # The service calls candidates and harvest-sync as itself.
    identity = CertificateFiles(settings.server.tls, expected=Identity.ASSESSMENTS)
    candidates_channel = create_channel(
        settings.candidates_addr,
        tls=identity,
        default_timeout=settings.rpc_timeout_seconds,
        wait_for_ready=True,
    )
    candidates = GrpcCandidateDirectory(candidates_channel, timeout=settings.rpc_timeout_seconds)
    harvest_channel = create_channel(
        settings.harvest_sync_addr,
        tls=identity,
        default_timeout=settings.rpc_timeout_seconds,
        wait_for_ready=True,
    )
    http = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=ssl_context(settings.callback_ca_file)),
        # Never follow a redirect off the allow-list, and send no cookies anywhere.
        cookie_jar=aiohttp.DummyCookieJar(),
    )

    mailer = create_mailer(
        settings.smtp_url,
        settings.mail_dir,
        timeout=settings.smtp_timeout_seconds,
        allow_plaintext_auth=settings.smtp_allow_plaintext_auth,
    )
    handlers: dict[str, Handler] = {
        states.EMAIL_KIND: InvitationEmailHandler(
            sessions,
            box,
            candidates,
            mailer,
            EmailSettings(
                link_base_url=settings.assessment_link_base_url,
                sender=settings.mail_from,
                domain=settings.mail_domain,
            ),
            read_sessions=read_sessions,
        ),
        states.CALLBACK_KIND: GreenhouseCallback(
            sessions,
            box,
            http,
            allowlist=settings.callback_host_allowlist,
            timeout=settings.callback_timeout_seconds,
        ),
        states.HARVEST_SCORES_KIND: HarvestScores(
            sessions, candidates, harvest_channel, timeout=settings.rpc_timeout_seconds
        ),
    }
    relay = OutboxRelay(
        sessions,
        OUTBOX,
        handlers,
        settings=settings.relay,
        metrics=outbox_metrics or OutboxMetrics.create(),
    )
    # Shared, so that revoking or rotating a key here takes effect at once here.
    key_cache = KeyCache()
    partner = PartnerApi(
        sessions,
        box,
        candidates,
        callback_host_allowlist=settings.callback_host_allowlist,
        report_base_url=settings.report_base_url,
        outbox_committed=relay.wake,
        key_cache=key_cache,
        read_sessions=read_sessions,
    )
    platform = PlatformApi(sessions, box, outbox_committed=relay.wake)
    receipts = ReceiptTally(sessions)
    admin = Administration(
        sessions,
        box,
        default_expiry_days=settings.default_expiry_days,
        key_rotation_grace_seconds=settings.key_rotation_grace_seconds,
        key_cache=key_cache,
        flush_receipts=receipts.flush,
        candidates=candidates,
    )
    harvest_status = HarvestStatusSource(
        GrpcHarvestStatus(
            harvest_channel, settings.harvest_sync_addr, timeout=settings.rpc_timeout_seconds
        )
    )
    webhooks = Webhooks(
        sessions, box, key_cache=key_cache, receipts=receipts, forget_emails=mailer.forget
    )
    sweeper = Sweeper(
        sessions,
        reminder_before=dt.timedelta(seconds=settings.reminder_before_expiry_seconds),
        interval_seconds=settings.sweep_interval_seconds,
        outbox_committed=relay.wake,
    )

    async def close_clients() -> None:
        await mailer.close()
        await http.close()
        await candidates_channel.close(None)
        await harvest_channel.close(None)

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
                lambda server: pb_grpc.add_PlatformServiceServicer_to_server(
                    PlatformServicer(platform, admin), server
                ),
                PLATFORM_SERVICE,
            ),
            (
                lambda server: pb_grpc.add_AdminServiceServicer_to_server(
                    AdminServicer(admin, harvest_status, recent_days_default=DEFAULT_RECENT_DAYS),
                    server,
                ),
                ADMIN_SERVICE,
            ),
            (
                lambda server: pb_grpc.add_WebhookServiceServicer_to_server(
                    WebhookServicer(webhooks), server
                ),
                WEBHOOK_SERVICE,
            ),
            outbox_registration(DeadLetters(sessions, OUTBOX, on_replay=relay.wake)),
        ],
        readiness_check=database_readiness(engine, MIGRATIONS),
        access=ACCESS,
        cleanups=[engine.dispose, close_clients],
        background=[
            *([relay.run] if settings.relay_enabled else []),
            sweeper.run,
            receipts.run,
        ],
    )


async def serve(settings: Settings) -> None:
    await grpc_server.serve(build_service(settings), settings.server)
