"""Organization Settings: the organization's name as Greenhouse must send it, and (for
Owners) its members, their roles and invitations."""

from __future__ import annotations

from aiohttp import web

from alooba_common.acting import OWNER, ROLES, SETTINGS_ROLES
from console.accounts import Actor
from console.keys import SERVICES
from console.pages import form, org_page, render, see_other

NOTICES = {
    "invited": "The invitation is on its way.",
    "role-changed": "The role was changed.",
}


async def settings_page(request: web.Request) -> web.Response:
    page = await org_page(request, SETTINGS_ROLES)
    members = (
        await request.app[SERVICES].accounts.members(page.organization_id)
        if page.role == OWNER
        else []
    )
    return render(
        request,
        "settings.html",
        {
            "members": members,
            "roles": ROLES,
            "notice": NOTICES.get(request.query.get("notice", "")),
        },
        page=page,
    )


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


async def audit_page(request: web.Request) -> web.Response:
    page = await org_page(request, (OWNER,))
    entries = await request.app[SERVICES].accounts.audit_entries(page.organization_id)
    return render(request, "audit.html", {"entries": entries}, page=page)
