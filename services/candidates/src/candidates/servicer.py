"""protobuf ⇄ domain for the candidates gRPC API."""

from __future__ import annotations

import datetime as dt
from typing import Any

import grpc
from google.protobuf import timestamp_pb2

from alooba.candidates.v1 import candidates_pb2 as pb
from alooba.candidates.v1 import candidates_pb2_grpc as pb_grpc
from candidates.models import Application
from candidates.service import CandidateRecord, Candidates, Contact, RegisterApplication

_HIRING_STATUS = {
    "active": pb.HIRING_STATUS_ACTIVE,
    "rejected": pb.HIRING_STATUS_REJECTED,
    "hired": pb.HIRING_STATUS_HIRED,
}


def _ts(value: dt.datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def _optional(message: Any, field: str) -> Any:
    return getattr(message, field) if message.HasField(field) else None


def _application_pb(application: Application) -> pb.Application:
    return pb.Application(
        id=application.id,
        greenhouse_application_id=application.greenhouse_application_id,
        resume_url=application.resume_url,
        profile_url=application.profile_url,
        sent_by=application.sent_by,
        create_time=_ts(application.created_at),
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
            email=candidate.email,
            phone_number=candidate.phone_number,
        ),
        status=_HIRING_STATUS.get(candidate.hiring_status, pb.HIRING_STATUS_UNSPECIFIED),
        applications=[_application_pb(a) for a in record.applications],
        create_time=_ts(candidate.created_at),
        update_time=_ts(candidate.updated_at),
    )


class CandidatesServicer(pb_grpc.CandidatesServiceServicer):
    def __init__(self, candidates: Candidates) -> None:
        self._candidates = candidates

    async def RegisterApplication(
        self, request: pb.RegisterApplicationRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.RegisterApplicationResponse:
        contact = request.contact
        candidate_id, application_id = await self._candidates.register_application(
            RegisterApplication(
                organization_id=request.organization_id,
                greenhouse_candidate_id=request.greenhouse_candidate_id,
                greenhouse_application_id=_optional(request, "greenhouse_application_id"),
                contact=Contact(
                    first_name=contact.first_name,
                    last_name=contact.last_name,
                    preferred_name=_optional(contact, "preferred_name"),
                    email=contact.email,
                    phone_number=_optional(contact, "phone_number"),
                ),
                resume_url=_optional(request, "resume_url"),
                profile_url=request.profile_url,
                sent_by=_optional(request, "sent_by"),
            )
        )
        return pb.RegisterApplicationResponse(
            candidate_id=candidate_id, application_id=application_id
        )

    async def GetCandidate(
        self, request: pb.GetCandidateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.GetCandidateResponse:
        record = await self._candidates.candidate(request.organization_id, request.candidate_id)
        return pb.GetCandidateResponse(candidate=candidate_pb(record))
