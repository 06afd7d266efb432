"""The OutboxService gRPC API, the same in every service that has an outbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import struct_pb2

from alooba.outbox.v1 import outbox_pb2 as pb
from alooba.outbox.v1 import outbox_pb2_grpc as pb_grpc
from alooba_common.outbox import DeadLetter, DeadLetters
from alooba_common.protobuf import timestamp

OUTBOX_DESCRIPTOR = pb.DESCRIPTOR.services_by_name["OutboxService"]
OUTBOX_SERVICE = OUTBOX_DESCRIPTOR.full_name


def _dead_letter_pb(letter: DeadLetter) -> pb.DeadLetter:
    payload = struct_pb2.Struct()
    payload.update(dict(letter.payload))
    return pb.DeadLetter(
        id=letter.id,
        kind=letter.kind,
        payload=payload,
        attempts=letter.attempts,
        last_error=letter.last_error or "",
        create_time=timestamp(letter.created_at),
        update_time=timestamp(letter.updated_at),
    )


class OutboxServicer(pb_grpc.OutboxServiceServicer):
    def __init__(self, dead_letters: DeadLetters) -> None:
        self._dead_letters = dead_letters

    async def ListDeadLetters(
        self, request: pb.ListDeadLettersRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListDeadLettersResponse:
        letters = await self._dead_letters.list(
            kind=request.kind or None, limit=request.limit or 100
        )
        return pb.ListDeadLettersResponse(dead_letters=[_dead_letter_pb(x) for x in letters])

    async def ReplayDeadLetters(
        self, request: pb.ReplayDeadLettersRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ReplayDeadLettersResponse:
        replayed = await self._dead_letters.replay(list(request.ids))
        return pb.ReplayDeadLettersResponse(replayed=replayed)


def outbox_registration(
    dead_letters: DeadLetters,
) -> tuple[Callable[[grpc.aio.Server], None], str]:
    """What a service adds to its GrpcService.registrations to serve OutboxService."""
    return (
        lambda server: pb_grpc.add_OutboxServiceServicer_to_server(
            OutboxServicer(dead_letters), server
        ),
        OUTBOX_SERVICE,
    )
