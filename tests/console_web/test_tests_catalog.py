"""The test catalog through the console: an Admin edits a test (name, skills, manual
evaluation, expiry days) and archives it; Greenhouse's list_tests and the invitations
follow; Members, other organizations and bad input are refused."""

from __future__ import annotations

import html

from console_web.helpers import joined, web_client
from integration.helpers import list_tests, new_tenant, send_test
from integration.lifecycle_helpers import callback_receiver
from support.console import Console
from support.greenhouse import send_test_body
from support.inprocess import System

from alooba.assessments.v1 import assessments_pb2 as apb


async def catalog(system: System, organization_id: str) -> dict[str, apb.Test]:
    listed = await system.admin.ListOrganizationTests(
        apb.ListOrganizationTestsRequest(organization_id=organization_id, include_archived=True)
    )
    return {t.id: t for t in listed.tests}


async def test_an_admin_edits_and_archives_a_test_and_greenhouse_sees_it(
    system: System, console: Console
) -> None:
    tenant = await new_tenant(system, test_name="Data Analyst")
    org, test_id = tenant.organization.id, tenant.test.id
    async with web_client(console) as client:
        await joined(console, client, org, "admin")
        page = await client.get(f"/orgs/{org}/tests/{test_id}")
        assert page.status == 200
        assert 'value="Data Analyst"' in page.text
        page = await client.post(
            f"/orgs/{org}/tests/{test_id}",
            {
                "name": "Senior <Data> Analyst",
                "skills": "SQL\nStatistics, Python",
                "needs_manual_evaluation": "on",
                "expiry_days": "10",
            },
        )
        assert page.status == 200
        assert page.url.endswith(f"/orgs/{org}/tests?notice=updated")
        assert html.escape("Senior <Data> Analyst") in page.text
        assert "SQL, Statistics, Python" in page.text

        test = (await catalog(system, org))[test_id]
        assert test.name == "Senior <Data> Analyst"
        assert list(test.skills) == ["SQL", "Statistics", "Python"]
        assert test.needs_manual_evaluation
        assert test.expiry_days == 10
        listed = await list_tests(system, tenant.key)
        assert listed.body == [
            {"partner_test_id": test_id, "partner_test_name": "Senior <Data> Analyst"}
        ]

        # An invitation sent before archiving is kept; the test stops being offered.
        body = send_test_body(test_id)
        body["url"] = callback_receiver().url()
        sent = await send_test(system, tenant.key, body)
        assert sent.status == 200, sent.body
        await client.get(f"/orgs/{org}/tests/{test_id}")
        page = await client.post(f"/orgs/{org}/tests/{test_id}/archive", {})
        assert page.status == 200
        assert page.url.endswith("?notice=archived")
        assert "Greenhouse no longer lists it" in page.text
        assert "Senior &lt;Data&gt; Analyst" not in page.text  # hidden unless asked for
        page = await client.get(f"/orgs/{org}/tests?archived=1")
        assert "Senior &lt;Data&gt; Analyst" in page.text
        assert "archived" in page.text
        assert f'href="/orgs/{org}/tests/{test_id}"' not in page.text  # no editing it now
        assert (await catalog(system, org))[test_id].archived
        assert (await list_tests(system, tenant.key)).body == []
        invitations = await system.admin.ListInvitations(
            apb.ListInvitationsRequest(organization_id=org)
        )
        assert [i.id for i in invitations.invitations] == [sent.body["partner_interview_id"]]

    async with web_client(console) as owner:
        await joined(console, owner, org, "owner")
        audit = await owner.get(f"/orgs/{org}/audit")
        assert "test.updated" in audit.text
        assert "test.archived" in audit.text


async def test_editing_is_refused_to_members_other_organizations_and_bad_input(
    system: System, console: Console
) -> None:
    tenant = await new_tenant(system, test_name="Data Analyst")
    theirs = await new_tenant(system, test_name="Their Test")
    org, test_id = tenant.organization.id, tenant.test.id
    async with web_client(console) as member:
        await joined(console, member, org, "member")
        page = await member.get(f"/orgs/{org}/tests")
        assert page.status == 200
        assert f'href="/orgs/{org}/tests/{test_id}"' not in page.text
        assert (await member.get(f"/orgs/{org}/tests/{test_id}")).status == 403
        edit = await member.post(f"/orgs/{org}/tests/{test_id}", {"name": "Mine now"})
        assert edit.status == 403
        archive = await member.post(f"/orgs/{org}/tests/{test_id}/archive", {})
        assert archive.status == 403
    async with web_client(console) as admin:
        await joined(console, admin, org, "admin")
        # Another organization's test, through this organization's pages: 404.
        assert (await admin.get(f"/orgs/{org}/tests/{theirs.test.id}")).status == 404
        await admin.get(f"/orgs/{org}/tests")
        page = await admin.post(f"/orgs/{org}/tests/{theirs.test.id}/archive", {})
        assert page.status == 404
        page = await admin.post(f"/orgs/{org}/tests/{theirs.test.id}", {"name": "Hijacked"})
        assert page.status == 404
        for fields in (
            {"name": "Data Analyst", "expiry_days": "ten"},
            {"name": "", "expiry_days": "7"},
            {"name": "x" * 201},
        ):
            page = await admin.post(f"/orgs/{org}/tests/{test_id}", fields)
            assert page.status == 400, fields
    assert (await catalog(system, org))[test_id].name == "Data Analyst"
    assert not (await catalog(system, org))[test_id].archived
    assert (await catalog(system, theirs.organization.id))[theirs.test.id].name == "Their Test"
    assert not (await catalog(system, theirs.organization.id))[theirs.test.id].archived
