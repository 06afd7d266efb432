"""The test catalog: list, create, edit, archive (editing: Owners and Admins)."""

from __future__ import annotations

from aiohttp import web
from multidict import MultiDict

from alooba.assessments.v1 import assessments_pb2 as apb
from alooba_common.acting import SETTINGS_ROLES
from console.pages import OrgPage, audit, form, org_page, render, see_other

NOTICES = {
    "created": "The test was added: Greenhouse lists it from now on.",
    "updated": "The test was changed.",
    "archived": "The test was archived: Greenhouse no longer lists it.",
}


def _skills(data: MultiDict[str]) -> list[str]:
    """One skill per line (or comma-separated), blanks dropped."""
    raw = data.get("skills", "").replace(",", "\n")
    return [line.strip() for line in raw.splitlines() if line.strip()]


def _expiry_days(data: MultiDict[str]) -> int:
    raw = data.get("expiry_days", "").strip()
    if not raw:
        return 0
    if not raw.isdigit():
        raise web.HTTPBadRequest(text="the expiry must be a whole number of days")
    return int(raw)


async def _tests(page: OrgPage, *, include_archived: bool) -> list[apb.Test]:
    response = await page.backends.admin.ListOrganizationTests(
        apb.ListOrganizationTestsRequest(
            organization_id=page.organization_id, include_archived=include_archived
        )
    )
    return list(response.tests)


async def tests_page(request: web.Request) -> web.Response:
    page = await org_page(request)
    archived = request.query.get("archived") == "1"
    return render(
        request,
        "tests.html",
        {
            "tests": await _tests(page, include_archived=archived),
            "archived": archived,
            "can_edit": page.role in SETTINGS_ROLES,
            "notice": NOTICES.get(request.query.get("notice", "")),
        },
        page=page,
    )


async def create_test(request: web.Request) -> web.Response:
    page = await org_page(request, SETTINGS_ROLES)
    data = await form(request)
    created = await page.backends.admin.CreateTest(
        apb.CreateTestRequest(
            organization_id=page.organization_id,
            name=data.get("name", ""),
            skills=_skills(data),
            needs_manual_evaluation=data.get("needs_manual_evaluation") == "on",
            expiry_days=_expiry_days(data),
        )
    )
    await audit(
        request,
        page,
        "test.created",
        test_id=created.test.id,
        name=created.test.name,
    )
    raise see_other(f"/orgs/{page.organization_id}/tests?notice=created")


async def test_page(request: web.Request) -> web.Response:
    page = await org_page(request, SETTINGS_ROLES)
    test_id = request.match_info["test_id"]
    found = [t for t in await _tests(page, include_archived=True) if t.id == test_id]
    if not found:
        raise web.HTTPNotFound(text="no such test")
    return render(request, "test_edit.html", {"test": found[0]}, page=page)


async def update_test(request: web.Request) -> web.Response:
    page = await org_page(request, SETTINGS_ROLES)
    data = await form(request)
    updated = await page.backends.admin.UpdateTest(
        apb.UpdateTestRequest(
            organization_id=page.organization_id,
            test_id=request.match_info["test_id"],
            name=data.get("name", ""),
            skills=apb.SkillList(skills=_skills(data)),
            needs_manual_evaluation=data.get("needs_manual_evaluation") == "on",
            expiry_days=_expiry_days(data) or None,
        )
    )
    await audit(
        request,
        page,
        "test.updated",
        test_id=updated.test.id,
        name=updated.test.name,
    )
    raise see_other(f"/orgs/{page.organization_id}/tests?notice=updated")


async def archive_test(request: web.Request) -> web.Response:
    page = await org_page(request, SETTINGS_ROLES)
    archived = await page.backends.admin.ArchiveTest(
        apb.ArchiveTestRequest(
            organization_id=page.organization_id, test_id=request.match_info["test_id"]
        )
    )
    await audit(
        request,
        page,
        "test.archived",
        test_id=archived.test.id,
        name=archived.test.name,
    )
    raise see_other(f"/orgs/{page.organization_id}/tests?notice=archived")
