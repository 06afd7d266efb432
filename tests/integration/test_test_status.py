"""GET test_status: the invitation's state, only ever to the organization that owns it."""

from __future__ import annotations

import grpc
import pytest
from integration.helpers import PARTNER, Tenant, call, new_tenant, send_test, status_of
from support.greenhouse import send_test_body
from support.inprocess import System

from alooba.assessments.v1 import assessments_pb2 as apb
from alooba.candidates.v1 import candidates_pb2 as cpb


async def sent_invitation(system: System, tenant: Tenant) -> str:
    reply = await send_test(system, tenant.key, send_test_body(tenant.test.id))
    assert reply.status == 200
    interview_id: str = reply.body["partner_interview_id"]
    return interview_id


async def test_new_invitation_is_sent_with_null_profile_url_score_and_metadata(
    system: System, tenant: Tenant
) -> None:
    interview_id = await sent_invitation(system, tenant)
    reply = await status_of(system, tenant.key, interview_id)
    assert reply.status == 200
    assert reply.content_type == "application/json"
    assert reply.body == {
        "partner_status": "sent",
        "partner_profile_url": None,
        "partner_score": None,
        "metadata": None,
    }


async def test_missing_query_parameter_is_400_json(system: System, tenant: Tenant) -> None:
    reply = await call(system, "GET", f"{PARTNER}/test_status", key=tenant.key)
    assert reply.status == 400
    assert reply.content_type == "application/json"
    assert reply.body["error"] == "bad_request"


async def test_repeated_query_parameter_is_400(system: System, tenant: Tenant) -> None:
    interview_id = await sent_invitation(system, tenant)
    reply = await call(
        system,
        "GET",
        f"{PARTNER}/test_status",
        key=tenant.key,
        params=[("partner_interview_id", interview_id), ("partner_interview_id", interview_id)],
    )
    assert reply.status == 400


async def test_unknown_partner_interview_id_is_404_json(system: System, tenant: Tenant) -> None:
    reply = await status_of(system, tenant.key, "0" * 32)
    assert reply.status == 404
    assert reply.content_type == "application/json"
    assert reply.body["error"] == "not_found"


async def test_another_organization_interview_id_is_404_with_its_own_valid_key(
    system: System, tenant: Tenant
) -> None:
    interview_id = await sent_invitation(system, tenant)
    other = await new_tenant(system)
    reply = await status_of(system, other.key, interview_id)
    assert reply.status == 404
    assert reply.body["error"] == "not_found"


async def test_admin_get_invitation_with_another_organization_id_is_not_found(
    system: System, tenant: Tenant
) -> None:
    interview_id = await sent_invitation(system, tenant)
    other = await new_tenant(system)
    own = await system.admin.GetInvitation(
        apb.GetInvitationRequest(organization_id=tenant.organization.id, invitation_id=interview_id)
    )
    assert own.invitation.id == interview_id
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await system.admin.GetInvitation(
            apb.GetInvitationRequest(
                organization_id=other.organization.id, invitation_id=interview_id
            )
        )
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


async def test_candidate_with_another_organization_id_is_not_found(
    system: System, tenant: Tenant
) -> None:
    interview_id = await sent_invitation(system, tenant)
    other = await new_tenant(system)
    invitation = (
        await system.admin.GetInvitation(
            apb.GetInvitationRequest(
                organization_id=tenant.organization.id, invitation_id=interview_id
            )
        )
    ).invitation
    own = await system.candidates.GetCandidate(
        cpb.GetCandidateRequest(
            organization_id=tenant.organization.id, candidate_id=invitation.candidate_id
        )
    )
    assert own.candidate.id == invitation.candidate_id
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await system.candidates.GetCandidate(
            cpb.GetCandidateRequest(
                organization_id=other.organization.id, candidate_id=invitation.candidate_id
            )
        )
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
