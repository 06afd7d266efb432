"""The OutboxService gRPC API, the same in every service that has an outbox.

Operators see every message. A service may also let the console call it for a person
(its access table says so): it then passes `organization_messages`, which selects one
organization's messages, and each such call sees and replays only the acting person's
organization's, and only for Owners and Admins. Without it, the console is refused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import struct_pb2
from sqlalchemy.sql.elements import ColumnElement

from alooba.outbox.v1 import outbox_pb2 as pb
from alooba.outbox.v1 import outbox_pb2_grpc as pb_grpc
from alooba_common.acting import SETTINGS_ROLES, acting_user, refuse_actor, require_role
from alooba_common.outbox import DeadLetter, DeadLetters, QueuedMessage
from alooba_common.protobuf import timestamp

OUTBOX_DESCRIPTOR = pb.DESCRIPTOR.services_by_name["OutboxService"]
OUTBOX_SERVICE = OUTBOX_DESCRIPTOR.full_name

# An organization id → the condition selecting that organization's outbox messages.
OrganizationMessages = Callable[[str], ColumnElement[bool]]


def _struct(payload: Any) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(dict(payload))
    return struct


def _dead_letter_pb(letter: DeadLetter) -> pb.DeadLetter:
    return pb.DeadLetter(
        id=letter.id,
        kind=letter.kind,
        payload=_struct(letter.payload),
        attempts=letter.attempts,
        last_error=letter.last_error or "",
        create_time=timestamp(letter.created_at),
        update_time=timestamp(letter.updated_at),
    )


def _queued_pb(message: QueuedMessage) -> pb.QueuedMessage:
    return pb.QueuedMessage(
        id=message.id,
        kind=message.kind,
        payload=_struct(message.payload),
        attempts=message.attempts,
        last_error=message.last_error or "",
        create_time=timestamp(message.created_at),
        available_time=timestamp(message.available_at),
    )


class OutboxServicer(pb_grpc.OutboxServiceServicer):
    def __init__(
        self,
        dead_letters: DeadLetters,
        organization_messages: OrganizationMessages | None = None,
    ) -> None:
        self._dead_letters = dead_letters
        self._organization_messages = organization_messages

    def _scope(self, context: grpc.aio.ServicerContext[Any, Any]) -> ColumnElement[bool] | None:
        """None for an operator (every message); the acting person's organization's
        messages for the console."""
        actor = acting_user(context)
        if actor is None:
            return None
        if self._organization_messages is None:
            refuse_actor(actor)
        require_role(actor, SETTINGS_ROLES)
        assert self._organization_messages is not None
        return self._organization_messages(actor.organization_id)

    async def ListDeadLetters(
        self, request: pb.ListDeadLettersRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListDeadLettersResponse:
        letters = await self._dead_letters.list(
            kind=request.kind or None, limit=request.limit or 100, where=self._scope(context)
        )
        return pb.ListDeadLettersResponse(dead_letters=[_dead_letter_pb(x) for x in letters])

    async def ReplayDeadLetters(
        self, request: pb.ReplayDeadLettersRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ReplayDeadLettersResponse:
        replayed = await self._dead_letters.replay(list(request.ids), where=self._scope(context))
        return pb.ReplayDeadLettersResponse(replayed=replayed)

    async def ListQueued(
        self, request: pb.ListQueuedRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListQueuedResponse:
        messages = await self._dead_letters.queued(
            kind=request.kind or None, limit=request.limit or 100, where=self._scope(context)
        )
        return pb.ListQueuedResponse(messages=[_queued_pb(x) for x in messages])


def outbox_registration(
    dead_letters: DeadLetters,
    organization_messages: OrganizationMessages | None = None,
) -> tuple[Callable[[grpc.aio.Server], None], str]:
    """What a service adds to its GrpcService.registrations to serve OutboxService
    (`organization_messages`: see the module's docstring)."""
    return (
        lambda server: pb_grpc.add_OutboxServiceServicer_to_server(
            OutboxServicer(dead_letters, organization_messages), server
        ),
        OUTBOX_SERVICE,
    )
