"""POST send_test: validated, idempotent per organization on Greenhouse's callback url."""

from __future__ import annotations

import asyncio
from typing import Any

from integration.helpers import Tenant, all_invitations, new_tenant, send_test
from support.greenhouse import send_test_body
from support.inprocess import System

from alooba.assessments.v1 import assessments_pb2 as apb


async def test_answers_only_a_string_partner_interview_id(system: System, tenant: Tenant) -> None:
    reply = await send_test(system, tenant.key, send_test_body(tenant.test.id))
    assert reply.status == 200
    assert reply.content_type == "application/json"
    assert set(reply.body) == {"partner_interview_id"}
    assert isinstance(reply.body["partner_interview_id"], str)
    assert reply.body["partner_interview_id"]


async def test_creates_one_invitation_for_the_test(system: System, tenant: Tenant) -> None:
    body = send_test_body(tenant.test.id)
    reply = await send_test(system, tenant.key, body)
    invitations = await all_invitations(system, tenant.organization.id)
    assert [invitation.id for invitation in invitations] == [reply.body["partner_interview_id"]]
    assert invitations[0].test_id == tenant.test.id
    assert invitations[0].callback_url == body["url"]
    assert invitations[0].status == apb.INVITATION_STATUS_SENT


async def test_the_same_body_twice_returns_the_same_id_and_one_invitation(
    system: System, tenant: Tenant
) -> None:
    body = send_test_body(tenant.test.id)
    first = await send_test(system, tenant.key, body)
    second = await send_test(system, tenant.key, body)
    assert first.status == second.status == 200
    assert first.body == second.body
    assert len(await all_invitations(system, tenant.organization.id)) == 1


async def test_twenty_concurrent_identical_calls_make_one_invitation(
    system: System, tenant: Tenant
) -> None:
    body = send_test_body(tenant.test.id)
    replies = await asyncio.gather(*(send_test(system, tenant.key, body) for _ in range(20)))
    assert {reply.status for reply in replies} == {200}
    assert len({reply.body["partner_interview_id"] for reply in replies}) == 1
    assert len(await all_invitations(system, tenant.organization.id)) == 1


async def test_the_same_url_from_another_organization_is_a_separate_invitation(
    system: System, tenant: Tenant
) -> None:
    other = await new_tenant(system)
    url_body = send_test_body(tenant.test.id)
    mine = await send_test(system, tenant.key, url_body)
    theirs = await send_test(system, other.key, {**url_body, "partner_test_id": other.test.id})
    assert mine.status == theirs.status == 200
    assert mine.body["partner_interview_id"] != theirs.body["partner_interview_id"]
    assert len(await all_invitations(system, tenant.organization.id)) == 1
    assert len(await all_invitations(system, other.organization.id)) == 1


async def test_different_urls_for_the_same_candidate_are_different_invitations(
    system: System, tenant: Tenant
) -> None:
    first = await send_test(system, tenant.key, send_test_body(tenant.test.id))
    second = await send_test(system, tenant.key, send_test_body(tenant.test.id))
    assert first.body["partner_interview_id"] != second.body["partner_interview_id"]
    assert len(await all_invitations(system, tenant.organization.id)) == 2


async def test_unknown_partner_test_id_is_404_json(system: System, tenant: Tenant) -> None:
    reply = await send_test(system, tenant.key, send_test_body("no-such-test"))
    assert reply.status == 404
    assert reply.content_type == "application/json"
    assert reply.body["error"] == "not_found"
    assert await all_invitations(system, tenant.organization.id) == []


async def test_another_organization_test_id_is_404(system: System, tenant: Tenant) -> None:
    other = await new_tenant(system)
    reply = await send_test(system, tenant.key, send_test_body(other.test.id))
    assert reply.status == 404
    assert await all_invitations(system, other.organization.id) == []


async def test_archived_test_is_404(system: System, tenant: Tenant) -> None:
    await system.admin.ArchiveTest(
        apb.ArchiveTestRequest(organization_id=tenant.organization.id, test_id=tenant.test.id)
    )
    reply = await send_test(system, tenant.key, send_test_body(tenant.test.id))
    assert reply.status == 404
    assert reply.body["error"] == "not_found"


async def refused_with_422(system: System, tenant: Tenant, body: dict[str, Any]) -> None:
    reply = await send_test(system, tenant.key, body)
    assert reply.status == 422
    assert reply.content_type == "application/json"
    assert reply.body["error"] == "unprocessable_entity"
    assert await all_invitations(system, tenant.organization.id) == []


async def test_callback_url_outside_the_allow_list_is_422_and_creates_nothing(
    system: System, tenant: Tenant
) -> None:
    body = {**send_test_body(tenant.test.id), "url": "https://evil.example.com/x"}
    await refused_with_422(system, tenant, body)


async def test_http_callback_url_is_422(system: System, tenant: Tenant) -> None:
    body = send_test_body(tenant.test.id)
    body["url"] = body["url"].replace("https://", "http://")
    await refused_with_422(system, tenant, body)


async def test_invalid_email_is_422(system: System, tenant: Tenant) -> None:
    body = send_test_body(tenant.test.id, email="not-an-email")
    await refused_with_422(system, tenant, body)


async def test_unknown_extra_fields_are_ignored(system: System, tenant: Tenant) -> None:
    body = send_test_body(tenant.test.id)
    body["greenhouse_job_id"] = 4711
    body["future_object"] = {"nested": [1, {"deep": True}]}
    body["candidate"]["pronouns"] = "they/them"
    reply = await send_test(system, tenant.key, body)
    assert reply.status == 200
    assert set(reply.body) == {"partner_interview_id"}


async def test_null_optional_candidate_fields_are_accepted(system: System, tenant: Tenant) -> None:
    body = send_test_body(tenant.test.id, phone_number=None)
    body["candidate"]["preferred_name"] = None
    body["candidate"]["resume_url"] = None
    body["sent_by"] = None
    reply = await send_test(system, tenant.key, body)
    assert reply.status == 200


async def test_profile_url_without_application_id_is_accepted(
    system: System, tenant: Tenant
) -> None:
    body = send_test_body(tenant.test.id)
    body["candidate"]["greenhouse_profile_url"] = "https://app.greenhouse.io/people/17681532"
    reply = await send_test(system, tenant.key, body)
    assert reply.status == 200


async def test_unknown_key_is_401_even_when_the_callback_url_is_not_allowed(
    system: System, tenant: Tenant
) -> None:
    body = {**send_test_body(tenant.test.id), "url": "https://evil.example.com/x"}
    reply = await send_test(system, "agh_not-a-real-key", body)
    assert reply.status == 401
