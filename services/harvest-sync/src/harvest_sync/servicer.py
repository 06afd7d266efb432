"""The HarvestSyncService servicer. It has no RPCs yet (see the proto)."""

from __future__ import annotations

from alooba.harvest_sync.v1 import harvest_sync_pb2_grpc as pb_grpc


class HarvestSyncServicer(pb_grpc.HarvestSyncServiceServicer):
    """Registered so reflection and health name the service; its RPCs (connect, status,
    push, replay) arrive with the Harvest issue."""
