"""harvest-sync's GetStatus over gRPC: the setup check's HarvestStatusReader port
(assessments.app.setup_check)."""

from __future__ import annotations

import grpc

from alooba.harvest_sync.v1 import harvest_sync_pb2 as hpb
from alooba.harvest_sync.v1 import harvest_sync_pb2_grpc as hgrpc
from assessments.app.setup_check import HarvestStatusUnreachable


class GrpcHarvestStatus:
    def __init__(self, channel: grpc.aio.Channel, address: str, *, timeout: float) -> None:
        self._stub = hgrpc.HarvestSyncServiceStub(channel)
        self._address = address
        self._timeout = timeout

    @property
    def address(self) -> str:
        return self._address

    async def status(self, organization_id: str, *, refresh: bool) -> hpb.HarvestStatus:
        request = hpb.GetStatusRequest(organization_id=organization_id, refresh=refresh)
        try:
            return (await self._stub.GetStatus(request, timeout=self._timeout)).status
        except grpc.aio.AioRpcError as error:
            raise HarvestStatusUnreachable(f"{error.code().name}: {error.details()}") from None
