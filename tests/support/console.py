"""The console inside the test process, beside the in-process system: its gRPC face on a
free port, its pages behind a real HTTP server, its own database."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry

from alooba.console.v1 import console_pb2 as cpb
from alooba.console.v1 import console_pb2_grpc as cgrpc
from alooba_common.config import DatabaseSettings, LoggingSettings
from alooba_common.outbox import RelaySettings
from alooba_common.outbox_metrics import OutboxMetrics
from alooba_common.secrets import generate_kek
from alooba_common.tls import Identity
from alooba_dev.ports import free_port
from console.config import Settings
from console.metrics import HttpMetrics
from console.server import build
from support.inprocess import System, server_settings, serving
from support.tls import channel as tls_channel

ROLES = {"owner": cpb.ROLE_OWNER, "admin": cpb.ROLE_ADMIN, "member": cpb.ROLE_MEMBER}
FAST_RELAY = RelaySettings(poll_interval_seconds=0.1)


@dataclass
class Console:
    url: str
    address: str
    users: cgrpc.UserServiceStub
    mail_dir: str
    settings: Settings

    async def invite(self, organization_id: str, email: str, role: str) -> str:
        """What `alooba-gh user invite` does; returns the accept link."""
        response = await self.users.InviteUser(
            cpb.InviteUserRequest(organization_id=organization_id, email=email, role=ROLES[role])
        )
        return str(response.accept_url)


@asynccontextmanager
async def running_console(
    system: System, database_url: str, **options: Any
) -> AsyncIterator[Console]:
    mail_dir = options.pop("mail_dir", None) or tempfile.mkdtemp(prefix="console-mail")
    # Known before the server starts: links in emails and in InviteUser's answer use it.
    port = options.pop("port", None) or free_port()
    settings = Settings(
        server=server_settings(Identity.CONSOLE),
        database=DatabaseSettings(url=database_url),
        logging=LoggingSettings(level="info", format="json"),
        key_encryption_key=generate_kek(),
        assessments_addr=system.addresses["assessments"],
        harvest_sync_addr=system.addresses["harvest-sync"],
        gateway_public_url=system.gateway_url,
        cookie_secure=options.pop("cookie_secure", False),
        mail_dir=mail_dir,
        public_url=f"http://127.0.0.1:{port}",
        relay=FAST_RELAY,
        **options,
    )
    service, app = build(
        settings,
        http_metrics=HttpMetrics.create(CollectorRegistry()),
        outbox_metrics=OutboxMetrics.create(CollectorRegistry()),
    )
    async with (
        serving(service) as address,
        TestServer(app, host="127.0.0.1", port=port),
        tls_channel(address, Identity.OPERATOR) as channel,
    ):
        yield Console(
            settings.public_url, address, cgrpc.UserServiceStub(channel), mail_dir, settings
        )
