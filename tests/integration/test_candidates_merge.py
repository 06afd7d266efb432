"""merge_candidate reaches the candidates service as MergeCandidates: our records follow
Greenhouse's surviving candidate id, and our candidate ids held by the assessments
service keep answering."""

from __future__ import annotations

import uuid

import grpc
import pytest
from support.inprocess import System
from support.sql import dump_text

from alooba.candidates.v1 import candidates_pb2 as pb


def org() -> str:
    return uuid.uuid4().hex


def gh_id() -> int:
    return uuid.uuid4().int % 10**12 + 1


async def register(
    system: System, organization_id: str, greenhouse: int, application: int, name: str
) -> str:
    response = await system.candidates.RegisterApplication(
        pb.RegisterApplicationRequest(
            organization_id=organization_id,
            greenhouse_candidate_id=greenhouse,
            greenhouse_application_id=application,
            contact=pb.ContactDetails(
                first_name=name,
                last_name=f"{name}-family",
                email=f"{name}@example.org",
                phone_number=f"{name}-phone",
            ),
            resume_url=f"https://files.example.org/{name}.pdf",
            profile_url=f"https://app.greenhouse.io/people/{greenhouse}?application_id={application}",
        )
    )
    return response.candidate_id


async def merge(
    system: System,
    organization_id: str,
    surviving: int,
    merged: list[int],
    event_id: str | None = None,
) -> pb.MergeCandidatesResponse:
    response: pb.MergeCandidatesResponse = await system.candidates.MergeCandidates(
        pb.MergeCandidatesRequest(
            organization_id=organization_id,
            event_id=event_id or uuid.uuid4().hex,
            surviving_greenhouse_candidate_id=surviving,
            merged_greenhouse_candidate_ids=merged,
        )
    )
    return response


async def get(system: System, organization_id: str, candidate_id: str) -> pb.Candidate:
    response = await system.candidates.GetCandidate(
        pb.GetCandidateRequest(organization_id=organization_id, candidate_id=candidate_id)
    )
    return response.candidate


async def find(system: System, organization_id: str, greenhouse: int) -> pb.Candidate:
    response = await system.candidates.FindCandidate(
        pb.FindCandidateRequest(organization_id=organization_id, greenhouse_candidate_id=greenhouse)
    )
    return response.candidate


async def record(system: System, organization_id: str, candidate_id: str, value: str) -> str:
    response = await system.candidates.RecordAssessmentData(
        pb.RecordAssessmentDataRequest(
            organization_id=organization_id,
            candidate_id=candidate_id,
            invitation_id="inv-1",
            kind="answer",
            value=value,
            idempotency_key=uuid.uuid4().hex,
        )
    )
    return response.id


async def test_a_lone_merged_candidate_takes_the_surviving_id(system: System) -> None:
    organization, surviving, merged = org(), gh_id(), gh_id()
    candidate_id = await register(system, organization, merged, 1, uuid.uuid4().hex)

    response = await merge(system, organization, surviving, [merged])

    assert response.outcome == pb.EVENT_OUTCOME_APPLIED
    assert (response.candidate_id, response.merged) == (candidate_id, 1)
    found = await find(system, organization, surviving)
    assert (found.id, found.greenhouse_candidate_id) == (candidate_id, surviving)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await find(system, organization, merged)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    # Status webhooks for the surviving id now reach this record.
    hired = await system.candidates.ApplyStatusEvent(
        pb.ApplyStatusEventRequest(
            organization_id=organization,
            event_id=uuid.uuid4().hex,
            action=pb.STATUS_ACTION_HIRE,
            greenhouse_candidate_id=surviving,
            greenhouse_application_id=1,
        )
    )
    assert (hired.outcome, hired.candidate_id) == (pb.EVENT_OUTCOME_APPLIED, candidate_id)


async def test_a_merged_candidate_folds_into_the_surviving_one(system: System) -> None:
    organization, surviving, merged = org(), gh_id(), gh_id()
    keeper, leaver = f"keeper{uuid.uuid4().hex}", f"leaver{uuid.uuid4().hex}"
    survivor_id = await register(system, organization, surviving, 1, keeper)
    merged_id = await register(system, organization, merged, 2, leaver)
    datum_id = await record(system, organization, merged_id, f"answer of {leaver}")
    await system.candidates.ApplyStatusEvent(
        pb.ApplyStatusEventRequest(
            organization_id=organization,
            event_id=uuid.uuid4().hex,
            action=pb.STATUS_ACTION_REJECT,
            greenhouse_candidate_id=merged,
            greenhouse_application_id=2,
        )
    )

    response = await merge(system, organization, surviving, [merged])

    assert response.outcome == pb.EVENT_OUTCOME_APPLIED
    assert (response.candidate_id, response.merged) == (survivor_id, 1)
    # The assessments service still holds the merged id: it answers with the survivor.
    via_merged = await get(system, organization, merged_id)
    assert via_merged.id == survivor_id
    assert via_merged.greenhouse_candidate_id == surviving
    assert via_merged.contact.first_name == keeper
    assert [a.greenhouse_application_id for a in via_merged.applications] == [1, 2]
    assert [a.status for a in via_merged.applications] == [
        pb.HIRING_STATUS_ACTIVE,
        pb.HIRING_STATUS_REJECTED,
    ]
    assert [d.id for d in via_merged.assessment_data] == [datum_id]
    assert via_merged == await get(system, organization, survivor_id)
    assert (await find(system, organization, merged)).id == survivor_id
    # No PII stays on the merged record: its contact details are gone.
    stored = await dump_text(system.databases["candidates"])
    assert [
        value
        for value in (leaver, f"{leaver}-family", f"{leaver}@example.org", f"{leaver}-phone")
        if f"\n{value}\n" in f"\n{stored}\n"
    ] == []
    # Data recorded later under the merged id lands on the survivor.
    later = await record(system, organization, merged_id, "later answer")
    assert later in [d.id for d in (await get(system, organization, survivor_id)).assessment_data]


async def test_erasing_the_survivor_erases_what_was_merged_into_it(system: System) -> None:
    organization, surviving, merged = org(), gh_id(), gh_id()
    leaver = f"leaver{uuid.uuid4().hex}"
    await register(system, organization, surviving, 1, f"keeper{uuid.uuid4().hex}")
    merged_id = await register(system, organization, merged, 2, leaver)
    await record(system, organization, merged_id, f"answer of {leaver}")
    await merge(system, organization, surviving, [merged])

    erased = await system.candidates.EraseCandidate(
        pb.EraseCandidateRequest(
            organization_id=organization,
            event_id=uuid.uuid4().hex,
            greenhouse_candidate_id=surviving,
            reason="candidate_anonymized",
        )
    )

    assert (erased.receipt.applications, erased.receipt.assessment_data_items) == (2, 1)
    assert leaver not in await dump_text(system.databases["candidates"])


async def test_the_same_merge_event_again_is_a_duplicate(system: System) -> None:
    organization, surviving, merged = org(), gh_id(), gh_id()
    candidate_id = await register(system, organization, merged, 1, uuid.uuid4().hex)
    await merge(system, organization, surviving, [merged], event_id="merge-1")

    again = await merge(system, organization, surviving, [merged], event_id="merge-1")

    assert again.outcome == pb.EVENT_OUTCOME_DUPLICATE
    assert (again.candidate_id, again.merged) == (candidate_id, 1)


async def test_a_merge_of_candidates_we_do_not_have_changes_nothing(system: System) -> None:
    organization, surviving = org(), gh_id()
    survivor_id = await register(system, organization, surviving, 1, uuid.uuid4().hex)

    unknown = await merge(system, organization, gh_id(), [gh_id()])
    only_survivor = await merge(system, organization, surviving, [gh_id()])

    assert (unknown.outcome, unknown.candidate_id) == (pb.EVENT_OUTCOME_UNKNOWN_CANDIDATE, "")
    assert only_survivor.outcome == pb.EVENT_OUTCOME_UNKNOWN_CANDIDATE
    assert (only_survivor.candidate_id, only_survivor.merged) == (survivor_id, 0)


async def test_another_organization_cannot_merge_a_candidate(system: System) -> None:
    organization, surviving, merged = org(), gh_id(), gh_id()
    survivor_id = await register(system, organization, surviving, 1, uuid.uuid4().hex)
    merged_id = await register(system, organization, merged, 2, uuid.uuid4().hex)

    response = await merge(system, org(), surviving, [merged])

    assert (response.outcome, response.candidate_id) == (pb.EVENT_OUTCOME_UNKNOWN_CANDIDATE, "")
    assert (await get(system, organization, merged_id)).id == merged_id
    assert (await get(system, organization, survivor_id)).id == survivor_id


@pytest.mark.parametrize(
    "changes",
    [
        {"event_id": ""},
        {"surviving_greenhouse_candidate_id": 0},
        {"merged_greenhouse_candidate_ids": [0]},
    ],
)
async def test_an_invalid_merge_is_refused(system: System, changes: dict[str, object]) -> None:
    request: dict[str, object] = {
        "organization_id": org(),
        "event_id": "m",
        "surviving_greenhouse_candidate_id": 1,
        "merged_greenhouse_candidate_ids": [2],
        **changes,
    }
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await system.candidates.MergeCandidates(pb.MergeCandidatesRequest(**request))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
