"""UserService, the console's gRPC face for operators (`alooba-gh user`): inviting the
first Owner of an organization, and listing its members."""

from __future__ import annotations

from typing import Any

import grpc

from alooba.console.v1 import console_pb2 as pb
from alooba.console.v1 import console_pb2_grpc as pb_grpc
from alooba_common.acting import ADMIN, MEMBER, OWNER, acting_user, is_identifier, refuse_actor
from alooba_common.errors import InvalidArgument, NotFound, Unavailable
from alooba_common.protobuf import timestamp
from console.accounts import OPERATOR, Accounts
from console.clients import Backends

Context = grpc.aio.ServicerContext[Any, Any]
_ROLES = {pb.ROLE_OWNER: OWNER, pb.ROLE_ADMIN: ADMIN, pb.ROLE_MEMBER: MEMBER}
_ROLE_PB = {name: value for value, name in _ROLES.items()}


class UserServicer(pb_grpc.UserServiceServicer):
    def __init__(self, accounts: Accounts, backends: Backends, public_url: str) -> None:
        self._accounts = accounts
        self._backends = backends
        self._public_url = public_url

    async def InviteUser(
        self, request: pb.InviteUserRequest, context: Context
    ) -> pb.InviteUserResponse:
        refuse_actor(acting_user(context))
        role = _ROLES.get(request.role, "")
        if not request.organization_id:
            raise InvalidArgument("organization_id is required")
        if not is_identifier(request.organization_id):
            raise NotFound("no such organization")
        try:
            await self._backends.organization_name(request.organization_id, on_behalf_of="operator")
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                raise NotFound("no such organization") from None
            raise Unavailable("the assessments service did not answer") from None
        link, token = await self._accounts.invite(
            request.organization_id, request.email, role, OPERATOR
        )
        return pb.InviteUserResponse(
            accept_url=f"{self._public_url}/invite/{token}",
            expire_time=timestamp(link.expires_at),
        )

    async def ListMembers(
        self, request: pb.ListMembersRequest, context: Context
    ) -> pb.ListMembersResponse:
        refuse_actor(acting_user(context))
        members = await self._accounts.members(request.organization_id)
        return pb.ListMembersResponse(
            members=[
                pb.Member(
                    user_id=user.id,
                    email=user.email,
                    display_name=user.display_name,
                    role=_ROLE_PB.get(membership.role, pb.ROLE_UNSPECIFIED),
                    join_time=timestamp(membership.created_at),
                )
                for membership, user in members
            ]
        )
