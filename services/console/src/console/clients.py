"""gRPC channels to assessments and harvest-sync, opened when the app starts; every call
the console makes carries the acting user's organization and role (alooba_common.acting),
and the services scope it to that organization."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc

from alooba.assessments.v1 import assessments_pb2 as apb
from alooba.assessments.v1 import assessments_pb2_grpc
from alooba.harvest_sync.v1 import harvest_sync_pb2_grpc
from alooba.outbox.v1 import outbox_pb2_grpc
from alooba_common.acting import MEMBER, ActingUser, acting_metadata
from alooba_common.grpc_client import create_channel
from alooba_common.tls import CertificateFiles


class ActingStub:
    """A generated stub whose every call says whom it acts for."""

    def __init__(self, stub: Any, actor: ActingUser) -> None:
        self._stub = stub
        self._metadata = acting_metadata(actor)

    def __getattr__(self, rpc: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self._stub, rpc)

        async def call(request: Any, **options: Any) -> Any:
            return await method(request, metadata=self._metadata, **options)

        return call


@dataclass(frozen=True, slots=True)
class ActingBackends:
    """The services, called on behalf of one person in one organization."""

    actor: ActingUser
    admin: ActingStub
    platform: ActingStub
    harvest: ActingStub
    # harvest-sync's push queue (listed and replayed for the organization only).
    harvest_outbox: ActingStub


@dataclass(frozen=True, slots=True)
class Backends:
    admin: Any  # AdminServiceStub on an aio channel
    platform: Any  # PlatformServiceStub (extend, cancel, resend, record evaluation)
    harvest: Any  # HarvestSyncServiceStub
    harvest_outbox: Any  # harvest-sync's OutboxServiceStub
    channels: tuple[grpc.aio.Channel, ...]

    @classmethod
    def connect(
        cls,
        *,
        assessments_addr: str,
        harvest_sync_addr: str,
        tls: CertificateFiles,
        timeout: float,
    ) -> Backends:
        """Channels as the console (its certificate, `tls`): the services let it call what
        their access tables name, for the person each call says it acts for."""
        assessments = create_channel(
            assessments_addr, tls=tls, default_timeout=timeout, wait_for_ready=True
        )
        harvest = create_channel(
            harvest_sync_addr, tls=tls, default_timeout=timeout, wait_for_ready=True
        )
        return cls(
            admin=assessments_pb2_grpc.AdminServiceStub(assessments),
            platform=assessments_pb2_grpc.PlatformServiceStub(assessments),
            harvest=harvest_sync_pb2_grpc.HarvestSyncServiceStub(harvest),
            harvest_outbox=outbox_pb2_grpc.OutboxServiceStub(harvest),
            channels=(assessments, harvest),
        )

    def acting(self, actor: ActingUser) -> ActingBackends:
        return ActingBackends(
            actor=actor,
            admin=ActingStub(self.admin, actor),
            platform=ActingStub(self.platform, actor),
            harvest=ActingStub(self.harvest, actor),
            harvest_outbox=ActingStub(self.harvest_outbox, actor),
        )

    async def organization_name(self, organization_id: str, *, on_behalf_of: str) -> str:
        """The organization's name, asked as a member of it would (`on_behalf_of`: a user
        id, or "operator" / "invitee" for the people who are not members yet). NOT_FOUND
        for an unknown organization."""
        actor = ActingUser(user_id=on_behalf_of, organization_id=organization_id, role=MEMBER)
        response = await ActingStub(self.admin, actor).GetOrganization(
            apb.GetOrganizationRequest(id=organization_id)
        )
        return str(response.organization.name)

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close(None)
