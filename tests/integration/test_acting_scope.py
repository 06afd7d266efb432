"""The services scope every call the console makes for a person to that person's
organization: another organization's ids are NOT_FOUND, as unknown ones are; keys, tests
and Harvest need an Owner or Admin; the platform's own calls are not the console's. Every
call here is made over mutual TLS as the console identity, as the console makes it."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import grpc
import pytest
import structlog
from integration.helpers import Tenant, new_tenant
from integration.lifecycle_helpers import callbacks, invitation, invite, rpc_error, timestamp
from support.inprocess import System, running_system
from support.tls import Channels

from alooba.assessments.v1 import assessments_pb2 as apb
from alooba.assessments.v1 import assessments_pb2_grpc as agrpc
from alooba.harvest_sync.v1 import harvest_sync_pb2 as hpb
from alooba.harvest_sync.v1 import harvest_sync_pb2_grpc as hgrpc
from alooba_common.acting import ActingUser, acting_metadata
from alooba_common.tls import Identity


@pytest.fixture
async def system(shared_databases: dict[str, str]) -> AsyncIterator[System]:
    with structlog.testing.capture_logs():
        async with running_system(shared_databases, **callbacks()) as running:
            yield running


@dataclass(frozen=True)
class Console:
    """The services as the console reaches them: over mutual TLS, as `console`."""

    admin: agrpc.AdminServiceStub
    platform: agrpc.PlatformServiceStub
    harvest: hgrpc.HarvestSyncServiceStub


@pytest.fixture
async def console(system: System) -> AsyncIterator[Console]:
    channels = Channels()
    assessments = channels.get(system.addresses["assessments"], Identity.CONSOLE)
    harvest = channels.get(system.addresses["harvest-sync"], Identity.CONSOLE)
    yield Console(
        agrpc.AdminServiceStub(assessments),
        agrpc.PlatformServiceStub(assessments),
        hgrpc.HarvestSyncServiceStub(harvest),
    )
    await channels.close()


def as_person(tenant: Tenant, role: str = "admin") -> tuple[tuple[str, str], ...]:
    return acting_metadata(
        ActingUser(
            user_id="u" + uuid.uuid4().hex[:8], organization_id=tenant.organization.id, role=role
        )
    )


async def test_acting_in_one_organization_reads_nothing_of_another(
    system: System, console: Console
) -> None:
    mine, theirs = await new_tenant(system), await new_tenant(system)
    their_invitation = await invite(system, theirs)
    me = as_person(mine)
    other = theirs.organization.id
    calls = [
        console.admin.ListApiKeys(apb.ListApiKeysRequest(organization_id=other), metadata=me),
        console.admin.GetOrganization(apb.GetOrganizationRequest(id=other), metadata=me),
        console.admin.GetOrganization(
            apb.GetOrganizationRequest(name=theirs.organization.name), metadata=me
        ),
        console.admin.ListOrganizationTests(
            apb.ListOrganizationTestsRequest(organization_id=other), metadata=me
        ),
        console.admin.ListInvitations(
            apb.ListInvitationsRequest(organization_id=other), metadata=me
        ),
        console.admin.GetInvitation(
            apb.GetInvitationRequest(organization_id=other, invitation_id=their_invitation),
            metadata=me,
        ),
        console.admin.GetIntegrationHealth(
            apb.GetIntegrationHealthRequest(organization_id=other), metadata=me
        ),
        console.admin.CheckSetup(apb.CheckSetupRequest(organization_id=other), metadata=me),
        console.admin.IssueApiKey(apb.IssueApiKeyRequest(organization_id=other), metadata=me),
        console.harvest.GetStatus(hpb.GetStatusRequest(organization_id=other), metadata=me),
        console.harvest.Disconnect(hpb.DisconnectRequest(organization_id=other), metadata=me),
    ]
    for call in calls:
        assert (await rpc_error(call)).code() == grpc.StatusCode.NOT_FOUND


async def test_acting_in_one_organization_changes_nothing_of_another(
    system: System, console: Console
) -> None:
    mine, theirs = await new_tenant(system), await new_tenant(system)
    their_invitation = await invite(system, theirs)
    before = await invitation(system, theirs, their_invitation)
    me = as_person(mine)
    extend = apb.ExtendDeadlineRequest(
        idempotency_key=uuid.uuid4().hex, invitation_id=their_invitation
    )
    extend.expire_time.CopyFrom(timestamp(dt.datetime.now(dt.UTC) + dt.timedelta(days=30)))
    calls = [
        console.platform.ExtendDeadline(extend, metadata=me),
        console.platform.CancelInvitation(
            apb.CancelInvitationRequest(
                idempotency_key=uuid.uuid4().hex, invitation_id=their_invitation
            ),
            metadata=me,
        ),
        console.platform.ResendInvitation(
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


async def test_a_member_may_not_touch_keys_tests_or_harvest(
    system: System, console: Console
) -> None:
    tenant = await new_tenant(system)
    member = as_person(tenant, "member")
    org = tenant.organization.id
    calls = [
        console.admin.ListApiKeys(apb.ListApiKeysRequest(organization_id=org), metadata=member),
        console.admin.RotateApiKey(apb.RotateApiKeyRequest(organization_id=org), metadata=member),
        console.admin.CreateTest(
            apb.CreateTestRequest(organization_id=org, name="x"), metadata=member
        ),
        console.harvest.GetStatus(hpb.GetStatusRequest(organization_id=org), metadata=member),
    ]
    for call in calls:
        assert (await rpc_error(call)).code() == grpc.StatusCode.PERMISSION_DENIED
    tests = await console.admin.ListOrganizationTests(
        apb.ListOrganizationTestsRequest(organization_id=org), metadata=member
    )
    assert [t.id for t in tests.tests] == [tenant.test.id]


async def test_the_console_cannot_make_the_platforms_or_operators_calls(
    system: System, console: Console
) -> None:
    tenant = await new_tenant(system)
    interview = await invite(system, tenant)
    owner = as_person(tenant, "owner")
    calls = [
        console.admin.ListOrganizations(apb.ListOrganizationsRequest(), metadata=owner),
        console.admin.CreateOrganization(
            apb.CreateOrganizationRequest(name=f"Org {uuid.uuid4().hex}"), metadata=owner
        ),
        console.platform.StartAssessment(
            apb.StartAssessmentRequest(idempotency_key=uuid.uuid4().hex, invitation_id=interview),
            metadata=owner,
        ),
        console.harvest.QueueScores(
            hpb.QueueScoresRequest(organization_id=tenant.organization.id), metadata=owner
        ),
    ]
    for call in calls:
        assert (await rpc_error(call)).code() == grpc.StatusCode.PERMISSION_DENIED


async def test_only_the_console_may_say_whom_it_acts_for(system: System, console: Console) -> None:
    tenant = await new_tenant(system)
    org = tenant.organization.id
    # The operator's certificate with a person's metadata, and the console without any.
    calls = [
        system.admin.ListApiKeys(
            apb.ListApiKeysRequest(organization_id=org), metadata=as_person(tenant, "owner")
        ),
        console.admin.ListApiKeys(apb.ListApiKeysRequest(organization_id=org)),
    ]
    for call in calls:
        assert (await rpc_error(call)).code() == grpc.StatusCode.PERMISSION_DENIED
