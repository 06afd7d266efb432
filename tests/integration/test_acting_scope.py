"""The services scope every call the console makes for a person to that person's
organization: another organization's ids are NOT_FOUND, as unknown ones are; keys, tests
and Harvest need an Owner or Admin; the platform's own calls are not the console's."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest
import structlog
from integration.helpers import Tenant, new_tenant
from integration.lifecycle_helpers import callbacks, invitation, invite, rpc_error, timestamp
from support.inprocess import System, running_system

from alooba.assessments.v1 import assessments_pb2 as apb
from alooba.harvest_sync.v1 import harvest_sync_pb2 as hpb
from alooba_common.acting import ActingUser, acting_metadata


@pytest.fixture
async def system(shared_databases: dict[str, str]) -> AsyncIterator[System]:
    with structlog.testing.capture_logs():
        async with running_system(shared_databases, **callbacks()) as running:
            yield running


def as_person(tenant: Tenant, role: str = "admin") -> tuple[tuple[str, str], ...]:
    return acting_metadata(
        ActingUser(
            user_id="u" + uuid.uuid4().hex[:8], organization_id=tenant.organization.id, role=role
        )
    )


async def test_acting_in_one_organization_reads_nothing_of_another(system: System) -> None:
    mine, theirs = await new_tenant(system), await new_tenant(system)
    their_invitation = await invite(system, theirs)
    me = as_person(mine)
    other = theirs.organization.id
    calls = [
        system.admin.ListApiKeys(apb.ListApiKeysRequest(organization_id=other), metadata=me),
        system.admin.GetOrganization(apb.GetOrganizationRequest(id=other), metadata=me),
        system.admin.GetOrganization(
            apb.GetOrganizationRequest(name=theirs.organization.name), metadata=me
        ),
        system.admin.ListOrganizationTests(
            apb.ListOrganizationTestsRequest(organization_id=other), metadata=me
        ),
        system.admin.ListInvitations(
            apb.ListInvitationsRequest(organization_id=other), metadata=me
        ),
        system.admin.GetInvitation(
            apb.GetInvitationRequest(organization_id=other, invitation_id=their_invitation),
            metadata=me,
        ),
        system.admin.GetIntegrationHealth(
            apb.GetIntegrationHealthRequest(organization_id=other), metadata=me
        ),
        system.admin.CheckSetup(apb.CheckSetupRequest(organization_id=other), metadata=me),
        system.admin.IssueApiKey(apb.IssueApiKeyRequest(organization_id=other), metadata=me),
        system.harvest.GetStatus(hpb.GetStatusRequest(organization_id=other), metadata=me),
        system.harvest.Disconnect(hpb.DisconnectRequest(organization_id=other), metadata=me),
    ]
    for call in calls:
        assert (await rpc_error(call)).code() == grpc.StatusCode.NOT_FOUND
    listed = await system.admin.ListOrganizations(apb.ListOrganizationsRequest(), metadata=me)
    assert [o.id for o in listed.organizations] == [mine.organization.id]


async def test_acting_in_one_organization_changes_nothing_of_another(system: System) -> None:
    mine, theirs = await new_tenant(system), await new_tenant(system)
    their_invitation = await invite(system, theirs)
    before = await invitation(system, theirs, their_invitation)
    me = as_person(mine)
    extend = apb.ExtendDeadlineRequest(
        idempotency_key=uuid.uuid4().hex, invitation_id=their_invitation
    )
    extend.expire_time.CopyFrom(timestamp(dt.datetime.now(dt.UTC) + dt.timedelta(days=30)))
    calls = [
        system.platform.ExtendDeadline(extend, metadata=me),
        system.platform.CancelInvitation(
            apb.CancelInvitationRequest(
                idempotency_key=uuid.uuid4().hex, invitation_id=their_invitation
            ),
            metadata=me,
        ),
        system.platform.ResendInvitation(
            apb.ResendInvitationRequest(
                idempotency_key=uuid.uuid4().hex, invitation_id=their_invitation
            ),
            metadata=me,
        ),
    ]
    for call in calls:
        assert (await rpc_error(call)).code() == grpc.StatusCode.NOT_FOUND
    after = await invitation(system, theirs, their_invitation)
    assert after.status == before.status
    assert after.expire_time == before.expire_time
    assert [e.kind for e in after.events] == [e.kind for e in before.events]


async def test_a_member_may_not_touch_keys_tests_or_harvest(system: System) -> None:
    tenant = await new_tenant(system)
    member = as_person(tenant, "member")
    org = tenant.organization.id
    calls = [
        system.admin.ListApiKeys(apb.ListApiKeysRequest(organization_id=org), metadata=member),
        system.admin.RotateApiKey(apb.RotateApiKeyRequest(organization_id=org), metadata=member),
        system.admin.CreateTest(
            apb.CreateTestRequest(organization_id=org, name="x"), metadata=member
        ),
        system.harvest.GetStatus(hpb.GetStatusRequest(organization_id=org), metadata=member),
    ]
    for call in calls:
        assert (await rpc_error(call)).code() == grpc.StatusCode.PERMISSION_DENIED
    tests = await system.admin.ListOrganizationTests(
        apb.ListOrganizationTestsRequest(organization_id=org), metadata=member
    )
    assert [t.id for t in tests.tests] == [tenant.test.id]


async def test_the_console_cannot_make_the_platforms_or_operators_calls(system: System) -> None:
    tenant = await new_tenant(system)
    interview = await invite(system, tenant)
    owner = as_person(tenant, "owner")
    calls = [
        system.admin.CreateOrganization(
            apb.CreateOrganizationRequest(name=f"Org {uuid.uuid4().hex}"), metadata=owner
        ),
        system.platform.StartAssessment(
            apb.StartAssessmentRequest(idempotency_key=uuid.uuid4().hex, invitation_id=interview),
            metadata=owner,
        ),
        system.harvest.QueueScores(
            hpb.QueueScoresRequest(organization_id=tenant.organization.id), metadata=owner
        ),
    ]
    for call in calls:
        assert (await rpc_error(call)).code() == grpc.StatusCode.PERMISSION_DENIED
