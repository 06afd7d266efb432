"""The HarvestSyncService servicer: protobuf in, the connection and push rules, protobuf out."""

from __future__ import annotations

from typing import Any

import grpc

from alooba.harvest_sync.v1 import harvest_sync_pb2 as pb
from alooba.harvest_sync.v1 import harvest_sync_pb2_grpc as pb_grpc
from alooba_common.acting import SETTINGS_ROLES, acting_user, refuse_actor, require_role, scope
from alooba_common.errors import InvalidArgument
from harvest_sync.app.connections import Connections, StatusView
from harvest_sync.app.push import ScorePushes
from harvest_sync.store.credentials import V1, V3, Credential

Context = grpc.aio.ServicerContext[Any, Any]

_MODES = {V1: pb.CONNECTION_MODE_V1, V3: pb.CONNECTION_MODE_V3}


def status_pb(organization_id: str, view: StatusView) -> pb.HarvestStatus:
    status = pb.HarvestStatus(
        organization_id=organization_id,
        mode=pb.CONNECTION_MODE_NONE,
        queue_depth=view.queue.depth,
        dead_letters=view.queue.dead_letters,
        actions_needed=list(view.actions_needed),
        custom_fields=[
            pb.CustomField(name=f.name, id=f.greenhouse_id, name_key=f.name_key)
            for f in view.fields
        ],
    )
    if view.queue.oldest_pending is not None:
        status.oldest_pending_time.FromDatetime(view.queue.oldest_pending)
    connection = view.connection
    if connection is None:
        return status
    status.mode = _MODES[connection.mode]
    status.missing_permissions.extend(connection.missing_permissions)
    if connection.integration_user_id is not None:
        status.integration_user.CopyFrom(
            pb.IntegrationUser(
                id=connection.integration_user_id,
                email=connection.integration_user_email,
                site_admin=connection.integration_user_site_admin,
                created=connection.integration_user_created,
            )
        )
    status.rate_limited_count = connection.rate_limited_count
    status.rate_limit = connection.rate_limit or 0
    status.last_error = connection.last_error or ""
    status.check_time.FromDatetime(connection.checked_at)
    status.connect_time.FromDatetime(connection.connected_at)
    if connection.last_success_at is not None:
        status.last_success_time.FromDatetime(connection.last_success_at)
    if connection.last_error_at is not None:
        status.last_error_time.FromDatetime(connection.last_error_at)
    return status


def _settings_scope(context: Context, organization_id: str) -> str:
    """The console acts only for its Owners and Admins, in their own organization."""
    actor = acting_user(context)
    organization_id = scope(actor, organization_id)
    require_role(actor, SETTINGS_ROLES)
    return organization_id


class HarvestSyncServicer(pb_grpc.HarvestSyncServiceServicer):
    def __init__(self, connections: Connections, pushes: ScorePushes) -> None:
        self._connections = connections
        self._pushes = pushes

    async def Connect(self, request: pb.ConnectRequest, context: Context) -> pb.ConnectResponse:
        _settings_scope(context, request.organization_id)
        which = request.WhichOneof("credential")
        if which == "v1":
            credential = Credential.v1(request.v1.api_key)
        elif which == "v3":
            credential = Credential.v3(request.v3.client_id, request.v3.client_secret)
        else:
            raise InvalidArgument("a v1 or v3 credential is required")
        view = await self._connections.connect(
            request.organization_id,
            credential,
            acting_user_id=request.acting_user_id or None,
            integration_user_email=request.integration_user_email,
        )
        return pb.ConnectResponse(status=status_pb(request.organization_id.strip(), view))

    async def GetStatus(
        self, request: pb.GetStatusRequest, context: Context
    ) -> pb.GetStatusResponse:
        _settings_scope(context, request.organization_id)
        view = await self._connections.status(request.organization_id, refresh=request.refresh)
        return pb.GetStatusResponse(status=status_pb(request.organization_id.strip(), view))

    async def QueueScores(
        self, request: pb.QueueScoresRequest, context: Context
    ) -> pb.QueueScoresResponse:
        refuse_actor(acting_user(context))
        queued = await self._pushes.queue(
            request.organization_id,
            request.application_id,
            request.result_id,
            request.total_score,
            [(s.skill, s.score) for s in request.skill_scores],
        )
        return pb.QueueScoresResponse(queued=queued)

    async def Disconnect(
        self, request: pb.DisconnectRequest, context: Context
    ) -> pb.DisconnectResponse:
        _settings_scope(context, request.organization_id)
        disconnected = await self._connections.disconnect(request.organization_id)
        return pb.DisconnectResponse(disconnected=disconnected)
