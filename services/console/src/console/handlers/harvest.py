"""Organization Settings → Harvest: connect with a Harvest v3 client (or a legacy v1 key),
what Greenhouse still lacks (permissions by Greenhouse's labels, the integration user's
Site Admin grant, with the steps), the custom fields, the queue and its dead letters
(listed, and replayed), and disconnecting. Credentials are sent to harvest-sync once and
never shown back."""

from __future__ import annotations

import grpc
from aiohttp import web

from alooba.harvest_sync.v1 import harvest_sync_pb2 as hpb
from alooba.outbox.v1 import outbox_pb2 as opb
from alooba_common.acting import SETTINGS_ROLES
from console.pages import OrgPage, audit, form, org_page, render, see_other

NOTICES = {
    "connected": "Harvest is connected. What is left to do is listed below.",
    "disconnected": "Harvest is disconnected; its credential is forgotten.",
}
# How many queued pushes and dead letters the page lists (the counts are always whole).
LISTED = 50
_MODES = {hpb.CONNECTION_MODE_V1: "Harvest v1 (API key)", hpb.CONNECTION_MODE_V3: "Harvest v3"}


async def _render(
    request: web.Request, page: OrgPage, *, error: str = "", status: int = 200
) -> web.Response:
    harvest_status = (
        await page.backends.harvest.GetStatus(
            hpb.GetStatusRequest(
                organization_id=page.organization_id, refresh=request.query.get("refresh") == "1"
            )
        )
    ).status
    queued = await page.backends.harvest_outbox.ListQueued(opb.ListQueuedRequest(limit=LISTED))
    dead = await page.backends.harvest_outbox.ListDeadLetters(
        opb.ListDeadLettersRequest(limit=LISTED)
    )
    return render(
        request,
        "harvest.html",
        {
            "status": harvest_status,
            "queued": list(queued.messages),
            "dead_letters": list(dead.dead_letters),
            "replayed": _replayed_count(request),
            "connected": harvest_status.mode in _MODES,
            # v3 grants access as scopes (Manage Scopes), v1 as endpoint permissions.
            "v3": harvest_status.mode == hpb.CONNECTION_MODE_V3,
            "mode": _MODES.get(harvest_status.mode, "not connected"),
            "notice": NOTICES.get(request.query.get("notice", "")),
            "error": error,
        },
        status=status,
        page=page,
    )


def _replayed_count(request: web.Request) -> int | None:
    raw = request.query.get("replayed", "")
    return int(raw) if raw.isdigit() else None


async def harvest_page(request: web.Request) -> web.Response:
    return await _render(request, await org_page(request, SETTINGS_ROLES))


async def connect(request: web.Request) -> web.Response:
    page = await org_page(request, SETTINGS_ROLES)
    data = await form(request)
    mode = data.get("mode", "v3")
    acting = data.get("acting_user_id", "").strip()
    if acting and not acting.isdigit():
        return await _render(
            request, page, error="The Site Admin's user id is a number.", status=400
        )
    request_pb = hpb.ConnectRequest(
        organization_id=page.organization_id, acting_user_id=int(acting or 0)
    )
    if mode == "v1":
        key = data.get("api_key", "").strip()
        if not key:
            return await _render(request, page, error="Paste the Harvest API key.", status=400)
        request_pb.v1.CopyFrom(hpb.V1Credential(api_key=key))
    else:
        client_id = data.get("client_id", "").strip()
        secret = data.get("client_secret", "").strip()
        if not client_id or not secret:
            return await _render(
                request, page, error="Paste both the client id and the client secret.", status=400
            )
        request_pb.v3.CopyFrom(hpb.V3Credential(client_id=client_id, client_secret=secret))
    try:
        await page.backends.harvest.Connect(request_pb)
    except grpc.aio.AioRpcError as error:
        if error.code() != grpc.StatusCode.INVALID_ARGUMENT:
            raise
        # What Greenhouse said; the form comes back empty, never with the credential.
        return await _render(
            request, page, error=f"Greenhouse refused it: {error.details()}", status=400
        )
    await audit(request, page, "harvest.connected", mode=mode)
    raise see_other(f"/orgs/{page.organization_id}/settings/harvest?notice=connected")


async def disconnect(request: web.Request) -> web.Response:
    page = await org_page(request, SETTINGS_ROLES)
    await page.backends.harvest.Disconnect(
        hpb.DisconnectRequest(organization_id=page.organization_id)
    )
    await audit(request, page, "harvest.disconnected")
    raise see_other(f"/orgs/{page.organization_id}/settings/harvest?notice=disconnected")


async def replay(request: web.Request) -> web.Response:
    """Puts the chosen dead letters (or all of them) back in the queue; harvest-sync
    replays only this organization's."""
    page = await org_page(request, SETTINGS_ROLES)
    data = await form(request)
    if data.get("which") == "all":
        listed = await page.backends.harvest_outbox.ListDeadLetters(
            opb.ListDeadLettersRequest(limit=1000)
        )
        ids = [letter.id for letter in listed.dead_letters]
    else:
        ids = [value.strip() for value in data.getall("id", []) if value.strip()]
    if not ids:
        error = (
            "There are no dead letters to replay."
            if data.get("which") == "all"
            else "Choose the dead letters to replay."
        )
        return await _render(request, page, error=error, status=400)
    replayed = await page.backends.harvest_outbox.ReplayDeadLetters(
        opb.ReplayDeadLettersRequest(ids=ids)
    )
    await audit(request, page, "harvest.replayed", count=replayed.replayed)
    raise see_other(f"/orgs/{page.organization_id}/settings/harvest?replayed={replayed.replayed}")
