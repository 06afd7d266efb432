"""protobuf ⇄ domain for the candidates gRPC API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import grpc

from alooba.candidates.v1 import candidates_pb2 as pb
from alooba.candidates.v1 import candidates_pb2_grpc as pb_grpc
from alooba_common.errors import InvalidArgument
from alooba_common.protobuf import optional, timestamp
from candidates.app.events import (
    Erasure,
    Merge,
    StatusAction,
    StatusEvent,
    WebhookEvents,
)
from candidates.app.service import (
    CandidateRecord,
    Candidates,
    Contact,
    RecordAssessmentData,
    RegisterApplication,
)
from candidates.store.models import (
    Application,
    AssessmentDatum,
    Candidate,
    ErasureReceipt,
    HiringStatus,
    Outcome,
)

_HIRING_STATUS: dict[HiringStatus, pb.HiringStatus.ValueType] = {
    HiringStatus.ACTIVE: pb.HIRING_STATUS_ACTIVE,
    HiringStatus.REJECTED: pb.HIRING_STATUS_REJECTED,
    HiringStatus.HIRED: pb.HIRING_STATUS_HIRED,
}

_STATUS_ACTION = {
    pb.STATUS_ACTION_REJECT: StatusAction.REJECT,
    pb.STATUS_ACTION_UNREJECT: StatusAction.UNREJECT,
    pb.STATUS_ACTION_HIRE: StatusAction.HIRE,
    pb.STATUS_ACTION_UNHIRE: StatusAction.UNHIRE,
}

_OUTCOME = {
    Outcome.APPLIED: pb.EVENT_OUTCOME_APPLIED,
    Outcome.DUPLICATE: pb.EVENT_OUTCOME_DUPLICATE,
    Outcome.STALE: pb.EVENT_OUTCOME_STALE,
    Outcome.UNKNOWN_CANDIDATE: pb.EVENT_OUTCOME_UNKNOWN_CANDIDATE,
}


def _status(value: HiringStatus | None) -> pb.HiringStatus.ValueType:
    return pb.HIRING_STATUS_UNSPECIFIED if value is None else _HIRING_STATUS[value]


def _application_pb(application: Application) -> pb.Application:
    return pb.Application(
        id=application.id,
        greenhouse_application_id=application.greenhouse_application_id,
        resume_url=application.resume_url,
        profile_url=application.profile_url or "",
        sent_by=application.sent_by,
        create_time=timestamp(application.created_at),
        status=_status(application.status),
        status_change_time=timestamp(application.status_changed_at),
    )


def _datum_pb(datum: AssessmentDatum) -> pb.AssessmentDatum:
    return pb.AssessmentDatum(
        id=datum.id,
        invitation_id=datum.invitation_id,
        kind=datum.kind,
        value=datum.value,
        create_time=timestamp(datum.created_at),
    )


def receipt_pb(receipt: ErasureReceipt) -> pb.ErasureReceipt:
    return pb.ErasureReceipt(
        id=receipt.id,
        organization_id=receipt.organization_id,
        candidate_id=receipt.candidate_id,
        event_id=receipt.event_id,
        reason=receipt.reason,
        requested_fields=receipt.requested_fields,
        erased=receipt.erased,
        applications=receipt.applications,
        assessment_data_items=receipt.assessment_data_items,
        erase_time=timestamp(receipt.erased_at),
    )


def candidate_pb(record: CandidateRecord) -> pb.Candidate:
    candidate = record.candidate
    return pb.Candidate(
        id=candidate.id,
        organization_id=candidate.organization_id,
        greenhouse_candidate_id=candidate.greenhouse_candidate_id,
        contact=pb.ContactDetails(
            first_name=candidate.first_name,
            last_name=candidate.last_name,
            preferred_name=candidate.preferred_name,
            email=candidate.email or "",
            phone_number=candidate.phone_number,
        ),
        status=_status(candidate.hiring_status),
        applications=[_application_pb(a) for a in record.applications],
        create_time=timestamp(candidate.created_at),
        update_time=timestamp(candidate.updated_at),
        erase_time=timestamp(candidate.erased_at),
        assessment_data=[_datum_pb(d) for d in record.assessment_data],
    )


def _contact_pb(candidate: Candidate, applications: Sequence[Application]) -> pb.CandidateContact:
    return pb.CandidateContact(
        found=True,
        candidate_id=candidate.id,
        contact=pb.ContactDetails(
            first_name=candidate.first_name,
            last_name=candidate.last_name,
            preferred_name=candidate.preferred_name,
            email=candidate.email or "",
            phone_number=candidate.phone_number,
        ),
        status=_status(candidate.hiring_status),
        applications=[
            pb.ApplicationStatus(id=a.id, status=_status(a.status)) for a in applications
        ],
        erase_time=timestamp(candidate.erased_at),
    )


class CandidatesServicer(pb_grpc.CandidatesServiceServicer):
    def __init__(self, candidates: Candidates, events: WebhookEvents) -> None:
        self._candidates = candidates
        self._events = events

    async def RegisterApplication(
        self, request: pb.RegisterApplicationRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.RegisterApplicationResponse:
        """Records or refreshes a candidate and one application."""
        contact = request.contact
        candidate_id, application_id = await self._candidates.register_application(
            RegisterApplication(
                organization_id=request.organization_id,
                greenhouse_candidate_id=optional(request, "greenhouse_candidate_id"),
                greenhouse_application_id=optional(request, "greenhouse_application_id"),
                contact=Contact(
                    first_name=contact.first_name,
                    last_name=contact.last_name,
                    preferred_name=optional(contact, "preferred_name"),
                    email=contact.email,
                    phone_number=optional(contact, "phone_number"),
                ),
                resume_url=optional(request, "resume_url"),
                profile_url=request.profile_url or None,
                sent_by=optional(request, "sent_by"),
                registration_key=request.registration_key,
            )
        )
        return pb.RegisterApplicationResponse(
            candidate_id=candidate_id, application_id=application_id
        )

    async def GetCandidate(
        self, request: pb.GetCandidateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.GetCandidateResponse:
        """One candidate with PII; a merged candidate's id answers with the survivor."""
        record = await self._candidates.candidate(request.organization_id, request.candidate_id)
        return pb.GetCandidateResponse(candidate=candidate_pb(record))

    async def BatchGetContacts(
        self, request: pb.BatchGetContactsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.BatchGetContactsResponse:
        """Contact details for a batch of invitation emails, in the request's order."""
        found = await self._candidates.contacts(
            [(ref.organization_id, ref.candidate_id) for ref in request.candidates]
        )
        return pb.BatchGetContactsResponse(
            contacts=[
                pb.CandidateContact(found=False)
                if entry is None
                else _contact_pb(entry[0], entry[1])
                for entry in found
            ]
        )

    async def FindCandidate(
        self, request: pb.FindCandidateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.FindCandidateResponse:
        """One candidate by Greenhouse candidate id (following merges)."""
        record = await self._candidates.find_candidate(
            request.organization_id, request.greenhouse_candidate_id
        )
        return pb.FindCandidateResponse(candidate=candidate_pb(record))

    async def ApplyStatusEvent(
        self, request: pb.ApplyStatusEventRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ApplyStatusEventResponse:
        """A reject/unreject/hire/unhire webhook: deduplicated, stale ones ignored."""
        action = _STATUS_ACTION.get(request.action)
        if action is None:
            raise InvalidArgument("action is required")
        result = await self._events.apply_status_event(
            StatusEvent(
                organization_id=request.organization_id,
                event_id=request.event_id,
                action=action,
                greenhouse_candidate_id=request.greenhouse_candidate_id,
                greenhouse_application_id=optional(request, "greenhouse_application_id"),
                occurred_at=(
                    request.occur_time.ToDatetime(tzinfo=dt.UTC)
                    if request.HasField("occur_time")
                    else None
                ),
            )
        )
        return pb.ApplyStatusEventResponse(
            outcome=_OUTCOME[result.outcome],
            candidate_id=result.candidate_id or "",
            status=_status(result.status),
        )

    async def EraseCandidate(
        self, request: pb.EraseCandidateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.EraseCandidateResponse:
        """Erases all of a candidate's PII and answers with the receipt."""
        result = await self._events.erase_candidate(
            Erasure(
                organization_id=request.organization_id,
                event_id=request.event_id,
                greenhouse_candidate_id=request.greenhouse_candidate_id,
                reason=request.reason,
                requested_fields=list(request.requested_fields),
            )
        )
        return pb.EraseCandidateResponse(
            outcome=_OUTCOME[result.outcome],
            candidate_id=result.candidate_id or "",
            receipt=receipt_pb(result.receipt) if result.receipt is not None else None,
        )

    async def MergeCandidates(
        self, request: pb.MergeCandidatesRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.MergeCandidatesResponse:
        """Re-keys merged Greenhouse candidates to the surviving id."""
        result = await self._events.merge_candidates(
            Merge(
                organization_id=request.organization_id,
                event_id=request.event_id,
                surviving_greenhouse_candidate_id=request.surviving_greenhouse_candidate_id,
                merged_greenhouse_candidate_ids=list(request.merged_greenhouse_candidate_ids),
            )
        )
        return pb.MergeCandidatesResponse(
            outcome=_OUTCOME[result.outcome],
            candidate_id=result.candidate_id or "",
            merged=result.merged,
        )

    async def RecordAssessmentData(
        self, request: pb.RecordAssessmentDataRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.RecordAssessmentDataResponse:
        """Stores one piece of PII collected during an assessment; idempotent by key."""
        datum_id = await self._candidates.record_assessment_data(
            RecordAssessmentData(
                organization_id=request.organization_id,
                candidate_id=request.candidate_id,
                invitation_id=request.invitation_id,
                kind=request.kind,
                value=request.value,
                idempotency_key=request.idempotency_key,
            )
        )
        return pb.RecordAssessmentDataResponse(id=datum_id)

    async def ListErasureReceipts(
        self, request: pb.ListErasureReceiptsRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.ListErasureReceiptsResponse:
        """The organization's erasure receipts, newest first."""
        receipts = await self._events.erasure_receipts(request.organization_id, request.limit)
        return pb.ListErasureReceiptsResponse(receipts=[receipt_pb(r) for r in receipts])
