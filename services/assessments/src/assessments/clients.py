"""The candidates service as the assessments service sees it."""

from __future__ import annotations

import grpc

from alooba.candidates.v1 import candidates_pb2 as candidates_pb
from alooba.candidates.v1 import candidates_pb2_grpc as candidates_grpc
from alooba_common.errors import InvalidArgument, Unavailable
from assessments.greenhouse import ProfileIds
from assessments.service import ApplicationRefs, CandidateContact


class GrpcCandidateDirectory:
    def __init__(self, channel: grpc.aio.Channel, *, timeout: float) -> None:
        self._stub = candidates_grpc.CandidatesServiceStub(channel)
        self._timeout = timeout

    async def register_application(
        self,
        *,
        organization_id: str,
        profile: ProfileIds,
        contact: CandidateContact,
        resume_url: str | None,
        profile_url: str,
        sent_by: str | None,
    ) -> ApplicationRefs:
        request = candidates_pb.RegisterApplicationRequest(
            organization_id=organization_id,
            greenhouse_candidate_id=profile.candidate_id,
            greenhouse_application_id=profile.application_id,
            contact=candidates_pb.ContactDetails(
                first_name=contact.first_name,
                last_name=contact.last_name,
                preferred_name=contact.preferred_name,
                email=contact.email,
                phone_number=contact.phone_number,
            ),
            resume_url=resume_url,
            profile_url=profile_url,
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
