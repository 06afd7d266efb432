"""harvest-sync against the in-process Harvest emulator: what the demo, the benchmark and the
fault run share: pointing harvest-sync at the emulator, connecting an organization as a
Greenhouse admin would (a Harvest V3 (OAuth) client naming a Site Admin to act as, or a v1
key; then making the integration user a Site Admin), and reading an application's custom
fields back by name."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from alooba.harvest_sync.v1 import harvest_sync_pb2 as hpb
from alooba.harvest_sync.v1 import harvest_sync_pb2_grpc as hpb_grpc
from alooba_common.tls import Identity
from greenhouse_emulator.harvest import HarvestEmulator

if TYPE_CHECKING:
    from alooba_dev.stack import ChannelSource


def pointed_at(greenhouse: HarvestEmulator) -> dict[str, str]:
    """harvest-sync's environment for talking to `greenhouse` (over its TLS, at its rate
    windows)."""
    return {
        "HARVEST_BASE_URL": greenhouse.base_url,
        "HARVEST_TOKEN_URL": greenhouse.token_url,
        "HARVEST_CA_FILE": str(greenhouse.ca_cert_path),
        "HARVEST_RATE_WINDOW_SECONDS": str(greenhouse.rate_window_seconds),
        "HARVEST_V3_RATE_WINDOW_SECONDS": str(greenhouse.v3_rate_window_seconds),
    }


def credential(greenhouse: HarvestEmulator, mode: str) -> dict[str, Any]:
    """A credential with everything the integration needs: a v3 client with every scope,
    or a v1 key with every permission."""
    if mode == "v1":
        return {"v1": hpb.V1Credential(api_key=greenhouse.issue_v1_key())}
    client_id, secret = greenhouse.issue_v3_client()
    return {"v3": hpb.V3Credential(client_id=client_id, client_secret=secret)}


async def connect_and_promote(
    greenhouse: HarvestEmulator,
    channels: ChannelSource,
    organization_id: str,
    *,
    mode: str = "v3",
    acting_user_id: int | None = None,
) -> tuple[hpb.HarvestStatus, hpb.HarvestStatus]:
    """Connects the organization with a full credential, naming the Site Admin
    `acting_user_id` (v3 needs one: it reads as them until the integration user is one, as
    Greenhouse shows nothing to other users; v1 finds one itself), then the Greenhouse
    admin makes the integration user a Site Admin; returns the status after connecting and
    the refreshed one after the grant (as an operator, with alooba-gh harvest, would)."""
    async with channels.channel("harvest-sync", Identity.OPERATOR) as channel:
        stub = hpb_grpc.HarvestSyncServiceStub(channel)
        connected = (
            await stub.Connect(
                hpb.ConnectRequest(
                    organization_id=organization_id,
                    acting_user_id=acting_user_id or 0,
                    **credential(greenhouse, mode),
                )
            )
        ).status
        greenhouse.set_site_admin(connected.integration_user.id)
        checked = (
            await stub.GetStatus(
                hpb.GetStatusRequest(organization_id=organization_id, refresh=True)
            )
        ).status
    return connected, checked


def field_values(greenhouse: HarvestEmulator, application_id: int) -> dict[str, Any]:
    """The application's custom fields by their names, as Greenhouse shows them."""
    keyed = greenhouse.application(application_id)["keyed_custom_fields"]
    return {field["name"]: field["value"] for field in keyed.values()}
