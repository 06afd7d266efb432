"""Candidates and their invitations: the list, filtered by status; one invitation's
timeline; and (Owners and Admins) extend the deadline, cancel, resend, and (they and
Members who are graders) record a manual evaluation. The candidate's name shows on the
invitation's own page only."""

from __future__ import annotations

import datetime as dt
import uuid

from aiohttp import web
from multidict import MultiDict

from alooba.assessments.v1 import assessments_pb2 as apb
from alooba_common.acting import SETTINGS_ROLES
from console.pages import OrgPage, audit, form, org_page, render, see_other, timestamp_text

STATUSES = {
    "sent": apb.INVITATION_STATUS_SENT,
    "started": apb.INVITATION_STATUS_STARTED,
    "awaiting_evaluation": apb.INVITATION_STATUS_AWAITING_EVALUATION,
    "complete": apb.INVITATION_STATUS_COMPLETE,
    "expired": apb.INVITATION_STATUS_EXPIRED,
    "cancelled": apb.INVITATION_STATUS_CANCELLED,
}
STATUS_NAMES = {value: name for name, value in STATUSES.items()}
NOTICES = {
    "extended": "The deadline was moved.",
    "cancelled": "The invitation was cancelled.",
    "resent": "The invitation email is on its way again.",
    "evaluated": "The evaluation was recorded; Greenhouse is told the result.",
}
MAX_EXTEND_DAYS = 90
# The timeline's milestones as people read them (CONSOLE.md: sent, email delivered, started,
# submitted, evaluated, Greenhouse called back, Harvest, status webhooks, erasure). Events
# assessments records, then what its outbox delivered; unknown kinds show as they are.
MILESTONES = {
    "sent": "Sent (Greenhouse's send_test)",
    "email_delivered": "Invitation email delivered (accepted by the mail server)",
    "resent": "Invitation resent",
    "resent_email_delivered": "Resent email delivered (accepted by the mail server)",
    "reminder_delivered": "Reminder email delivered (accepted by the mail server)",
    "started": "Started",
    "submitted": "Submitted",
    "evaluated": "Evaluated",
    "completed": "Result final",
    "greenhouse_called_back": "Greenhouse called back (the result was accepted)",
    "handed_to_harvest_sync": "Scores handed to Harvest sync (written to Greenhouse when "
    "Harvest is connected; see the Harvest page's queue)",
    "extended": "Deadline extended",
    "cancelled": "Cancelled",
    "expired": "Expired",
}


def status_name(invitation: apb.Invitation) -> str:
    return STATUS_NAMES.get(invitation.status, "unknown")


async def candidates_page(request: web.Request) -> web.Response:
    page = await org_page(request)
    status = request.query.get("status", "")
    if status and status not in STATUSES:
        raise web.HTTPBadRequest(text="unknown status")
    response = await page.backends.admin.ListInvitations(
        apb.ListInvitationsRequest(
            organization_id=page.organization_id,
            status=STATUSES.get(status, apb.INVITATION_STATUS_UNSPECIFIED),
            page_token=request.query.get("page", ""),
        )
    )
    return render(
        request,
        "candidates.html",
        {
            "invitations": response.invitations,
            "next_page": response.next_page_token,
            "status": status,
            "statuses": list(STATUSES),
            "status_name": status_name,
        },
        page=page,
    )


async def _invitation(page: OrgPage, invitation_id: str) -> apb.Invitation:
    response = await page.backends.admin.GetInvitation(
        apb.GetInvitationRequest(
            organization_id=page.organization_id,
            invitation_id=invitation_id,
            include_candidate=True,
        )
    )
    invitation: apb.Invitation = response.invitation
    return invitation


def timeline(invitation: apb.Invitation) -> list[tuple[str, str]]:
    """(when, what) for every milestone the system recorded, oldest first: the invitation's
    events, its deliveries, and from the candidates service the last status webhook and
    the erasure."""
    entries = [
        (e.occur_time.ToDatetime(tzinfo=dt.UTC), MILESTONES.get(e.kind, e.kind))
        for e in (*invitation.events, *invitation.deliveries)
    ]
    candidate = invitation.candidate
    if invitation.HasField("candidate") and candidate.HasField("hiring_status_time"):
        entries.append(
            (
                candidate.hiring_status_time.ToDatetime(tzinfo=dt.UTC),
                f"Greenhouse status webhook: the application is now {candidate.hiring_status}",
            )
        )
    if invitation.HasField("candidate") and candidate.HasField("erase_time"):
        entries.append(
            (
                candidate.erase_time.ToDatetime(tzinfo=dt.UTC),
                "Candidate anonymized in Greenhouse: personal data erased",
            )
        )
    entries.sort(key=lambda entry: entry[0])
    return [(timestamp_text(when), what) for when, what in entries]


async def candidate_page(request: web.Request) -> web.Response:
    page = await org_page(request)
    invitation = await _invitation(page, request.match_info["invitation_id"])
    status = status_name(invitation)
    return render(
        request,
        "candidate.html",
        {
            "invitation": invitation,
            "timeline": timeline(invitation),
            "status": status,
            "can_act": page.role in SETTINGS_ROLES,
            "can_grade": page.may_grade,
            "open": status in ("sent", "started", "expired"),
            "takeable": status in ("sent", "started"),
            "awaiting": status == "awaiting_evaluation",
            # Each form carries its own idempotency key: posting it twice acts once.
            "form_key": uuid.uuid4().hex,
            "notice": NOTICES.get(request.query.get("notice", "")),
        },
        page=page,
    )


def _form_key(data: MultiDict[str]) -> str:
    key = data.get("form_key", "")
    if not key or len(key) > 64 or not key.isalnum():
        raise web.HTTPBadRequest(text="the form is incomplete: reload the page")
    return "console:" + key


def _score(raw: str, what: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=f"{what} must be a number from 0 to 100") from None
    if not 0 <= value <= 100:
        raise web.HTTPBadRequest(text=f"{what} must be a number from 0 to 100")
    return value


async def _done(
    request: web.Request, page: OrgPage, action: str, notice: str, **detail: object
) -> web.Response:
    invitation_id = request.match_info["invitation_id"]
    await audit(
        request,
        page,
        action,
        invitation_id=invitation_id,
        **detail,
    )
    raise see_other(f"/orgs/{page.organization_id}/candidates/{invitation_id}?notice={notice}")


async def extend(request: web.Request) -> web.Response:
    page = await org_page(request, SETTINGS_ROLES)
    data = await form(request)
    raw = data.get("days", "")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_EXTEND_DAYS:
        raise web.HTTPBadRequest(text=f"extend by 1 to {MAX_EXTEND_DAYS} days")
    invitation = await _invitation(page, request.match_info["invitation_id"])
    current = invitation.expire_time.ToDatetime(tzinfo=dt.UTC)
    new_deadline = max(current, dt.datetime.now(dt.UTC)) + dt.timedelta(days=int(raw))
    request_pb = apb.ExtendDeadlineRequest(
        idempotency_key=_form_key(data), invitation_id=invitation.id
    )
    request_pb.expire_time.FromDatetime(new_deadline)
    await page.backends.platform.ExtendDeadline(request_pb)
    return await _done(request, page, "invitation.extended", "extended", days=int(raw))


async def cancel(request: web.Request) -> web.Response:
    page = await org_page(request, SETTINGS_ROLES)
    data = await form(request)
    reason = data.get("reason", "").strip()[:500] or "cancelled in the console"
    await page.backends.platform.CancelInvitation(
        apb.CancelInvitationRequest(
            idempotency_key=_form_key(data),
            invitation_id=request.match_info["invitation_id"],
            reason=reason,
        )
    )
    return await _done(request, page, "invitation.cancelled", "cancelled")


async def resend(request: web.Request) -> web.Response:
    page = await org_page(request, SETTINGS_ROLES)
    data = await form(request)
    await page.backends.platform.ResendInvitation(
        apb.ResendInvitationRequest(
            idempotency_key=_form_key(data), invitation_id=request.match_info["invitation_id"]
        )
    )
    return await _done(request, page, "invitation.resent", "resent")


async def evaluate(request: web.Request) -> web.Response:
    page = await org_page(request)
    if not page.may_grade:
        raise web.HTTPForbidden(text="only Owners, Admins and graders record evaluations")
    data = await form(request)
    invitation = await _invitation(page, request.match_info["invitation_id"])
    skills = [
        apb.SkillScore(
            skill=item.skill, score=_score(data.get(f"skill:{item.skill}", ""), item.skill)
        )
        for item in invitation.skill_scores
    ]
    user = page.signed_in.user
    await page.backends.platform.RecordEvaluation(
        apb.RecordEvaluationRequest(
            idempotency_key=_form_key(data),
            invitation_id=invitation.id,
            score=_score(data.get("score", ""), "the score"),
            skill_scores=skills,
            evaluator=user.display_name or user.email,
        )
    )
    return await _done(request, page, "invitation.evaluated", "evaluated")
