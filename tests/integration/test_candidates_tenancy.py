"""Every candidates RPC keeps to the caller's organization: another organization's
candidate is NOT_FOUND (reads, assessment data) or UNKNOWN_CANDIDATE (webhook events),
and nothing of it changes."""

from __future__ import annotations

import uuid

import grpc
import pytest
from support.inprocess import System

from alooba.candidates.v1 import candidates_pb2 as pb

GREENHOUSE_ID = 4242


async def registered(system: System) -> tuple[str, str]:
    organization = uuid.uuid4().hex
    response = await system.candidates.RegisterApplication(
        pb.RegisterApplicationRequest(
            organization_id=organization,
            greenhouse_candidate_id=GREENHOUSE_ID,
            greenhouse_application_id=1,
            contact=pb.ContactDetails(first_name="Ada", last_name="Byron", email="a@example.org"),
            profile_url="https://app.greenhouse.io/people/4242?application_id=1",
        )
    )
    return organization, response.candidate_id


async def unchanged(system: System, organization: str, candidate_id: str) -> None:
    found = (
        await system.candidates.GetCandidate(
            pb.GetCandidateRequest(organization_id=organization, candidate_id=candidate_id)
        )
    ).candidate
    assert (found.id, found.contact.first_name) == (candidate_id, "Ada")
    assert found.status == pb.HIRING_STATUS_ACTIVE
    assert not found.HasField("erase_time")
    assert list(found.assessment_data) == []


async def test_get_candidate_of_another_organization_is_not_found(system: System) -> None:
    _, candidate_id = await registered(system)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await system.candidates.GetCandidate(
            pb.GetCandidateRequest(organization_id=uuid.uuid4().hex, candidate_id=candidate_id)
        )
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


async def test_find_candidate_of_another_organization_is_not_found(system: System) -> None:
    await registered(system)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await system.candidates.FindCandidate(
            pb.FindCandidateRequest(
                organization_id=uuid.uuid4().hex, greenhouse_candidate_id=GREENHOUSE_ID
            )
        )
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


async def test_find_candidate_finds_the_organizations_own(system: System) -> None:
    organization, candidate_id = await registered(system)
    found = await system.candidates.FindCandidate(
        pb.FindCandidateRequest(organization_id=organization, greenhouse_candidate_id=GREENHOUSE_ID)
    )
    assert found.candidate.id == candidate_id


async def test_status_event_of_another_organization_is_an_unknown_candidate(
    system: System,
) -> None:
    organization, candidate_id = await registered(system)
    response = await system.candidates.ApplyStatusEvent(
        pb.ApplyStatusEventRequest(
            organization_id=uuid.uuid4().hex,
            event_id=uuid.uuid4().hex,
            action=pb.STATUS_ACTION_REJECT,
            greenhouse_candidate_id=GREENHOUSE_ID,
            greenhouse_application_id=1,
        )
    )
    assert (response.outcome, response.candidate_id) == (pb.EVENT_OUTCOME_UNKNOWN_CANDIDATE, "")
    await unchanged(system, organization, candidate_id)


async def test_erasure_of_another_organization_is_an_unknown_candidate(system: System) -> None:
    organization, candidate_id = await registered(system)
    response = await system.candidates.EraseCandidate(
        pb.EraseCandidateRequest(
            organization_id=uuid.uuid4().hex,
            event_id=uuid.uuid4().hex,
            greenhouse_candidate_id=GREENHOUSE_ID,
            reason="candidate_anonymized",
        )
    )
    assert (response.outcome, response.candidate_id) == (pb.EVENT_OUTCOME_UNKNOWN_CANDIDATE, "")
    await unchanged(system, organization, candidate_id)


async def test_merge_of_another_organization_is_an_unknown_candidate(system: System) -> None:
    organization, candidate_id = await registered(system)
    response = await system.candidates.MergeCandidates(
        pb.MergeCandidatesRequest(
            organization_id=uuid.uuid4().hex,
            event_id=uuid.uuid4().hex,
            surviving_greenhouse_candidate_id=GREENHOUSE_ID + 1,
            merged_greenhouse_candidate_ids=[GREENHOUSE_ID],
        )
    )
    assert (response.outcome, response.candidate_id) == (pb.EVENT_OUTCOME_UNKNOWN_CANDIDATE, "")
    await unchanged(system, organization, candidate_id)
    found = await system.candidates.FindCandidate(
        pb.FindCandidateRequest(organization_id=organization, greenhouse_candidate_id=GREENHOUSE_ID)
    )
    assert found.candidate.id == candidate_id


async def test_assessment_data_for_another_organizations_candidate_is_not_found(
    system: System,
) -> None:
    organization, candidate_id = await registered(system)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await system.candidates.RecordAssessmentData(
            pb.RecordAssessmentDataRequest(
                organization_id=uuid.uuid4().hex,
                candidate_id=candidate_id,
                invitation_id="inv",
                kind="ip_address",
                value="192.0.2.7",
                idempotency_key=uuid.uuid4().hex,
            )
        )
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    await unchanged(system, organization, candidate_id)


async def test_erasure_receipts_are_listed_only_to_their_organization(system: System) -> None:
    organization, _ = await registered(system)
    await system.candidates.EraseCandidate(
        pb.EraseCandidateRequest(
            organization_id=organization,
            event_id=uuid.uuid4().hex,
            greenhouse_candidate_id=GREENHOUSE_ID,
            reason="delete_candidate",
        )
    )
    own = await system.candidates.ListErasureReceipts(
        pb.ListErasureReceiptsRequest(organization_id=organization)
    )
    other = await system.candidates.ListErasureReceipts(
        pb.ListErasureReceiptsRequest(organization_id=uuid.uuid4().hex)
    )
    assert (len(own.receipts), len(other.receipts)) == (1, 0)


async def test_batch_get_contacts_finds_each_candidate_in_its_own_organization_only(
    system: System,
) -> None:
    organization, candidate_id = await registered(system)
    answer = await system.candidates.BatchGetContacts(
        pb.BatchGetContactsRequest(
            candidates=[
                pb.GetCandidateRequest(organization_id=uuid.uuid4().hex, candidate_id=candidate_id),
                pb.GetCandidateRequest(organization_id=organization, candidate_id=candidate_id),
                pb.GetCandidateRequest(organization_id=organization, candidate_id=uuid.uuid4().hex),
            ]
        )
    )
    other, own, unknown = answer.contacts
    assert not other.found
    assert other.contact.email == ""  # nothing of it leaks to another organization
    assert (own.found, own.candidate_id, own.contact.email) == (True, candidate_id, "a@example.org")
    assert [a.status for a in own.applications] == [pb.HIRING_STATUS_ACTIVE]
    assert not unknown.found
    await unchanged(system, organization, candidate_id)
