"""Members who are graders (CONSOLE.md): an Owner or Admin makes a Member a grader on the
members page; a grader records a manual evaluation, a Member who is not one gets 403 (from
the console, and from assessments whatever the console does)."""

from __future__ import annotations

import re

import grpc
from console_web.helpers import WebClient, joined, web_client
from console_web.test_pages import invitation_named
from integration.helpers import new_tenant, status_of
from integration.lifecycle_helpers import key, rpc_error, submit
from support.console import Console
from support.inprocess import System
from support.tls import channel as tls_channel

from alooba.assessments.v1 import assessments_pb2 as apb
from alooba.assessments.v1 import assessments_pb2_grpc as agrpc
from alooba.console.v1 import console_pb2 as cpb
from alooba_common.acting import ActingUser, acting_metadata
from alooba_common.tls import Identity


async def user_id_of(console: Console, organization_id: str, email: str) -> str:
    members = await console.users.ListMembers(
        cpb.ListMembersRequest(organization_id=organization_id)
    )
    [member] = [m for m in members.members if m.email == email]
    return str(member.user_id)


async def evaluation_form(client: WebClient, path: str, score: str) -> dict[str, str]:
    page = await client.get(path)
    assert page.status == 200
    form_key = re.search(r'name="form_key" value="([0-9a-f]+)e"', page.text)
    # Without the right, the page has no evaluation form: post a well-formed one anyway.
    return {
        "form_key": (form_key.group(1) if form_key else "f" * 32) + "e",
        "score": score,
        "skill:SQL": score,
    }


async def test_a_member_made_a_grader_records_an_evaluation_and_others_get_403(
    system: System, console: Console
) -> None:
    tenant = await new_tenant(system)
    org = tenant.organization.id
    invitation_id = await invitation_named(system, tenant)
    await submit(system, invitation_id, score=60, skills={"SQL": 55}, manual=True)
    path = f"/orgs/{org}/candidates/{invitation_id}"

    async with web_client(console) as member, web_client(console) as admin:
        member_email = await joined(console, member, org, "member")
        await joined(console, admin, org, "admin")
        member_id = await user_id_of(console, org, member_email)

        # Not a grader yet: no form, and posting one is 403; nothing changes.
        page = await member.get(path)
        assert "Record the evaluation" not in page.text
        refused = await member.post(f"{path}/evaluate", await evaluation_form(member, path, "90"))
        assert refused.status == 403
        # Nor may a Member make themself a grader.
        await member.get(f"/orgs/{org}/candidates")
        page = await member.post(f"/orgs/{org}/members/{member_id}/grader", {"grader": "yes"})
        assert page.status == 403

        # An Admin makes them one on the members page.
        page = await admin.get(f"/orgs/{org}/settings")
        assert f'action="/orgs/{org}/members/{member_id}/grader"' in page.text
        assert f'action="/orgs/{org}/members/{member_id}/role"' not in page.text  # Owners only
        page = await admin.post(f"/orgs/{org}/members/{member_id}/grader", {"grader": "yes"})
        assert page.status == 200
        assert "Who may record evaluations was changed." in page.text
        assert "Stop grading" in page.text

        page = await member.get(path)
        assert "Record the evaluation" in page.text
        assert "Extend" not in page.text  # grading only, not the Owner and Admin actions
        page = await member.post(f"{path}/evaluate", await evaluation_form(member, path, "77"))
        assert page.status == 200
        assert "The evaluation was recorded" in page.text

    reply = await status_of(system, tenant.key, invitation_id)
    assert reply.body["partner_status"] == "complete"
    assert reply.body["partner_score"] == 77
    assert reply.body["metadata"]["Evaluated By"] == "The member"
    async with web_client(console) as owner:
        await joined(console, owner, org, "owner")
        audit = await owner.get(f"/orgs/{org}/audit")
        assert "grader.granted" in audit.text
        assert f"email: {member_email}" in audit.text
        assert "invitation.evaluated" in audit.text


async def test_a_grader_no_longer_may_once_the_flag_is_taken_back(
    system: System, console: Console
) -> None:
    tenant = await new_tenant(system)
    org = tenant.organization.id
    invitation_id = await invitation_named(system, tenant)
    await submit(system, invitation_id, score=60, skills={"SQL": 55}, manual=True)
    path = f"/orgs/{org}/candidates/{invitation_id}"
    async with web_client(console) as member, web_client(console) as owner:
        member_email = await joined(console, member, org, "member")
        await joined(console, owner, org, "owner")
        member_id = await user_id_of(console, org, member_email)
        await owner.get(f"/orgs/{org}/settings")
        await owner.post(f"/orgs/{org}/members/{member_id}/grader", {"grader": "yes"})
        form = await evaluation_form(member, path, "64")
        page = await owner.post(f"/orgs/{org}/members/{member_id}/grader", {"grader": "no"})
        assert "Make a grader" in page.text
        refused = await member.post(f"{path}/evaluate", form)
        assert refused.status == 403
        bad = await owner.post(f"/orgs/{org}/members/{member_id}/grader", {"grader": "maybe"})
        assert bad.status == 400
        audit = await owner.get(f"/orgs/{org}/audit")
        assert "grader.revoked" in audit.text
    reply = await status_of(system, tenant.key, invitation_id)
    assert reply.body["partner_status"] == "awaiting_evaluation"


async def test_assessments_lets_the_console_grade_only_for_owners_admins_and_graders(
    system: System,
) -> None:
    tenant = await new_tenant(system)
    org = tenant.organization.id
    invitation_id = await invitation_named(system, tenant)
    await submit(system, invitation_id, score=60, skills={"SQL": 55}, manual=True)
    async with tls_channel(system.addresses["assessments"], Identity.CONSOLE) as channel:
        platform = agrpc.PlatformServiceStub(channel)

        def evaluation(score: float) -> apb.RecordEvaluationRequest:
            return apb.RecordEvaluationRequest(
                idempotency_key=key(),
                invitation_id=invitation_id,
                score=score,
                skill_scores=[apb.SkillScore(skill="SQL", score=score)],
                evaluator="someone",
            )

        member = acting_metadata(ActingUser("u1", org, "member"))
        error = await rpc_error(platform.RecordEvaluation(evaluation(90), metadata=member))
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        # A grader key other than "1" is malformed metadata.
        forged = (*member, ("x-alooba-acting-grader", "yes"))
        error = await rpc_error(platform.RecordEvaluation(evaluation(90), metadata=forged))
        assert error.code() == grpc.StatusCode.PERMISSION_DENIED
        # A grader of another organization: NOT_FOUND, as for any of its invitations.
        stranger = acting_metadata(ActingUser("u2", "e" * 32, "member", grader=True))
        error = await rpc_error(platform.RecordEvaluation(evaluation(90), metadata=stranger))
        assert error.code() == grpc.StatusCode.NOT_FOUND
        grader = acting_metadata(ActingUser("u1", org, "member", grader=True))
        done = await platform.RecordEvaluation(evaluation(81), metadata=grader)
        assert done.invitation.status == apb.INVITATION_STATUS_COMPLETE
    # Only the console may say a person is a grader.
    error = await rpc_error(
        system.platform.RecordEvaluation(
            evaluation(70), metadata=(("x-alooba-acting-grader", "1"),)
        )
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
