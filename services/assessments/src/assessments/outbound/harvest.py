"""Handing a final result's scores to harvest-sync, which writes them into Greenhouse.

The outbox message carries the invitation id only; the scores are read here and the
Greenhouse application id is asked of the candidates service (assessments holds no
Greenhouse ids). harvest-sync queues the push durably and idempotently per result, so a
redelivered message is harmless.
"""

from __future__ import annotations

import grpc
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alooba.harvest_sync.v1 import harvest_sync_pb2 as hpb
from alooba.harvest_sync.v1 import harvest_sync_pb2_grpc as hgrpc
from alooba_common.outbox import OutboxMessage, PermanentFailure
from assessments.outbound.clients import GrpcCandidateDirectory
from assessments.store import states
from assessments.store.repository import Repository

log = structlog.get_logger("assessments.outbound.harvest")


class HarvestScores:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        candidates: GrpcCandidateDirectory,
        channel: grpc.aio.Channel,
        *,
        timeout: float,
    ) -> None:
        self._sessions = sessions
        self._candidates = candidates
        self._stub = hgrpc.HarvestSyncServiceStub(channel)
        self._timeout = timeout

    async def __call__(self, message: OutboxMessage) -> None:
        invitation_id = str(message.payload["invitation_id"])
        async with self._sessions.begin() as session:
            invitation = await Repository(session).invitation_by_id(invitation_id)
            if invitation is None:
                raise PermanentFailure("the invitation no longer exists")
            if invitation.status != states.COMPLETE or invitation.score is None:
                log.info("harvest.no_scores", invitation_id=invitation_id)
                return
            organization_id = invitation.organization_id
            candidate_id, application_ref = invitation.candidate_id, invitation.application_id
            request = hpb.QueueScoresRequest(
                organization_id=organization_id,
                result_id=invitation.id,
                total_score=invitation.score,
                skill_scores=[
                    hpb.SkillScore(skill=str(s["skill"]), score=float(s["score"]))
                    for s in invitation.skill_scores or ()
                ],
            )
        application_id = await self._candidates.greenhouse_application_id(
            organization_id, candidate_id, application_ref
        )
        if application_id is None:
            # No application id in Greenhouse's profile URL, or the candidate was erased.
            log.info("harvest.no_application", invitation_id=invitation_id)
            return
        request.application_id = application_id
        try:
            response = await self._stub.QueueScores(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.INVALID_ARGUMENT:
                raise PermanentFailure(
                    f"harvest-sync refused the scores: {error.details()}"
                ) from None
            raise  # unavailable or restarting: the outbox retries
        log.info("harvest.handed_over", invitation_id=invitation_id, queued=response.queued)
