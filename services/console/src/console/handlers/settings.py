"""Organization Settings: the organization's name as Greenhouse must send it, and (for
Owners) its members, their roles and invitations."""

from __future__ import annotations

import grpc
from aiohttp import web

from alooba.assessments.v1 import assessments_pb2 as apb
from alooba_common.acting import OWNER, ROLES, SETTINGS_ROLES
from console.accounts import Actor
from console.handlers.greenhouse import WEBHOOK_EVENTS
from console.keys import SERVICES
from console.pages import OrgPage, audit, form, org_page, render, see_other

NOTICES = {
    "invited": "The invitation is on its way.",
    "role-changed": "The role was changed.",
    "grader-changed": "Who may record evaluations was changed.",
    "renamed": "The organization was renamed. Change the X-Organisation header of each "
    "webhook below in Greenhouse now: until then Greenhouse's webhooks are refused.",
}
# What the service says back for a name it refuses, shown next to the form.
_RENAME_REFUSALS = {
    grpc.StatusCode.ALREADY_EXISTS: (409, "Another organization already has that name."),
    grpc.StatusCode.INVALID_ARGUMENT: (400, ""),
}


async def _settings(
    request: web.Request,
    page: OrgPage,
    *,
    rename_error: str = "",
    proposed_name: str | None = None,
    status: int = 200,
) -> web.Response:
    # Owners change roles; Owners and Admins say who grades.
    members = await request.app[SERVICES].accounts.members(page.organization_id)
    return render(
        request,
        "settings.html",
        {
            "members": members,
            "roles": ROLES,
            "notice": NOTICES.get(request.query.get("notice", "")),
            "webhook_events": WEBHOOK_EVENTS,
            "rename_error": rename_error,
            "proposed_name": page.organization_name if proposed_name is None else proposed_name,
        },
        page=page,
        status=status,
    )


async def settings_page(request: web.Request) -> web.Response:
    page = await org_page(request, SETTINGS_ROLES)
    return await _settings(request, page)


async def rename(request: web.Request) -> web.Response:
    """The Owner renames the organization: the name is what every Greenhouse webhook must
    send as X-Organisation, so the page warns first and lists the webhooks after."""
    page = await org_page(request, (OWNER,))
    data = await form(request)
    name = data.get("name", "")
    if data.get("understood") != "on":
        return await _settings(
            request,
            page,
            rename_error="Tick the box to confirm you will change the header in Greenhouse.",
            proposed_name=name,
            status=400,
        )
    try:
        renamed = await page.backends.admin.RenameOrganization(
            apb.RenameOrganizationRequest(organization_id=page.organization_id, name=name)
        )
    except grpc.aio.AioRpcError as error:
        if error.code() not in _RENAME_REFUSALS:
            raise
        status, message = _RENAME_REFUSALS[error.code()]
        return await _settings(
            request,
            page,
            rename_error=message or error.details() or "That name cannot be used.",
            proposed_name=name,
            status=status,
        )
    if renamed.previous_name != renamed.organization.name:
        await audit(
            request,
            page,
            "organization.renamed",
            previous_name=renamed.previous_name,
            name=renamed.organization.name,
        )
    raise see_other(f"/orgs/{page.organization_id}/settings?notice=renamed")


async def invite(request: web.Request) -> web.Response:
    page = await org_page(request, (OWNER,))
    data = await form(request)
    await request.app[SERVICES].accounts.invite(
        page.organization_id,
        data.get("email", ""),
        data.get("role", ""),
        Actor.of(page.signed_in.user),
    )
    raise see_other(f"/orgs/{page.organization_id}/settings?notice=invited")


async def change_role(request: web.Request) -> web.Response:
    page = await org_page(request, (OWNER,))
    data = await form(request)
    await request.app[SERVICES].accounts.change_role(
        page.organization_id,
        request.match_info["user_id"],
        data.get("role", ""),
        Actor.of(page.signed_in.user),
    )
    raise see_other(f"/orgs/{page.organization_id}/settings?notice=role-changed")


async def set_grader(request: web.Request) -> web.Response:
    """An Owner or Admin lets a member record manual evaluations, or no longer."""
    page = await org_page(request, SETTINGS_ROLES)
    data = await form(request)
    value = data.get("grader", "")
    if value not in ("yes", "no"):
        raise web.HTTPBadRequest(text="say yes or no")
    await request.app[SERVICES].accounts.set_grader(
        page.organization_id,
        request.match_info["user_id"],
        value == "yes",
        Actor.of(page.signed_in.user),
    )
    raise see_other(f"/orgs/{page.organization_id}/settings?notice=grader-changed")


async def audit_page(request: web.Request) -> web.Response:
    page = await org_page(request, (OWNER,))
    entries = await request.app[SERVICES].accounts.audit_entries(page.organization_id)
    return render(request, "audit.html", {"entries": entries}, page=page)
