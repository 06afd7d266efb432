"""The services running inside the test process: real gRPC servers on free ports, behind
mutual TLS and their access tables as in production, real databases, the real gateway app
behind a real HTTP server. For tests that need no separate processes (faster, and their
failures show a traceback in the test)."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer
from grpc_health.v1.health import aio as health_aio  # type: ignore[attr-defined]
from prometheus_client import CollectorRegistry

import assessments.config
import assessments.server
import candidates.api.access
import candidates.config
import candidates.server
import gateway.config
import harvest_sync.api.access
import harvest_sync.config
import harvest_sync.server
from alooba.assessments.v1 import assessments_pb2 as apb
from alooba.assessments.v1 import assessments_pb2_grpc as agrpc
from alooba.candidates.v1 import candidates_pb2_grpc as cgrpc
from alooba.harvest_sync.v1 import harvest_sync_pb2_grpc as hgrpc
from alooba.outbox.v1 import outbox_pb2_grpc as ogrpc
from alooba_common.clock import MONOTONIC, Clock
from alooba_common.config import DatabaseSettings, GrpcServerSettings, LoggingSettings
from alooba_common.grpc_metrics import GrpcServerMetrics
from alooba_common.grpc_server import GrpcService, create_server
from alooba_common.outbox_metrics import OutboxMetrics
from alooba_common.secrets import generate_kek
from alooba_common.tls import Identity
from alooba_dev.ports import free_port
from gateway.app import create_app
from gateway.metrics import HttpMetrics
from support.tls import AsAllowedCaller, Channels, tls_settings


def server_settings(identity: Identity) -> GrpcServerSettings:
    """A service's server settings for the tests: loopback, free ports, its certificate."""
    return GrpcServerSettings(tls=tls_settings(identity), host="127.0.0.1", port=0, metrics_port=0)


@asynccontextmanager
async def serving(
    service: GrpcService,
    settings: GrpcServerSettings | None = None,
    metrics: GrpcServerMetrics | None = None,
) -> AsyncIterator[str]:
    """Serves `service` on a free loopback port, as grpc_server.serve does (mutual TLS,
    the service's access table); yields its address."""
    server, port = create_server(
        service,
        settings or server_settings(Identity(service.name)),
        metrics or GrpcServerMetrics.create(CollectorRegistry()),
        health_aio.HealthServicer(),
    )
    await server.start()
    stopping = asyncio.Event()
    background = [asyncio.create_task(job(stopping)) for job in service.background]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        # As the real server does: ask the jobs to stop at a safe point, never cancel
        # them mid-transaction (that can hang aiosqlite's close).
        stopping.set()
        await asyncio.gather(*background, return_exceptions=True)
        await server.stop(None)
        for cleanup in reversed(service.cleanups):
            await cleanup()


def basic_auth(key: str) -> dict[str, str]:
    """The header Greenhouse sends: the key as username, an empty password."""
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


@dataclass
class System:
    # Each stub calls as the identity that makes these calls in production: the operator
    # (admin, outbox), the gateway (partner), the platform; `candidates` and `harvest` as
    # whichever identity the service's access table allows for the RPC.
    admin: agrpc.AdminServiceStub
    partner: agrpc.PartnerServiceStub
    candidates: cgrpc.CandidatesServiceStub
    http: aiohttp.ClientSession
    gateway_url: str
    databases: Mapping[str, str]
    # The assessment platform's API and the operators' dead-letter API.
    platform: agrpc.PlatformServiceStub
    outbox: ogrpc.OutboxServiceStub
    harvest: hgrpc.HarvestSyncServiceStub
    harvest_outbox: ogrpc.OutboxServiceStub
    # Where each gRPC service listens, for clients such as the CLI.
    addresses: Mapping[str, str]

    async def organization_with_key(self, name: str) -> tuple[apb.Organization, str]:
        org = (
            await self.admin.CreateOrganization(apb.CreateOrganizationRequest(name=name))
        ).organization
        issued = await self.admin.IssueApiKey(apb.IssueApiKeyRequest(organization_id=org.id))
        return org, issued.secret

    async def create_test(
        self, organization_id: str, name: str = "Data Analyst", **fields: Any
    ) -> apb.Test:
        response = await self.admin.CreateTest(
            apb.CreateTestRequest(organization_id=organization_id, name=name, **fields)
        )
        return response.test


@asynccontextmanager
async def running_system(
    databases: Mapping[str, str],
    *,
    callback_hosts: tuple[str, ...] = ("*.greenhouse.io",),
    max_body_bytes: int = 1024 * 1024,
    gateway_options: Mapping[str, Any] | None = None,
    harvest: harvest_sync.config.HarvestSettings | None = None,
    harvest_relay: Any = None,
    candidates_relay: Any = None,
    gateway_clock: Clock = MONOTONIC,
    harvest_token_clock: Callable[[], float] = time.time,
    **assessments_options: Any,
) -> AsyncIterator[System]:
    """`assessments_options` override assessments Settings fields (smtp_url, relay, ...),
    `gateway_options` the gateway's (auth_throttle_window_seconds, ...), `gateway_clock`
    the clock of its authentication throttle, `harvest` and `harvest_relay` harvest-sync's
    HarvestSettings and RelaySettings, `harvest_token_clock` its v3 tokens' clock,
    `candidates_relay` candidates' RelaySettings.
    Unless given, emails go to a temporary folder, never the repository's var/."""
    log_settings = LoggingSettings(level="info", format="json")
    # candidates is served first (assessments needs its address) but calls assessments
    # too (an erasure's outbox): assessments' port is chosen now.
    assessments_server = dataclasses.replace(
        server_settings(Identity.ASSESSMENTS), port=free_port()
    )
    candidates_settings = candidates.config.Settings(
        server=server_settings(Identity.CANDIDATES),
        database=DatabaseSettings(url=databases["candidates"]),
        logging=log_settings,
        assessments_addr=f"127.0.0.1:{assessments_server.port}",
        **({"relay": candidates_relay} if candidates_relay is not None else {}),
    )
    harvest_settings = harvest_sync.config.Settings(
        server=server_settings(Identity.HARVEST_SYNC),
        database=DatabaseSettings(url=databases["harvest-sync"]),
        logging=log_settings,
        key_encryption_key=generate_kek(),
        harvest=harvest or harvest_sync.config.HarvestSettings(),
        **({"relay": harvest_relay} if harvest_relay is not None else {}),
    )
    async with (
        serving(
            candidates.server.build_service(
                candidates_settings, outbox_metrics=OutboxMetrics.create(CollectorRegistry())
            )
        ) as candidates_addr,
        serving(
            harvest_sync.server.build_service(
                harvest_settings,
                outbox_metrics=OutboxMetrics.create(CollectorRegistry()),
                token_clock=harvest_token_clock,
            )
        ) as harvest_addr,
    ):
        assessments_settings = assessments.config.Settings(
            server=assessments_server,
            database=DatabaseSettings(url=databases["assessments"]),
            logging=log_settings,
            key_encryption_key=assessments_options.pop("key_encryption_key", None)
            or generate_kek(),
            candidates_addr=candidates_addr,
            harvest_sync_addr=assessments_options.pop("harvest_sync_addr", harvest_addr),
            callback_host_allowlist=callback_hosts,
            mail_dir=assessments_options.pop("mail_dir", None) or tempfile.mkdtemp(prefix="mail"),
            **assessments_options,
        )
        service = assessments.server.build_service(
            assessments_settings, outbox_metrics=OutboxMetrics.create(CollectorRegistry())
        )
        async with serving(service, assessments_server) as assessments_addr:
            gateway_settings = gateway.config.Settings(
                logging=log_settings,
                tls=tls_settings(Identity.GATEWAY),
                assessments_addr=assessments_addr,
                candidates_addr=candidates_addr,
                max_body_bytes=max_body_bytes,
                **(gateway_options or {}),
            )
            app = create_app(
                gateway_settings,
                metrics=HttpMetrics.create(CollectorRegistry()),
                clock=gateway_clock,
            )
            channels = Channels()
            operator = channels.get(assessments_addr, Identity.OPERATOR)
            try:
                async with (
                    TestServer(app, host="127.0.0.1") as http_server,
                    aiohttp.ClientSession() as http,
                ):
                    yield System(
                        admin=agrpc.AdminServiceStub(operator),
                        partner=agrpc.PartnerServiceStub(
                            channels.get(assessments_addr, Identity.GATEWAY)
                        ),
                        candidates=AsAllowedCaller(  # type: ignore[arg-type]
                            cgrpc.CandidatesServiceStub,
                            candidates.server.CANDIDATES_SERVICE,
                            candidates_addr,
                            candidates.api.access.ACCESS,
                            channels,
                        ),
                        http=http,
                        gateway_url=str(http_server.make_url("")).rstrip("/"),
                        databases=databases,
                        platform=agrpc.PlatformServiceStub(
                            channels.get(assessments_addr, Identity.PLATFORM)
                        ),
                        outbox=ogrpc.OutboxServiceStub(operator),
                        harvest=AsAllowedCaller(  # type: ignore[arg-type]
                            hgrpc.HarvestSyncServiceStub,
                            harvest_sync.server.HARVEST_SYNC_SERVICE,
                            harvest_addr,
                            harvest_sync.api.access.ACCESS,
                            channels,
                        ),
                        harvest_outbox=ogrpc.OutboxServiceStub(
                            channels.get(harvest_addr, Identity.OPERATOR)
                        ),
                        addresses={
                            "assessments": assessments_addr,
                            "candidates": candidates_addr,
                            "harvest-sync": harvest_addr,
                        },
                    )
            finally:
                await channels.close()
