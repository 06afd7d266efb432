"""What every page handler shares: who is signed in, membership and role checks (another
organization's pages are 404, a role's missing rights 403), rendering with the common
context, and redirects."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp_jinja2
from aiohttp import web
from multidict import MultiDict

from alooba_common.acting import SETTINGS_ROLES, ActingUser
from console.accounts import Actor
from console.clients import ActingBackends
from console.keys import BACKENDS, SERVICES
from console.sessions import ANONYMOUS_CSRF_COOKIE, SignedIn
from console.store.models import Membership

# Set by the who_is_signed_in middleware for every request.
SIGNED_IN: web.RequestKey[SignedIn | None] = web.RequestKey("signed_in")
ANONYMOUS_CSRF: web.RequestKey[str] = web.RequestKey("anonymous_csrf", str)


@dataclass(frozen=True, slots=True)
class OrgPage:
    """A signed-in member on one of their organization's pages."""

    signed_in: SignedIn
    membership: Membership
    backends: ActingBackends
    organization_name: str

    @property
    def organization_id(self) -> str:
        return self.membership.organization_id

    @property
    def role(self) -> str:
        return self.membership.role

    @property
    def may_grade(self) -> bool:
        """Owners, Admins and Members who are graders record manual evaluations."""
        return self.membership.role in SETTINGS_ROLES or self.membership.grader


def signed_in(request: web.Request) -> SignedIn | None:
    return request.get(SIGNED_IN)


def require_signed_in(request: web.Request) -> SignedIn:
    """The signed-in user; otherwise off to the login page, and back here afterwards."""
    found = signed_in(request)
    if found is None:
        raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs, safe='/')}")
    return found


def acting_backends(request: web.Request, membership: Membership) -> ActingBackends:
    return request.app[BACKENDS].acting(
        ActingUser(
            user_id=membership.user_id,
            organization_id=membership.organization_id,
            role=membership.role,
            grader=membership.grader,
        )
    )


async def org_page(request: web.Request, roles: Collection[str] | None = None) -> OrgPage:
    """The member's page in the organization of the URL: 404 for someone who is not a
    member (the organization might as well not exist), 403 for a role without the right."""
    who = require_signed_in(request)
    organization_id = request.match_info["org"]
    membership = await request.app[SERVICES].accounts.membership(who.user.id, organization_id)
    if membership is None:
        raise web.HTTPNotFound(text="no such page")
    if roles is not None and membership.role not in roles:
        raise web.HTTPForbidden(text="your role does not allow this page")
    backends = acting_backends(request, membership)
    name = await request.app[BACKENDS].organization_name(organization_id, on_behalf_of=who.user.id)
    return OrgPage(who, membership, backends, name)


async def audit(request: web.Request, page: OrgPage, action: str, **detail: Any) -> None:
    """Records in the organization's audit log what the signed-in person just did."""
    await request.app[SERVICES].accounts.audit(
        page.organization_id, Actor.of(page.signed_in.user), action, **detail
    )


def csrf_token(request: web.Request) -> str:
    who = signed_in(request)
    if who is not None:
        return who.csrf_token
    return request.get(ANONYMOUS_CSRF) or request.cookies.get(ANONYMOUS_CSRF_COOKIE, "")


def render(
    request: web.Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    page: OrgPage | None = None,
) -> web.Response:
    who = signed_in(request)
    common: dict[str, Any] = {
        "user": who.user if who else None,
        "csrf_token": csrf_token(request),
        "org": page.membership if page else None,
        "role": page.role if page else None,
        "organization_name": page.organization_name if page else "",
    }
    common.update(context or {})
    response = aiohttp_jinja2.render_template(template, request, common, status=status)
    return response


async def form(request: web.Request) -> MultiDict[str]:
    """The posted form's text fields (the console takes no uploads)."""
    data = await request.post()
    return MultiDict((key, value) for key, value in data.items() if isinstance(value, str))


def see_other(location: str) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(location)


def local_path(target: str | None, default: str = "/") -> str:
    """`target` if it is a path on this site, else `default` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target


def timestamp_text(value: Any) -> str:
    """A protobuf Timestamp (or datetime) as people read it; "-" when unset."""
    if value is None:
        return "-"
    if isinstance(value, dt.datetime):
        moment = value
    else:
        if not value.seconds and not value.nanos:
            return "-"
        moment = value.ToDatetime(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
