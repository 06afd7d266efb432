"""Organization Settings → Greenhouse: the partner API key (generate, shown once; rotate
with a grace period; revoke), the webhooks to add and what Greenhouse has sent, the setup
check (the same verdicts as `alooba-gh doctor`) and the seed's testing checklist."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from alooba.assessments.v1 import assessments_pb2 as apb
from alooba_common.acting import SETTINGS_ROLES
from console.keys import SETTINGS
from console.pages import OrgPage, audit, form, org_page, render, see_other

# The five webhooks the seed asks for, with Greenhouse's "When" labels (reference §2.1).
WEBHOOK_EVENTS = (
    ("reject_candidate", "Candidate or prospect rejected"),
    ("unreject_candidate", "Candidate or prospect unrejected"),
    ("hire_candidate", "Candidate has been hired"),
    ("unhire_candidate", "Candidate has been unhired"),
    ("candidate_anonymized", "Candidate anonymized"),
)
GRACE_DAYS = (1, 3, 7, 14, 30)
NOTICES = {"revoked": "The key was revoked: Greenhouse can no longer use it."}
_STATES = {
    apb.API_KEY_STATE_ACTIVE: "active",
    apb.API_KEY_STATE_RETIRING: "retiring",
    apb.API_KEY_STATE_REVOKED: "revoked",
    apb.API_KEY_STATE_EXPIRED: "expired",
}
_CHECK_STATUS = {
    apb.CHECK_STATUS_OK: "ok",
    apb.CHECK_STATUS_WARN: "warn",
    apb.CHECK_STATUS_FAIL: "fail",
}


def _base(request: web.Request, page: OrgPage) -> str:
    return f"/orgs/{page.organization_id}/settings/greenhouse"


async def _render(
    request: web.Request,
    page: OrgPage,
    *,
    secret: str = "",
    secret_prefix: str = "",
    notice: str | None = None,
) -> web.Response:
    admin = page.backends.admin
    organization_id = page.organization_id
    keys = (
        await admin.ListApiKeys(apb.ListApiKeysRequest(organization_id=organization_id))
    ).api_keys
    health = await admin.GetIntegrationHealth(
        apb.GetIntegrationHealthRequest(organization_id=organization_id)
    )
    webhook_url = request.app[SETTINGS].gateway_public_url + "/v1/greenhouse/webhook"
    setup = await admin.CheckSetup(
        apb.CheckSetupRequest(
            organization_id=organization_id,
            audience=apb.FIX_AUDIENCE_CONSOLE,
            refresh_harvest=request.query.get("refresh") == "1",
            webhook_url=webhook_url,
        )
    )
    first_invitation = await admin.ListInvitations(
        apb.ListInvitationsRequest(organization_id=organization_id, page_size=1)
    )
    receipts = {r.action: r for r in health.webhook_receipts}
    webhooks = [
        {"action": action, "when": when, "receipt": receipts.get(action)}
        for action, when in WEBHOOK_EVENTS
    ]
    testing = [
        (
            "Greenhouse called list_tests with the key (a recruiter added the Alooba stage)",
            any(k.HasField("last_used_time") for k in keys),
        ),
        ("Greenhouse sent a test (send_test)", bool(first_invitation.invitations)),
        ("A result was called back to Greenhouse", health.callbacks.delivered > 0),
        (
            "A signed webhook arrived from Greenhouse",
            any(r.success_count for r in health.webhook_receipts),
        ),
    ]
    context: dict[str, Any] = {
        "keys": keys,
        "states": _STATES,
        "has_active": any(k.state == apb.API_KEY_STATE_ACTIVE for k in keys),
        "secret": secret,
        "secret_prefix": secret_prefix,
        "grace_days": GRACE_DAYS,
        "webhook_url": webhook_url,
        "webhooks": webhooks,
        "checks": setup.checks,
        "check_status": _CHECK_STATUS,
        "checked": setup.check_time,
        "testing": testing,
        "notice": notice,
    }
    response = render(request, "greenhouse.html", context, page=page)
    return response


async def greenhouse_page(request: web.Request) -> web.Response:
    page = await org_page(request, SETTINGS_ROLES)
    return await _render(request, page, notice=NOTICES.get(request.query.get("notice", "")))


async def issue_key(request: web.Request) -> web.Response:
    page = await org_page(request, SETTINGS_ROLES)
    issued = await page.backends.admin.IssueApiKey(
        apb.IssueApiKeyRequest(organization_id=page.organization_id)
    )
    await audit(
        request,
        page,
        "key.issued",
        prefix=issued.api_key.prefix,
    )
    # Shown in this answer only: never stored here, never shown again.
    return await _render(request, page, secret=issued.secret, secret_prefix=issued.api_key.prefix)


async def rotate_key(request: web.Request) -> web.Response:
    page = await org_page(request, SETTINGS_ROLES)
    data = await form(request)
    try:
        days = int(data.get("grace_days", "7"))
    except ValueError:
        raise web.HTTPBadRequest(text="the grace period must be a number of days") from None
    if days not in GRACE_DAYS:
        raise web.HTTPBadRequest(text="choose one of the grace periods offered")
    rotated = await page.backends.admin.RotateApiKey(
        apb.RotateApiKeyRequest(
            organization_id=page.organization_id, grace_period_seconds=days * 86400
        )
    )
    await audit(
        request,
        page,
        "key.rotated",
        prefix=rotated.api_key.prefix,
        previous=rotated.previous.prefix,
        grace_days=days,
    )
    return await _render(request, page, secret=rotated.secret, secret_prefix=rotated.api_key.prefix)


async def revoke_key(request: web.Request) -> web.Response:
    page = await org_page(request, SETTINGS_ROLES)
    revoked = await page.backends.admin.RevokeApiKey(
        apb.RevokeApiKeyRequest(
            organization_id=page.organization_id, api_key_id=request.match_info["key_id"]
        )
    )
    await audit(
        request,
        page,
        "key.revoked",
        prefix=revoked.api_key.prefix,
    )
    raise see_other(_base(request, page) + "?notice=revoked")
