"""Builds the console from its settings and runs it until SIGTERM: the pages (aiohttp),
the operators' gRPC face (UserService, OutboxService), the outbox relay that emails
invitation and reset links, and one metrics endpoint. The shared gRPC lifecycle
(alooba_common.grpc_server) drives it all: the web server is one of its background jobs,
so SIGTERM turns both readiness checks off, drains, and stops them together."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import structlog
from aiohttp import web
from argon2 import PasswordHasher

from alooba.console.v1 import console_pb2 as pb
from alooba.console.v1 import console_pb2_grpc as pb_grpc
from alooba_common import grpc_server
from alooba_common.db import create_engine, session_factory
from alooba_common.mailer import create_mailer
from alooba_common.migrations import database_readiness
from alooba_common.outbox import DeadLetters, OutboxRelay
from alooba_common.outbox_metrics import OutboxMetrics
from alooba_common.outbox_servicer import outbox_registration
from alooba_common.tls import CertificateFiles, Identity
from console.accounts import EMAIL_KIND, Accounts, LoginThrottle, PasswordAuthenticator
from console.api.access import ACCESS
from console.api.servicer import UserServicer
from console.app import create_app
from console.clients import Backends
from console.config import Settings
from console.keys import LIFECYCLE, Services
from console.metrics import HttpMetrics
from console.outbound.emails import EmailSettings, LinkEmails
from console.sessions import Sessions
from console.store.models import OUTBOX

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
USER_SERVICE = pb.DESCRIPTOR.services_by_name["UserService"].full_name

log = structlog.get_logger("console")


def build(
    settings: Settings,
    *,
    http_metrics: HttpMetrics | None = None,
    outbox_metrics: OutboxMetrics | None = None,
) -> tuple[grpc_server.GrpcService, web.Application]:
    """The gRPC service (with the relay) and the web app, sharing one database and one
    set of channels to the other services. serve() runs the app beside the service."""
    box = settings.secret_box()
    engine = create_engine(settings.database)
    sessions = session_factory(engine)
    backends = Backends.connect(
        assessments_addr=settings.assessments_addr,
        harvest_sync_addr=settings.harvest_sync_addr,
        tls=CertificateFiles(settings.server.tls, expected=Identity.CONSOLE),
        timeout=settings.rpc_timeout_seconds,
    )
    mailer = create_mailer(
        settings.smtp_url, settings.mail_dir, timeout=settings.smtp_timeout_seconds
    )

    async def organization_name(organization_id: str) -> str:
        return await backends.organization_name(organization_id, on_behalf_of="invitee")

    relay = OutboxRelay(
        sessions,
        OUTBOX,
        {
            EMAIL_KIND: LinkEmails(
                sessions,
                box,
                mailer,
                EmailSettings(
                    public_url=settings.public_url,
                    sender=settings.mail_from,
                    domain=settings.mail_domain,
                ),
                organization_name,
            )
        },
        settings=settings.relay,
        metrics=outbox_metrics or OutboxMetrics.create(),
    )
    hasher = PasswordHasher()
    accounts = Accounts(
        sessions,
        box,
        hasher,
        invitation_ttl=dt.timedelta(days=settings.invitation_days),
        reset_ttl=dt.timedelta(minutes=settings.reset_minutes),
        outbox_committed=relay.wake,
    )
    readiness = database_readiness(engine, MIGRATIONS)
    services = Services(
        accounts=accounts,
        authenticator=PasswordAuthenticator(sessions, hasher),
        throttle=LoginThrottle(
            sessions,
            box,
            window_seconds=settings.login_window_seconds,
            per_email=settings.login_limit_per_email,
            per_address=settings.login_limit_per_address,
        ),
        sessions=Sessions(
            sessions,
            idle_seconds=settings.session_idle_seconds,
            max_age_seconds=settings.session_max_age_seconds,
        ),
        hasher=hasher,
        database_ready=readiness,
    )
    app = create_app(settings, services, metrics=http_metrics, backends=backends)

    async def close_clients() -> None:
        await mailer.close()
        await backends.close()

    service = grpc_server.GrpcService(
        name="console",
        registrations=[
            (
                lambda server: pb_grpc.add_UserServiceServicer_to_server(
                    UserServicer(accounts, backends, settings.public_url), server
                ),
                USER_SERVICE,
            ),
            outbox_registration(DeadLetters(sessions, OUTBOX, on_replay=relay.wake)),
        ],
        readiness_check=readiness,
        access=ACCESS,
        cleanups=[engine.dispose, close_clients],
        background=[relay.run],
    )
    return service, app


def serve_http(
    app: web.Application, settings: Settings
) -> Callable[[asyncio.Event], Coroutine[Any, Any, None]]:
    """The pages, as a background job of the gRPC lifecycle: served until `stopping`,
    then readiness off, a drain, and in-flight requests finished within the grace."""

    async def run(stopping: asyncio.Event) -> None:
        runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,  # the observe middleware writes one line per request
            shutdown_timeout=settings.shutdown_grace_seconds,
        )
        await runner.setup()
        site = web.TCPSite(runner, settings.http_host, settings.http_port)
        await site.start()
        log.info("http.started", addresses=[str(a) for a in runner.addresses])
        try:
            await stopping.wait()
            app[LIFECYCLE].ready = False
            if settings.server.drain_seconds:
                await asyncio.sleep(settings.server.drain_seconds)
        finally:
            await runner.cleanup()
            log.info("http.stopped")

    return run


async def serve(settings: Settings) -> None:
    service, app = build(settings)
    service.background.append(serve_http(app, settings))
    await grpc_server.serve(service, settings.server)
