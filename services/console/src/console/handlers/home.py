"""The landing page: the organizations the signed-in person belongs to."""

from __future__ import annotations

from aiohttp import web

from alooba_common.acting import SETTINGS_ROLES
from console.keys import BACKENDS, SERVICES
from console.pages import render, require_signed_in, see_other


def landing(organization_id: str, role: str) -> str:
    """Owners and Admins start at Organization Settings, Members at the candidates."""
    area = "settings" if role in SETTINGS_ROLES else "candidates"
    return f"/orgs/{organization_id}/{area}"


async def home(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    memberships = await request.app[SERVICES].accounts.memberships(who.user.id)
    if len(memberships) == 1:
        raise see_other(landing(memberships[0].organization_id, memberships[0].role))
    backends = request.app[BACKENDS]
    organizations = [
        {
            "name": await backends.organization_name(m.organization_id, on_behalf_of=who.user.id),
            "url": landing(m.organization_id, m.role),
            "role": m.role,
        }
        for m in memberships
    ]
    return render(request, "home.html", {"organizations": organizations})
