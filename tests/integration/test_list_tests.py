"""GET list_tests: the caller organization's active tests, as a bare JSON array."""

from __future__ import annotations

from integration.helpers import Tenant, list_tests, new_tenant
from support.inprocess import System

from alooba.assessments.v1 import assessments_pb2 as apb


async def test_lists_the_organization_active_tests_as_a_bare_array(
    system: System, tenant: Tenant
) -> None:
    second = await system.create_test(tenant.organization.id, "Business Analyst")
    reply = await list_tests(system, tenant.key)
    assert reply.status == 200
    assert reply.content_type == "application/json"
    assert reply.body == [
        {"partner_test_id": second.id, "partner_test_name": "Business Analyst"},
        {"partner_test_id": tenant.test.id, "partner_test_name": "Data Analyst"},
    ]


async def test_each_listed_test_has_exactly_the_two_documented_string_keys(
    system: System, tenant: Tenant
) -> None:
    reply = await list_tests(system, tenant.key)
    assert isinstance(reply.body, list)
    for entry in reply.body:
        assert set(entry) == {"partner_test_id", "partner_test_name"}
        assert all(isinstance(value, str) for value in entry.values())


async def test_archived_tests_are_not_listed(system: System, tenant: Tenant) -> None:
    await system.admin.ArchiveTest(
        apb.ArchiveTestRequest(organization_id=tenant.organization.id, test_id=tenant.test.id)
    )
    reply = await list_tests(system, tenant.key)
    assert reply.status == 200
    assert reply.body == []


async def test_another_organization_tests_are_never_listed(system: System, tenant: Tenant) -> None:
    other = await new_tenant(system, test_name="Other Org Secret Test")
    mine = await list_tests(system, tenant.key)
    theirs = await list_tests(system, other.key)
    assert [entry["partner_test_id"] for entry in mine.body] == [tenant.test.id]
    assert [entry["partner_test_id"] for entry in theirs.body] == [other.test.id]
