"""gRPC channels to the backends: created once when the app starts, closed when it stops."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import grpc

from alooba.assessments.v1 import assessments_pb2_grpc
from alooba_common.grpc_client import create_channel

if TYPE_CHECKING:
    # The typed stubs know that a stub on an aio channel returns awaitables.
    from alooba.assessments.v1.assessments_pb2_grpc import PartnerServiceAsyncStub


@dataclass(frozen=True, slots=True)
class Backends:
    partner: PartnerServiceAsyncStub
    timeout: float
    channels: tuple[grpc.aio.Channel, ...]

    @classmethod
    def connect(cls, *, assessments_addr: str, timeout: float) -> Backends:
        assessments = create_channel(assessments_addr, default_timeout=timeout)
        return cls(
            partner=assessments_pb2_grpc.PartnerServiceStub(assessments),
            timeout=timeout,
            channels=(assessments,),
        )

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close(None)
