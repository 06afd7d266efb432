"""RecordAssessmentData: PII the assessment app collects while a candidate takes a test
is kept with the candidate (and nowhere else), idempotently, per organization."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import grpc
import pytest
from support.inprocess import System
from support.sql import count_rows

from alooba.candidates.v1 import candidates_pb2 as pb


def org() -> str:
    return uuid.uuid4().hex


async def register(system: System, organization_id: str) -> str:
    response = await system.candidates.RegisterApplication(
        pb.RegisterApplicationRequest(
            organization_id=organization_id,
            greenhouse_candidate_id=uuid.uuid4().int % 10**12 + 1,
            contact=pb.ContactDetails(first_name="Ada", last_name="Byron", email="a@example.org"),
            profile_url="https://app.greenhouse.io/people/1",
        )
    )
    return response.candidate_id


def datum(
    organization_id: str, candidate_id: str, **changes: Any
) -> pb.RecordAssessmentDataRequest:
    fields: dict[str, Any] = {
        "organization_id": organization_id,
        "candidate_id": candidate_id,
        "invitation_id": "inv-1",
        "kind": "user_agent",
        "value": "Mozilla/5.0",
        "idempotency_key": "key-1",
        **changes,
    }
    return pb.RecordAssessmentDataRequest(**fields)


async def test_recorded_data_comes_back_with_the_candidate(system: System) -> None:
    organization = org()
    candidate_id = await register(system, organization)

    recorded = await system.candidates.RecordAssessmentData(datum(organization, candidate_id))

    found = (
        await system.candidates.GetCandidate(
            pb.GetCandidateRequest(organization_id=organization, candidate_id=candidate_id)
        )
    ).candidate
    (item,) = found.assessment_data
    assert (item.id, item.invitation_id, item.kind, item.value) == (
        recorded.id,
        "inv-1",
        "user_agent",
        "Mozilla/5.0",
    )
    assert item.HasField("create_time")


async def test_the_same_key_again_stores_nothing_new(system: System) -> None:
    organization = org()
    candidate_id = await register(system, organization)
    before = await count_rows(system.databases["candidates"], "assessment_datum")

    first = await system.candidates.RecordAssessmentData(datum(organization, candidate_id))
    again = await system.candidates.RecordAssessmentData(datum(organization, candidate_id))

    assert again.id == first.id
    assert await count_rows(system.databases["candidates"], "assessment_datum") == before + 1


async def test_concurrent_retries_with_the_same_key_store_one_datum(system: System) -> None:
    organization = org()
    candidate_id = await register(system, organization)
    before = await count_rows(system.databases["candidates"], "assessment_datum")

    responses = await asyncio.gather(
        *(
            system.candidates.RecordAssessmentData(datum(organization, candidate_id))
            for _ in range(10)
        )
    )

    assert len({response.id for response in responses}) == 1
    assert await count_rows(system.databases["candidates"], "assessment_datum") == before + 1


async def test_the_same_key_for_a_different_value_is_refused(system: System) -> None:
    organization = org()
    candidate_id = await register(system, organization)
    await system.candidates.RecordAssessmentData(datum(organization, candidate_id))

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await system.candidates.RecordAssessmentData(
            datum(organization, candidate_id, value="another")
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize(
    "changes",
    [
        {"kind": "email"},
        {"kind": ""},
        {"idempotency_key": ""},
        {"invitation_id": ""},
        {"value": "x" * (64 * 1024 + 1)},
    ],
)
async def test_an_invalid_datum_is_refused(system: System, changes: dict[str, Any]) -> None:
    organization = org()
    candidate_id = await register(system, organization)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await system.candidates.RecordAssessmentData(datum(organization, candidate_id, **changes))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_value_of_exactly_64_kib_is_accepted(system: System) -> None:
    organization = org()
    candidate_id = await register(system, organization)
    await system.candidates.RecordAssessmentData(
        datum(organization, candidate_id, kind="answer", value="x" * (64 * 1024))
    )


async def test_another_organizations_candidate_is_not_found(system: System) -> None:
    candidate_id = await register(system, org())
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await system.candidates.RecordAssessmentData(datum(org(), candidate_id))
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
