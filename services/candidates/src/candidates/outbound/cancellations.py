"""After an erasure: assessments cancels the candidate's open invitations.

The request is an outbox message written in the erasure's own transaction (app/events.py,
app/cancellation_requests.py),
so an erasure that committed always reaches assessments, however long assessments is
away: the relay retries with backoff until it answers. CancelCandidateInvitations is
idempotent (an invitation already cancelled stays so), so a second delivery is harmless.
The payload holds ids and the reason, never PII.
"""

from __future__ import annotations

import grpc

from alooba.assessments.v1 import assessments_pb2 as apb
from alooba.assessments.v1 import assessments_pb2_grpc as apb_grpc
from alooba_common.outbox import OutboxMessage, PermanentFailure, RetryLater
from candidates.app.cancellation_requests import KIND

__all__ = ["KIND", "CancelInvitations"]

# Answers that no retry can change: the request itself is wrong. Anything else is retried
# with backoff, PERMISSION_DENIED and UNIMPLEMENTED included: during a rollout candidates
# may run before the assessments that admits its call (the message then becomes a dead
# letter only once its attempts are spent, and an operator replays it).
_PERMANENT = frozenset({grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND})


class CancelInvitations:
    """The outbox handler for KIND: one CancelCandidateInvitations call."""

    def __init__(self, channel: grpc.aio.Channel, *, timeout: float) -> None:
        self._stub = apb_grpc.WebhookServiceStub(channel)
        self._timeout = timeout

    async def __call__(self, message: OutboxMessage) -> None:
        body = message.payload
        try:
            await self._stub.CancelCandidateInvitations(
                apb.CancelCandidateInvitationsRequest(
                    organization_id=str(body["organization_id"]),
                    candidate_id=str(body["candidate_id"]),
                    reason=str(body["reason"]),
                ),
                timeout=self._timeout,
            )
        except grpc.aio.AioRpcError as error:
            # Only the status code is kept: details may echo the request.
            reason = f"assessments answered {error.code().name}"
            if error.code() in _PERMANENT:
                raise PermanentFailure(reason) from None
            raise RetryLater(reason) from None
