"""The candidates service as the assessments service sees it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import grpc

from alooba.candidates.v1 import candidates_pb2 as candidates_pb
from alooba.candidates.v1 import candidates_pb2_grpc as candidates_grpc
from alooba_common.errors import InvalidArgument, Unavailable
from assessments.app.candidate_directory import ApplicationRefs, CandidateContact, CandidateSummary
from assessments.app.greenhouse import ProfileIds
from assessments.outbound.emails import CandidateForEmail


class GrpcCandidateDirectory:
    def __init__(self, channel: grpc.aio.Channel, *, timeout: float) -> None:
        self._stub = candidates_grpc.CandidatesServiceStub(channel)
        self._timeout = timeout

    async def register_application(
        self,
        *,
        organization_id: str,
        profile: ProfileIds | None,
        contact: CandidateContact,
        resume_url: str | None,
        profile_url: str | None,
        sent_by: str | None,
        registration_key: str,
    ) -> ApplicationRefs:
        request = candidates_pb.RegisterApplicationRequest(
            organization_id=organization_id,
            greenhouse_candidate_id=profile.candidate_id if profile else None,
            greenhouse_application_id=profile.application_id if profile else None,
            registration_key=registration_key,
            contact=candidates_pb.ContactDetails(
                first_name=contact.first_name,
                last_name=contact.last_name,
                preferred_name=contact.preferred_name,
                email=contact.email,
                phone_number=contact.phone_number,
            ),
            resume_url=resume_url,
            profile_url=profile_url or "",
            sent_by=sent_by,
        )
        try:
            response = await self._stub.RegisterApplication(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.INVALID_ARGUMENT:
                raise InvalidArgument(error.details() or "invalid candidate") from None
            # Anything else is the dependency failing: the caller may retry the whole call.
            raise Unavailable("the candidates service is unavailable") from None
        return ApplicationRefs(
            candidate_id=response.candidate_id, application_id=response.application_id
        )

    async def candidate_for_email(
        self, organization_id: str, candidate_id: str, application_id: str
    ) -> CandidateForEmail | None:
        candidate = await self._live_candidate(organization_id, candidate_id)
        if candidate is None:
            return None  # unknown, or erased: there is nobody to write to
        contact = candidate.contact
        # The status of the application this invitation is for; a candidate rejected for
        # one job may still be active in another.
        status = next(
            (a.status for a in candidate.applications if a.id == application_id),
            candidate.status,
        )
        return _addressed(contact, status)

    async def candidates_for_email(
        self, refs: Sequence[tuple[str, str, str]]
    ) -> list[CandidateForEmail | None]:
        """One BatchGetContacts call. Failures propagate (each message then fetches its
        own candidate, and the outbox retries what still fails)."""
        response = await self._stub.BatchGetContacts(
            candidates_pb.BatchGetContactsRequest(
                candidates=[
                    candidates_pb.GetCandidateRequest(
                        organization_id=organization_id, candidate_id=candidate_id
                    )
                    for organization_id, candidate_id, _ in refs
                ]
            ),
            timeout=self._timeout,
        )
        if len(response.contacts) != len(refs):
            raise Unavailable("the candidates service answered a different batch")
        return [
            _for_email(found, application_id)
            for found, (_, _, application_id) in zip(response.contacts, refs, strict=True)
        ]

    async def greenhouse_application_id(
        self, organization_id: str, candidate_id: str, application_id: str
    ) -> int | None:
        """Greenhouse's id of the application, or None when it is unknown or the candidate
        has been erased (an anonymized candidate gets no more writes from us)."""
        candidate = await self._live_candidate(organization_id, candidate_id)
        if candidate is None:
            return None
        for application in candidate.applications:
            if application.id == application_id and application.HasField(
                "greenhouse_application_id"
            ):
                return application.greenhouse_application_id
        return None

    async def summary(
        self, organization_id: str, candidate_id: str, application_id: str
    ) -> CandidateSummary | None:
        """The name and hiring status a report shows; erased: no name at all."""
        try:
            response = await self._stub.GetCandidate(
                candidates_pb.GetCandidateRequest(
                    organization_id=organization_id, candidate_id=candidate_id
                ),
                timeout=self._timeout,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise Unavailable("the candidates service is unavailable") from None
        candidate = response.candidate
        application = next((a for a in candidate.applications if a.id == application_id), None)
        status = application.status if application is not None else candidate.status
        hiring_status = _HIRING_STATUS.get(status, "active")
        changed_at = (
            application.status_change_time.ToDatetime(tzinfo=dt.UTC)
            if application is not None and application.HasField("status_change_time")
            else None
        )
        if candidate.HasField("erase_time"):
            return CandidateSummary(
                display_name="",
                erased=True,
                hiring_status=hiring_status,
                hiring_status_changed_at=changed_at,
                erased_at=candidate.erase_time.ToDatetime(tzinfo=dt.UTC),
            )
        contact = candidate.contact
        first = contact.preferred_name if contact.HasField("preferred_name") else contact.first_name
        return CandidateSummary(
            display_name=f"{first} {contact.last_name}".strip(),
            erased=False,
            hiring_status=hiring_status,
            hiring_status_changed_at=changed_at,
        )

    async def _live_candidate(
        self, organization_id: str, candidate_id: str
    ) -> candidates_pb.Candidate | None:
        """The candidate, or None when unknown or erased. Other failures propagate: the
        outbox retries (the candidates service may be restarting)."""
        try:
            response = await self._stub.GetCandidate(
                candidates_pb.GetCandidateRequest(
                    organization_id=organization_id, candidate_id=candidate_id
                ),
                timeout=self._timeout,
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return None
            raise
        candidate = response.candidate
        return None if candidate.HasField("erase_time") else candidate


def _for_email(
    found: candidates_pb.CandidateContact, application_id: str
) -> CandidateForEmail | None:
    if not found.found or found.HasField("erase_time"):
        return None  # unknown, or erased: there is nobody to write to
    status = next((a.status for a in found.applications if a.id == application_id), found.status)
    return _addressed(found.contact, status)


def _addressed(
    contact: candidates_pb.ContactDetails, status: candidates_pb.HiringStatus.ValueType
) -> CandidateForEmail:
    first = contact.preferred_name if contact.HasField("preferred_name") else contact.first_name
    return CandidateForEmail(
        display_name=f"{first} {contact.last_name}".strip(),
        email=contact.email,
        # "Hello The Chosen One Potter" greets no one: the chosen name alone.
        greeting=first.strip() or contact.first_name,
        hiring_status=_HIRING_STATUS.get(status, "active"),
    )


_HIRING_STATUS = {
    candidates_pb.HIRING_STATUS_ACTIVE: "active",
    candidates_pb.HIRING_STATUS_REJECTED: "rejected",
    candidates_pb.HIRING_STATUS_HIRED: "hired",
}
