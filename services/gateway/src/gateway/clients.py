"""gRPC channels to the backends: created once when the app starts, closed when it stops."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import grpc

from alooba.assessments.v1 import assessments_pb2, assessments_pb2_grpc
from alooba.candidates.v1 import candidates_pb2_grpc
from alooba_common.grpc_client import create_channel
from alooba_common.tls import CertificateFiles

if TYPE_CHECKING:
    # The typed stubs know that a stub on an aio channel returns awaitables.
    from alooba.assessments.v1.assessments_pb2_grpc import (
        PartnerServiceAsyncStub,
        WebhookServiceAsyncStub,
    )
    from alooba.candidates.v1.candidates_pb2_grpc import CandidatesServiceAsyncStub


@dataclass(frozen=True, slots=True)
class Backends:
    partner: PartnerServiceAsyncStub
    webhooks: WebhookServiceAsyncStub
    candidates: CandidatesServiceAsyncStub
    timeout: float
    channels: tuple[grpc.aio.Channel, ...]

    @classmethod
    def connect(
        cls,
        *,
        assessments_addr: str,
        candidates_addr: str,
        tls: CertificateFiles,
        timeout: float,
    ) -> Backends:
        assessments = create_channel(
            assessments_addr, tls=tls, default_timeout=timeout, wait_for_ready=True
        )
        candidates = create_channel(
            candidates_addr, tls=tls, default_timeout=timeout, wait_for_ready=True
        )
        return cls(
            partner=assessments_pb2_grpc.PartnerServiceStub(assessments),
            webhooks=assessments_pb2_grpc.WebhookServiceStub(assessments),
            candidates=candidates_pb2_grpc.CandidatesServiceStub(candidates),
            timeout=timeout,
            channels=(assessments, candidates),
        )

    async def webhook_organization_known(self, organization_name: str) -> bool:
        response = await self.webhooks.LookupWebhookOrganization(
            assessments_pb2.LookupWebhookOrganizationRequest(organization_name=organization_name),
            timeout=self.timeout,
        )
        return bool(response.known)

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close(None)
