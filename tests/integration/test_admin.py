"""The AdminService: organizations, the test catalog and invitation look-ups."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Awaitable

import grpc
import pytest
from integration.helpers import Tenant, send_test, unique
from support.greenhouse import send_test_body
from support.inprocess import System

from alooba.assessments.v1 import assessments_pb2 as apb


async def status_of_rpc(call: Awaitable[object]) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    code: grpc.StatusCode = raised.value.code()
    return code


# --- organizations -------------------------------------------------------------------


async def test_duplicate_organization_name_is_already_exists(system: System) -> None:
    name = unique("Acme")
    await system.admin.CreateOrganization(apb.CreateOrganizationRequest(name=name))
    code = await status_of_rpc(
        system.admin.CreateOrganization(apb.CreateOrganizationRequest(name=name))
    )
    assert code == grpc.StatusCode.ALREADY_EXISTS


async def test_organization_names_are_case_sensitive(system: System) -> None:
    suffix = uuid.uuid4().hex
    upper = await system.admin.CreateOrganization(
        apb.CreateOrganizationRequest(name=f"Acme {suffix}")
    )
    lower = await system.admin.CreateOrganization(
        apb.CreateOrganizationRequest(name=f"acme {suffix}")
    )
    assert upper.organization.id != lower.organization.id
    assert upper.organization.name == f"Acme {suffix}"
    assert lower.organization.name == f"acme {suffix}"


@pytest.mark.parametrize("padding", [(" ", ""), ("", " "), ("\t", "\n")])
async def test_name_with_surrounding_spaces_is_invalid_argument(
    system: System, padding: tuple[str, str]
) -> None:
    before, after = padding
    name = f"{before}{unique('Acme')}{after}"
    code = await status_of_rpc(
        system.admin.CreateOrganization(apb.CreateOrganizationRequest(name=name))
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("name", ["", "   "])
async def test_empty_organization_name_is_invalid_argument(system: System, name: str) -> None:
    code = await status_of_rpc(
        system.admin.CreateOrganization(apb.CreateOrganizationRequest(name=name))
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT


async def test_get_organization_by_name_and_by_id(system: System) -> None:
    name = unique("Acme")
    created = (
        await system.admin.CreateOrganization(apb.CreateOrganizationRequest(name=name))
    ).organization
    by_name = await system.admin.GetOrganization(apb.GetOrganizationRequest(name=name))
    by_id = await system.admin.GetOrganization(apb.GetOrganizationRequest(id=created.id))
    assert by_name.organization == created
    assert by_id.organization == created


async def test_get_organization_by_another_case_of_its_name_is_not_found(
    system: System,
) -> None:
    name = unique("Acme")
    await system.admin.CreateOrganization(apb.CreateOrganizationRequest(name=name))
    code = await status_of_rpc(
        system.admin.GetOrganization(apb.GetOrganizationRequest(name=name.upper()))
    )
    assert code == grpc.StatusCode.NOT_FOUND


# --- test catalog ----------------------------------------------------------------------


async def test_create_test_stores_its_fields(system: System, tenant: Tenant) -> None:
    test = await system.create_test(
        tenant.organization.id,
        "SQL Analyst",
        skills=["SQL", "Statistics"],
        needs_manual_evaluation=True,
        expiry_days=14,
    )
    assert (test.name, list(test.skills), test.needs_manual_evaluation, test.expiry_days) == (
        "SQL Analyst",
        ["SQL", "Statistics"],
        True,
        14,
    )
    assert not test.archived


async def test_create_test_without_expiry_days_uses_the_default(
    system: System, tenant: Tenant
) -> None:
    assert tenant.test.expiry_days == 7


@pytest.mark.parametrize("name", ["", "   "])
async def test_create_test_with_an_empty_name_is_invalid_argument(
    system: System, tenant: Tenant, name: str
) -> None:
    code = await status_of_rpc(
        system.admin.CreateTest(
            apb.CreateTestRequest(organization_id=tenant.organization.id, name=name)
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("expiry_days", [-1, 366, 10_000])
async def test_create_test_with_expiry_days_out_of_range_is_invalid_argument(
    system: System, tenant: Tenant, expiry_days: int
) -> None:
    code = await status_of_rpc(
        system.admin.CreateTest(
            apb.CreateTestRequest(
                organization_id=tenant.organization.id, name="T", expiry_days=expiry_days
            )
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("expiry_days", [1, 365])
async def test_create_test_accepts_expiry_days_at_the_bounds(
    system: System, tenant: Tenant, expiry_days: int
) -> None:
    test = await system.create_test(tenant.organization.id, "T", expiry_days=expiry_days)
    assert test.expiry_days == expiry_days


async def test_create_test_with_duplicate_skills_is_invalid_argument(
    system: System, tenant: Tenant
) -> None:
    code = await status_of_rpc(
        system.admin.CreateTest(
            apb.CreateTestRequest(
                organization_id=tenant.organization.id, name="T", skills=["SQL", "Python", "SQL"]
            )
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT


async def test_create_test_for_an_unknown_organization_is_not_found(system: System) -> None:
    code = await status_of_rpc(
        system.admin.CreateTest(apb.CreateTestRequest(organization_id="0" * 32, name="T"))
    )
    assert code == grpc.StatusCode.NOT_FOUND


async def test_update_test_changes_only_the_fields_that_are_set(
    system: System, tenant: Tenant
) -> None:
    original = await system.create_test(
        tenant.organization.id,
        "Original",
        skills=["SQL"],
        needs_manual_evaluation=True,
        expiry_days=10,
    )
    renamed = (
        await system.admin.UpdateTest(
            apb.UpdateTestRequest(
                organization_id=tenant.organization.id, test_id=original.id, name="Renamed"
            )
        )
    ).test
    assert (renamed.name, list(renamed.skills), renamed.needs_manual_evaluation) == (
        "Renamed",
        ["SQL"],
        True,
    )
    assert renamed.expiry_days == 10

    reconfigured = (
        await system.admin.UpdateTest(
            apb.UpdateTestRequest(
                organization_id=tenant.organization.id,
                test_id=original.id,
                skills=apb.SkillList(skills=[]),
                needs_manual_evaluation=False,
                expiry_days=30,
            )
        )
    ).test
    assert reconfigured.name == "Renamed"
    assert list(reconfigured.skills) == []
    assert reconfigured.needs_manual_evaluation is False
    assert reconfigured.expiry_days == 30


async def test_update_test_of_another_organization_is_not_found(
    system: System, tenant: Tenant
) -> None:
    other, _ = await system.organization_with_key(unique("Other"))
    code = await status_of_rpc(
        system.admin.UpdateTest(
            apb.UpdateTestRequest(organization_id=other.id, test_id=tenant.test.id, name="Stolen")
        )
    )
    assert code == grpc.StatusCode.NOT_FOUND


async def test_archived_tests_are_listed_only_on_request(system: System, tenant: Tenant) -> None:
    await system.admin.ArchiveTest(
        apb.ArchiveTestRequest(organization_id=tenant.organization.id, test_id=tenant.test.id)
    )
    active = await system.admin.ListOrganizationTests(
        apb.ListOrganizationTestsRequest(organization_id=tenant.organization.id)
    )
    everything = await system.admin.ListOrganizationTests(
        apb.ListOrganizationTestsRequest(
            organization_id=tenant.organization.id, include_archived=True
        )
    )
    assert list(active.tests) == []
    assert [(test.id, test.archived) for test in everything.tests] == [(tenant.test.id, True)]


# --- invitations -----------------------------------------------------------------------


async def test_list_invitations_pages_newest_first_without_duplicates(
    system: System, tenant: Tenant
) -> None:
    sent: list[str] = []
    for _ in range(5):
        reply = await send_test(system, tenant.key, send_test_body(tenant.test.id))
        sent.append(reply.body["partner_interview_id"])

    pages: list[list[str]] = []
    token = ""
    while True:
        page = await system.admin.ListInvitations(
            apb.ListInvitationsRequest(
                organization_id=tenant.organization.id, page_size=2, page_token=token
            )
        )
        pages.append([invitation.id for invitation in page.invitations])
        token = page.next_page_token
        if not token:
            break
        assert len(pages) < 10, "pagination does not end"

    assert [len(page) for page in pages] == [2, 2, 1]
    listed = [invitation_id for page in pages for invitation_id in page]
    assert listed == list(reversed(sent))


async def test_list_invitations_with_a_malformed_page_token_is_invalid_argument(
    system: System, tenant: Tenant
) -> None:
    code = await status_of_rpc(
        system.admin.ListInvitations(
            apb.ListInvitationsRequest(
                organization_id=tenant.organization.id, page_token="!!!not-a-token"
            )
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT


async def test_list_invitations_with_a_page_token_lacking_a_time_zone_is_invalid_argument(
    system: System, tenant: Tenant
) -> None:
    token = base64.urlsafe_b64encode(b"2026-01-01T00:00:00|abc").decode()
    code = await status_of_rpc(
        system.admin.ListInvitations(
            apb.ListInvitationsRequest(organization_id=tenant.organization.id, page_token=token)
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT


async def test_list_invitations_of_an_unknown_organization_is_not_found(system: System) -> None:
    code = await status_of_rpc(
        system.admin.ListInvitations(apb.ListInvitationsRequest(organization_id="0" * 32))
    )
    assert code == grpc.StatusCode.NOT_FOUND
