"""Finding 4i: the candidates service validates what it is given itself (lengths,
identifiers), whoever calls it: a 1,000,000-character first_name was once stored."""

from __future__ import annotations

import uuid

import grpc
import pytest
from support.inprocess import System

from alooba.candidates.v1 import candidates_pb2 as pb

LIMITS = {
    "first_name": 200,
    "last_name": 200,
    "preferred_name": 200,
    "phone_number": 64,
    "resume_url": 2048,
    "profile_url": 2048,
    "sent_by": 320,
}
CONTACT_FIELDS = ("first_name", "last_name", "preferred_name", "email", "phone_number")


def _register(
    organization_id: str, greenhouse_id: int, **values: str
) -> pb.RegisterApplicationRequest:
    contact = {"first_name": "Harry", "last_name": "Potter", "email": "hpotter@hogwarts.edu"}
    contact.update({key: value for key, value in values.items() if key in CONTACT_FIELDS})
    request = {"profile_url": f"https://app.greenhouse.io/people/{greenhouse_id}"}
    request.update({key: value for key, value in values.items() if key not in CONTACT_FIELDS})
    return pb.RegisterApplicationRequest(
        organization_id=organization_id,
        greenhouse_candidate_id=greenhouse_id,
        contact=pb.ContactDetails(**contact),
        **request,
    )


async def _refused(call: object) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call  # type: ignore[misc]
    return refused.value


async def _nothing_stored(system: System, organization_id: str, greenhouse_id: int) -> bool:
    error = await _refused(
        system.candidates.FindCandidate(
            pb.FindCandidateRequest(
                organization_id=organization_id, greenhouse_candidate_id=greenhouse_id
            )
        )
    )
    return error.code() == grpc.StatusCode.NOT_FOUND


async def test_a_million_character_first_name_is_refused_and_not_stored(system: System) -> None:
    organization_id, greenhouse_id = uuid.uuid4().hex, 4_100_001

    error = await _refused(
        system.candidates.RegisterApplication(
            _register(organization_id, greenhouse_id, first_name="H" * 1_000_000)
        )
    )

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "first_name" in (error.details() or "")
    assert await _nothing_stored(system, organization_id, greenhouse_id)


@pytest.mark.parametrize(("field", "limit"), sorted(LIMITS.items()))
async def test_every_field_longer_than_its_column_is_refused_naming_it(
    system: System, field: str, limit: int
) -> None:
    organization_id, greenhouse_id = uuid.uuid4().hex, 4_100_002
    value = "x" * (limit + 1)

    error = await _refused(
        system.candidates.RegisterApplication(
            _register(organization_id, greenhouse_id, **{field: value})
        )
    )

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in (error.details() or "")
    assert await _nothing_stored(system, organization_id, greenhouse_id)


async def test_an_email_longer_than_320_characters_is_refused(system: System) -> None:
    organization_id, greenhouse_id = uuid.uuid4().hex, 4_100_003
    email = "h" * 64 + "@" + ".".join(["a" * 60] * 5) + ".edu"

    error = await _refused(
        system.candidates.RegisterApplication(
            _register(organization_id, greenhouse_id, email=email)
        )
    )

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "email" in (error.details() or "")


@pytest.mark.parametrize("organization_id", ["org-1", "0" * 31 + "G", "../" + "0" * 29, " " * 32])
async def test_an_organization_id_that_is_not_one_of_ours_is_refused(
    system: System, organization_id: str
) -> None:
    error = await _refused(
        system.candidates.RegisterApplication(_register(organization_id, 4_100_004))
    )

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "organization_id" in (error.details() or "")


@pytest.mark.parametrize("candidate_id", ["x" * 10_000, "abc", "0" * 31 + "\n"])
async def test_a_candidate_id_that_is_not_one_of_ours_is_refused(
    system: System, candidate_id: str
) -> None:
    error = await _refused(
        system.candidates.GetCandidate(
            pb.GetCandidateRequest(organization_id=uuid.uuid4().hex, candidate_id=candidate_id)
        )
    )

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "candidate_id" in (error.details() or "")


async def test_assessment_data_with_an_over_long_or_malformed_invitation_id_is_refused(
    system: System,
) -> None:
    organization_id = uuid.uuid4().hex
    registered = await system.candidates.RegisterApplication(_register(organization_id, 4_100_005))

    error = await _refused(
        system.candidates.RecordAssessmentData(
            pb.RecordAssessmentDataRequest(
                organization_id=organization_id,
                candidate_id=registered.candidate_id,
                invitation_id="inv\x1b[2J",
                kind="answer",
                value="42",
                idempotency_key=uuid.uuid4().hex,
            )
        )
    )

    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "invitation_id" in (error.details() or "")
