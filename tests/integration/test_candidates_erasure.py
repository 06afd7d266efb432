"""candidate_anonymized and delete_candidate reach the candidates service as
EraseCandidate: every piece of the candidate's PII goes, in one transaction, and a
receipt without PII stays."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from dataclasses import dataclass

import grpc
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from support.inprocess import System
from support.sql import dump_text
from support.tls import channel

from alooba.candidates.v1 import candidates_pb2 as pb
from alooba_common.db import async_url, utcnow
from alooba_common.outbox import OutboxMessage, PermanentFailure, RetryLater
from alooba_common.tls import Identity
from candidates.app import cancellation_requests
from candidates.outbound import cancellations
from candidates.store.models import OUTBOX


@dataclass(frozen=True)
class Registered:
    organization_id: str
    greenhouse_candidate_id: int
    candidate_id: str
    # Every PII value stored for this candidate, each unique to it.
    pii: list[str]


def org() -> str:
    return uuid.uuid4().hex


def gh_id() -> int:
    return uuid.uuid4().int % 10**12 + 1


async def register(system: System, organization_id: str, applications: int = 2) -> Registered:
    """A candidate with `applications` applications and one datum of every kind."""
    marker = uuid.uuid4().hex
    greenhouse = gh_id()
    contact = pb.ContactDetails(
        first_name=f"Given{marker}",
        last_name=f"Family{marker}",
        preferred_name=f"Preferred{marker}",
        email=f"person.{marker}@example.org",
        phone_number=f"+44 7700 {marker[:6]}",
    )
    pii = [
        contact.first_name,
        contact.last_name,
        contact.preferred_name,
        contact.email,
        contact.phone_number,
    ]
    candidate_id = ""
    for number in range(1, applications + 1):
        resume = f"https://files.example.org/{marker}/resume-{number}.pdf"
        profile = f"https://app.greenhouse.io/people/{greenhouse}?application_id={marker}{number}"
        sent_by = f"recruiter.{marker}.{number}@example.org"
        response = await system.candidates.RegisterApplication(
            pb.RegisterApplicationRequest(
                organization_id=organization_id,
                greenhouse_candidate_id=greenhouse,
                greenhouse_application_id=number,
                contact=contact,
                resume_url=resume,
                profile_url=profile,
                sent_by=sent_by,
            )
        )
        candidate_id = response.candidate_id
        pii += [resume, profile, sent_by]
    for kind, value in [
        ("ip_address", f"2001:db8::{marker[:4]}:{marker[4:8]}"),
        ("user_agent", f"Mozilla/5.0 (X11; Linux) Agent/{marker}"),
        ("answer", f"My answer is {marker} and it is long."),
        ("file", f"s3://uploads/{marker}/notebook.ipynb"),
    ]:
        await system.candidates.RecordAssessmentData(
            pb.RecordAssessmentDataRequest(
                organization_id=organization_id,
                candidate_id=candidate_id,
                invitation_id=f"inv{marker[:8]}",
                kind=kind,
                value=value,
                idempotency_key=f"{kind}-{marker}",
            )
        )
        pii.append(value)
    return Registered(organization_id, greenhouse, candidate_id, pii)


async def erase(
    system: System,
    who: Registered,
    *,
    event_id: str | None = None,
    reason: str = "candidate_anonymized",
    fields: tuple[str, ...] = ("full_name", "email_addresses"),
    organization_id: str | None = None,
) -> pb.EraseCandidateResponse:
    response: pb.EraseCandidateResponse = await system.candidates.EraseCandidate(
        pb.EraseCandidateRequest(
            organization_id=organization_id or who.organization_id,
            event_id=event_id or uuid.uuid4().hex,
            greenhouse_candidate_id=who.greenhouse_candidate_id,
            reason=reason,
            requested_fields=fields,
        )
    )
    return response


async def get(system: System, who: Registered) -> pb.Candidate:
    response = await system.candidates.GetCandidate(
        pb.GetCandidateRequest(organization_id=who.organization_id, candidate_id=who.candidate_id)
    )
    return response.candidate


async def test_erasure_removes_every_pii_value_and_leaves_other_candidates_alone(
    system: System,
) -> None:
    organization = org()
    erased, other = await register(system, organization), await register(system, organization)
    stored = await dump_text(system.databases["candidates"])
    assert [value for value in erased.pii + other.pii if value not in stored] == []

    response = await erase(system, erased, fields=("current_title",))

    assert response.outcome == pb.EVENT_OUTCOME_APPLIED
    assert response.candidate_id == erased.candidate_id
    stored = await dump_text(system.databases["candidates"])
    assert [value for value in erased.pii if value in stored] == []
    assert [value for value in other.pii if value not in stored] == []


async def test_an_erased_candidate_still_answers_with_ids_and_statuses_only(
    system: System,
) -> None:
    who = await register(system, org())
    await system.candidates.ApplyStatusEvent(
        pb.ApplyStatusEventRequest(
            organization_id=who.organization_id,
            event_id=uuid.uuid4().hex,
            action=pb.STATUS_ACTION_REJECT,
            greenhouse_candidate_id=who.greenhouse_candidate_id,
            greenhouse_application_id=1,
        )
    )

    await erase(system, who)

    found = await get(system, who)
    assert found.id == who.candidate_id
    assert found.greenhouse_candidate_id == who.greenhouse_candidate_id
    assert found.HasField("erase_time")
    contact = found.contact
    # As Greenhouse itself anonymizes full_name.
    assert (contact.first_name, contact.last_name) == (
        "Anonymized",
        str(who.greenhouse_candidate_id),
    )
    assert contact.email == ""
    assert not contact.HasField("preferred_name")
    assert not contact.HasField("phone_number")
    assert [a.greenhouse_application_id for a in found.applications] == [1, 2]
    for application in found.applications:
        assert not application.HasField("resume_url")
        assert not application.HasField("sent_by")
        assert application.profile_url == ""
    assert [a.status for a in found.applications] == [
        pb.HIRING_STATUS_REJECTED,
        pb.HIRING_STATUS_ACTIVE,
    ]
    assert list(found.assessment_data) == []
    assert [value for value in who.pii if value in str(found)] == []


async def test_erasure_leaves_a_receipt_without_pii(system: System) -> None:
    who = await register(system, org())

    response = await erase(
        system, who, event_id="erase-1", fields=("full_name", "phone_numbers", "attachments")
    )

    receipt = response.receipt
    assert receipt.id
    assert (receipt.organization_id, receipt.candidate_id, receipt.event_id) == (
        who.organization_id,
        who.candidate_id,
        "erase-1",
    )
    assert receipt.reason == "candidate_anonymized"
    assert list(receipt.requested_fields) == ["full_name", "phone_numbers", "attachments"]
    assert set(receipt.erased) == {
        "name",
        "email",
        "phone_number",
        "resume_url",
        "profile_url",
        "sent_by",
        "assessment_data",
    }
    assert (receipt.applications, receipt.assessment_data_items) == (2, 4)
    assert receipt.HasField("erase_time")
    listed = await system.candidates.ListErasureReceipts(
        pb.ListErasureReceiptsRequest(organization_id=who.organization_id)
    )
    assert list(listed.receipts) == [receipt]
    assert [value for value in who.pii if value in str(listed)] == []


async def test_the_same_event_again_is_a_duplicate_with_the_same_receipt(system: System) -> None:
    who = await register(system, org())
    first = await erase(system, who, event_id="erase-twice")

    again = await erase(system, who, event_id="erase-twice")

    assert again.outcome == pb.EVENT_OUTCOME_DUPLICATE
    assert again.candidate_id == who.candidate_id
    assert again.receipt == first.receipt
    listed = await system.candidates.ListErasureReceipts(
        pb.ListErasureReceiptsRequest(organization_id=who.organization_id)
    )
    assert len(listed.receipts) == 1


async def test_concurrent_deliveries_of_one_erasure_erase_once(system: System) -> None:
    who = await register(system, org())

    responses = await asyncio.gather(*(erase(system, who, event_id="at-once") for _ in range(10)))

    outcomes = sorted(response.outcome for response in responses)
    assert outcomes == [pb.EVENT_OUTCOME_APPLIED] + [pb.EVENT_OUTCOME_DUPLICATE] * 9
    assert len({response.receipt.id for response in responses}) == 1


async def test_another_event_erases_again_and_writes_another_receipt(system: System) -> None:
    who = await register(system, org())
    first = await erase(system, who)

    second = await erase(system, who, reason="delete_candidate", fields=())

    assert second.outcome == pb.EVENT_OUTCOME_APPLIED
    assert second.receipt.id != first.receipt.id
    assert second.receipt.reason == "delete_candidate"
    assert (second.receipt.applications, second.receipt.assessment_data_items) == (2, 0)
    listed = await system.candidates.ListErasureReceipts(
        pb.ListErasureReceiptsRequest(organization_id=who.organization_id)
    )
    assert [r.id for r in listed.receipts] == [second.receipt.id, first.receipt.id]


async def test_delete_candidate_erases_the_candidate(system: System) -> None:
    who = await register(system, org())

    response = await erase(system, who, reason="delete_candidate", fields=())

    assert response.outcome == pb.EVENT_OUTCOME_APPLIED
    assert list(response.receipt.requested_fields) == []
    stored = await dump_text(system.databases["candidates"])
    assert [value for value in who.pii if value in stored] == []


async def test_an_unknown_candidate_is_recorded_and_its_redelivery_is_a_duplicate(
    system: System,
) -> None:
    nobody = Registered(org(), gh_id(), "", [])

    first = await erase(system, nobody, event_id="nobody")
    again = await erase(system, nobody, event_id="nobody")

    assert first.outcome == pb.EVENT_OUTCOME_UNKNOWN_CANDIDATE
    assert not first.HasField("receipt")
    assert again.outcome == pb.EVENT_OUTCOME_DUPLICATE
    assert again.candidate_id == ""


async def test_another_organization_cannot_erase_a_candidate(system: System) -> None:
    who = await register(system, org())
    stranger = org()

    response = await erase(system, who, organization_id=stranger)

    assert response.outcome == pb.EVENT_OUTCOME_UNKNOWN_CANDIDATE
    assert response.candidate_id == ""
    stored = await dump_text(system.databases["candidates"])
    assert [value for value in who.pii if value not in stored] == []
    listed = await system.candidates.ListErasureReceipts(
        pb.ListErasureReceiptsRequest(organization_id=stranger)
    )
    assert list(listed.receipts) == []


async def test_assessment_data_for_an_erased_candidate_is_refused(system: System) -> None:
    who = await register(system, org())
    await erase(system, who)

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await system.candidates.RecordAssessmentData(
            pb.RecordAssessmentDataRequest(
                organization_id=who.organization_id,
                candidate_id=who.candidate_id,
                invitation_id="inv",
                kind="answer",
                value="late answer",
                idempotency_key=uuid.uuid4().hex,
            )
        )
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_registering_an_erased_candidate_again_stores_the_new_details(
    system: System,
) -> None:
    who = await register(system, org(), applications=1)
    await erase(system, who)

    again = await system.candidates.RegisterApplication(
        pb.RegisterApplicationRequest(
            organization_id=who.organization_id,
            greenhouse_candidate_id=who.greenhouse_candidate_id,
            greenhouse_application_id=9,
            contact=pb.ContactDetails(first_name="Back", last_name="Again", email="b@example.org"),
            profile_url="https://app.greenhouse.io/people/1?application_id=9",
        )
    )

    assert again.candidate_id == who.candidate_id
    found = await get(system, who)
    assert not found.HasField("erase_time")
    assert (found.contact.first_name, found.contact.email) == ("Back", "b@example.org")
    # The application erased before stays erased.
    assert [a.profile_url for a in found.applications] == [
        "",
        "https://app.greenhouse.io/people/1?application_id=9",
    ]
    await system.candidates.RecordAssessmentData(
        pb.RecordAssessmentDataRequest(
            organization_id=who.organization_id,
            candidate_id=who.candidate_id,
            invitation_id="inv-2",
            kind="ip_address",
            value="192.0.2.1",
            idempotency_key=uuid.uuid4().hex,
        )
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"reason": "because"},
        {"reason": ""},
        {"event_id": ""},
        {"greenhouse_candidate_id": -5},
        {"requested_fields": ["x" * 101]},
    ],
)
async def test_an_invalid_erasure_is_refused(system: System, changes: dict[str, object]) -> None:
    request: dict[str, object] = {
        "organization_id": org(),
        "event_id": "e",
        "greenhouse_candidate_id": 1,
        "reason": "candidate_anonymized",
        **changes,
    }
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await system.candidates.EraseCandidate(pb.EraseCandidateRequest(**request))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_erasure_and_status_events_never_log_pii(
    system: System,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    who = await register(system, org())
    await system.candidates.ApplyStatusEvent(
        pb.ApplyStatusEventRequest(
            organization_id=who.organization_id,
            event_id=uuid.uuid4().hex,
            action=pb.STATUS_ACTION_HIRE,
            greenhouse_candidate_id=who.greenhouse_candidate_id,
        )
    )
    await erase(system, who)

    captured = capsys.readouterr()
    logged = captured.out + captured.err + caplog.text
    assert "candidate.erasure_handled" in logged
    assert "status_event.handled" in logged
    assert "assessment_data.recorded" in logged
    assert [value for value in who.pii if value in logged] == []


async def _cancellation_requests(system: System, candidate_id: str) -> list[dict[str, object]]:
    """The outbox messages asking assessments to cancel this candidate's invitations."""
    engine = create_async_engine(async_url(system.databases["candidates"]), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                select(OUTBOX.c.payload).where(OUTBOX.c.kind == cancellations.KIND)
            )
            payloads = [dict(row.payload) for row in rows]
    finally:
        await engine.dispose()
    return [p for p in payloads if p["candidate_id"] == candidate_id]


async def test_an_erasure_asks_assessments_once_with_ids_only(system: System) -> None:
    who = await register(system, org())

    responses = await asyncio.gather(*(erase(system, who, event_id="ask-once") for _ in range(5)))
    assert sorted(r.outcome for r in responses)[0] == pb.EVENT_OUTCOME_APPLIED

    [request] = await _cancellation_requests(system, who.candidate_id)
    assert request["organization_id"] == who.organization_id
    assert request["reason"] == "candidate_anonymized"
    assert [value for value in who.pii if value in str(request)] == []
    # Another erasure of the same candidate (a new event) asks again: it is idempotent.
    await erase(system, who, reason="delete_candidate")
    assert len(await _cancellation_requests(system, who.candidate_id)) == 2


async def test_an_unknown_candidate_asks_nothing(system: System) -> None:
    stranger = Registered(org(), gh_id(), "", [])
    response = await erase(system, stranger)
    assert response.outcome == pb.EVENT_OUTCOME_UNKNOWN_CANDIDATE
    assert await _cancellation_requests(system, "") == []


async def test_the_request_reaches_assessments_as_candidates_and_a_malformed_one_is_final(
    system: System,
) -> None:
    # The handler as the relay runs it, against the real assessments, as candidates.
    async with channel(system.addresses["assessments"], Identity.CANDIDATES) as to_assessments:
        handler = cancellations.CancelInvitations(to_assessments, timeout=5)
        message = OutboxMessage(
            id=uuid.uuid4().hex,
            kind=cancellations.KIND,
            payload=cancellation_requests.payload(org(), uuid.uuid4().hex, "candidate_anonymized"),
            attempts=0,
            created_at=utcnow(),
        )
        await handler(message)  # nothing to cancel: answered all the same

        malformed = dataclasses.replace(
            message, payload=cancellation_requests.payload(org(), "", "candidate_anonymized")
        )
        with pytest.raises(PermanentFailure, match="INVALID_ARGUMENT"):
            await handler(malformed)

    # Any other identity is refused by assessments: the row is candidates' alone.
    async with channel(system.addresses["assessments"], Identity.GATEWAY) as as_gateway:
        with pytest.raises(RetryLater, match="PERMISSION_DENIED"):
            await cancellations.CancelInvitations(as_gateway, timeout=5)(message)
