"""The report behind Greenhouse's "View Report" link (partner_profile_url): total and
skill scores, timings and status, for members of the invitation's organization. Anyone
else is sent to sign in, and after signing in gets 404 unless they are a member. After
the candidate was anonymized it shows that, and no personal data."""

from __future__ import annotations

import grpc
from aiohttp import web

from alooba.assessments.v1 import assessments_pb2 as apb
from console.handlers.candidates import status_name
from console.keys import SERVICES
from console.pages import acting_backends, render, require_signed_in


async def report_page(request: web.Request) -> web.Response:
    who = require_signed_in(request)
    invitation_id = request.match_info["invitation_id"]
    # The link names the invitation only: look in each of the person's organizations.
    for membership in await request.app[SERVICES].accounts.memberships(who.user.id):
        backends = acting_backends(request, membership)
        try:
            response = await backends.admin.GetInvitation(
                apb.GetInvitationRequest(
                    organization_id=membership.organization_id,
                    invitation_id=invitation_id,
                    include_candidate=True,
                )
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                continue
            raise
        invitation = response.invitation
        return render(
            request,
            "report.html",
            {"invitation": invitation, "status": status_name(invitation)},
        )
    raise web.HTTPNotFound(text="no such report")
