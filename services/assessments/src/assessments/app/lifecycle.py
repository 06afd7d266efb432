"""The assessment platform's calls: progress and results of an invitation.

Each change is one transaction that also records an event, the caller's idempotency
key and, when the result becomes final, the Greenhouse callback in the outbox. The
invitation is `complete` in the same commit that queues the callback, so the
test_status Greenhouse fetches right after our PATCH already shows the result.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alooba_common.db import utcnow
from alooba_common.errors import FailedPrecondition, InvalidArgument, NotFound
from alooba_common.outbox import enqueue
from alooba_common.secrets import SecretBox
from assessments.metrics import RESULTS_COMPLETED
from assessments.store import states
from assessments.store.models import OUTBOX, IdempotencyRecord, Invitation, InvitationEvent
from assessments.store.repository import Repository

log = structlog.get_logger("assessments")


@dataclass(frozen=True, slots=True)
class SkillScore:
    skill: str
    score: float


def _check_score(score: float, field: str) -> float:
    if not 0 <= score <= 100:
        raise InvalidArgument(f"{field} must be between 0 and 100")
    return round(score, 2)


def _check_skill_scores(scores: Sequence[SkillScore]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    checked = []
    for item in scores:
        skill = item.skill.strip()
        if not skill or len(skill) > 100:
            raise InvalidArgument("skill_scores[].skill must be 1-100 characters")
        if skill in seen:
            raise InvalidArgument(f"skill {skill!r} is scored twice")
        seen.add(skill)
        checked.append({"skill": skill, "score": _check_score(item.score, "skill score")})
    return checked


Change = Callable[[Repository, Invitation, dt.datetime], Awaitable[None]]


class PlatformApi:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        box: SecretBox,
        *,
        outbox_committed: Callable[[], None],
    ) -> None:
        self._sessions = sessions
        self._box = box
        self._outbox_committed = outbox_committed

    async def resolve_access_token(self, token: str) -> Invitation:
        if not token or len(token) > 200:
            raise NotFound("no such invitation")
        async with self._sessions.begin() as session:
            invitation = await Repository(session).invitation_by_token_hash(
                self._box.lookup_hash(token)
            )
        if invitation is None:
            raise NotFound("no such invitation")
        return invitation

    async def start(self, key: str, invitation_id: str) -> Invitation:
        async def change(repo: Repository, invitation: Invitation, now: dt.datetime) -> None:
            if invitation.status == states.STARTED:
                return
            if invitation.status != states.SENT:
                raise FailedPrecondition(f"cannot start an invitation that is {invitation.status}")
            _check_not_past_deadline(invitation, now)
            invitation.status = states.STARTED
            invitation.started_at = now
            repo.add(InvitationEvent(invitation_id=invitation.id, kind="started", occurred_at=now))

        return await self._apply("StartAssessment", key, invitation_id, {}, change)

    async def submit(
        self,
        key: str,
        invitation_id: str,
        *,
        score: float,
        skill_scores: Sequence[SkillScore],
        needs_manual_evaluation: bool,
    ) -> Invitation:
        total = _check_score(score, "score")
        skills = _check_skill_scores(skill_scores)

        async def change(repo: Repository, invitation: Invitation, now: dt.datetime) -> None:
            if invitation.status not in states.OPEN:
                raise FailedPrecondition(f"cannot submit an invitation that is {invitation.status}")
            _check_not_past_deadline(invitation, now)
            invitation.started_at = invitation.started_at or now
            invitation.submitted_at = now
            invitation.score = total
            invitation.skill_scores = skills
            manual = needs_manual_evaluation or invitation.needs_manual_evaluation
            detail = {"score": total, "needs_manual_evaluation": manual}
            repo.add(
                InvitationEvent(
                    invitation_id=invitation.id, kind="submitted", occurred_at=now, detail=detail
                )
            )
            if manual:
                invitation.status = states.AWAITING_EVALUATION
            else:
                await self._complete(repo, invitation, now)

        request = {"score": total, "skills": skills, "manual": needs_manual_evaluation}
        return await self._apply("SubmitAssessment", key, invitation_id, request, change)

    async def evaluate(
        self,
        key: str,
        invitation_id: str,
        *,
        score: float,
        skill_scores: Sequence[SkillScore],
        evaluator: str,
        organization_id: str | None = None,
    ) -> Invitation:
        total = _check_score(score, "score")
        skills = _check_skill_scores(skill_scores)
        evaluator = evaluator.strip()
        if not evaluator or len(evaluator) > 200:
            raise InvalidArgument("evaluator must be 1-200 characters")

        async def change(repo: Repository, invitation: Invitation, now: dt.datetime) -> None:
            if invitation.status != states.AWAITING_EVALUATION:
                raise FailedPrecondition(
                    f"cannot record an evaluation for an invitation that is {invitation.status}"
                )
            invitation.score = total
            if skills:
                invitation.skill_scores = skills
            invitation.evaluator = evaluator
            repo.add(
                InvitationEvent(
                    invitation_id=invitation.id,
                    kind="evaluated",
                    occurred_at=now,
                    detail={"score": total},
                )
            )
            await self._complete(repo, invitation, now)

        request = {"score": total, "skills": skills, "evaluator": evaluator}
        return await self._apply(
            "RecordEvaluation", key, invitation_id, request, change, organization_id
        )

    async def extend(
        self,
        key: str,
        invitation_id: str,
        expires_at: dt.datetime,
        *,
        organization_id: str | None = None,
    ) -> Invitation:
        async def change(repo: Repository, invitation: Invitation, now: dt.datetime) -> None:
            if invitation.status not in (*states.OPEN, states.EXPIRED):
                raise FailedPrecondition(f"cannot extend an invitation that is {invitation.status}")
            if expires_at <= now or expires_at <= invitation.expires_at:
                raise InvalidArgument(
                    "expire_time must be in the future and later than the current deadline"
                )
            invitation.expires_at = expires_at
            if invitation.status == states.EXPIRED:
                invitation.status = states.STARTED if invitation.started_at else states.SENT
            # A new deadline deserves its own reminder.
            invitation.reminder_queued_at = None
            repo.add(
                InvitationEvent(
                    invitation_id=invitation.id,
                    kind="extended",
                    occurred_at=now,
                    detail={"expires_at": expires_at.isoformat()},
                )
            )

        request = {"expires_at": expires_at.isoformat()}
        return await self._apply(
            "ExtendDeadline", key, invitation_id, request, change, organization_id
        )

    async def cancel(
        self, key: str, invitation_id: str, reason: str, *, organization_id: str | None = None
    ) -> Invitation:
        async def change(repo: Repository, invitation: Invitation, now: dt.datetime) -> None:
            if invitation.status == states.CANCELLED:
                return
            if invitation.status not in (*states.OPEN, states.EXPIRED):
                raise FailedPrecondition(f"cannot cancel an invitation that is {invitation.status}")
            invitation.status = states.CANCELLED
            invitation.cancelled_at = now
            repo.add(
                InvitationEvent(
                    invitation_id=invitation.id,
                    kind="cancelled",
                    occurred_at=now,
                    detail={"reason": reason[:500]},
                )
            )

        return await self._apply(
            "CancelInvitation", key, invitation_id, {"reason": reason}, change, organization_id
        )

    async def resend(
        self, key: str, invitation_id: str, *, organization_id: str | None = None
    ) -> Invitation:
        async def change(repo: Repository, invitation: Invitation, now: dt.datetime) -> None:
            if invitation.status not in states.OPEN:
                raise FailedPrecondition(f"cannot resend an invitation that is {invitation.status}")
            _check_not_past_deadline(invitation, now)
            invitation.resend_count += 1
            repo.add(InvitationEvent(invitation_id=invitation.id, kind="resent", occurred_at=now))
            await enqueue(
                repo.session,
                OUTBOX,
                states.EMAIL_KIND,
                {
                    "invitation_id": invitation.id,
                    "purpose": "resend",
                    "sequence": invitation.resend_count,
                },
                dedupe_key=f"resend:{invitation.id}:{invitation.resend_count}",
            )

        return await self._apply(
            "ResendInvitation", key, invitation_id, {}, change, organization_id
        )

    async def _complete(self, repo: Repository, invitation: Invitation, now: dt.datetime) -> None:
        invitation.status = states.COMPLETE
        invitation.completed_at = now
        repo.add(InvitationEvent(invitation_id=invitation.id, kind="completed", occurred_at=now))
        await enqueue(
            repo.session,
            OUTBOX,
            states.CALLBACK_KIND,
            {"invitation_id": invitation.id},
            dedupe_key=f"callback:{invitation.id}",
        )
        # The scores go to Greenhouse's custom fields too, when the organization has
        # connected Harvest (harvest-sync decides; it answers "not connected" otherwise).
        await enqueue(
            repo.session,
            OUTBOX,
            states.HARVEST_SCORES_KIND,
            {"invitation_id": invitation.id},
            dedupe_key=f"harvest:{invitation.id}",
        )
        RESULTS_COMPLETED.inc()

    async def _apply(
        self,
        rpc: str,
        key: str,
        invitation_id: str,
        request: dict[str, Any],
        change: Change,
        organization_id: str | None = None,
    ) -> Invitation:
        """Applies `change` once per (rpc, idempotency key). With `organization_id`, only to
        that organization's invitation: another's is NOT_FOUND (the console's calls)."""
        key = key.strip()
        if not key or len(key) > 200:
            raise InvalidArgument("idempotency_key is required (at most 200 characters)")
        digest = hashlib.sha256(
            json.dumps({"invitation_id": invitation_id, **request}, sort_keys=True).encode()
        ).hexdigest()
        try:
            async with self._sessions.begin() as session:
                repo = Repository(session)
                seen = await repo.idempotency_record(rpc, key)
                if seen is not None:
                    return await self._replayed(repo, seen, digest, organization_id)
                invitation = await repo.invitation_for_update(invitation_id)
                if invitation is None or (
                    organization_id is not None and invitation.organization_id != organization_id
                ):
                    raise NotFound("no such invitation")
                # A concurrent call with the same key may have committed while we waited
                # for the row lock: look again now that we hold it.
                seen = await repo.idempotency_record(rpc, key)
                if seen is not None:
                    return await self._replayed(repo, seen, digest, organization_id)
                now = utcnow()
                await change(repo, invitation, now)
                invitation.updated_at = now
                repo.add(
                    IdempotencyRecord(
                        rpc=rpc, key=key, request_hash=digest, invitation_id=invitation.id
                    )
                )
        except IntegrityError:
            # The same key arrived twice at once and the other call won.
            async with self._sessions.begin() as session:
                repo = Repository(session)
                seen = await repo.idempotency_record(rpc, key)
                if seen is None:
                    raise
                return await self._replayed(repo, seen, digest, organization_id)
        self._outbox_committed()
        log.info(
            "invitation.changed", rpc=rpc, invitation_id=invitation.id, status=invitation.status
        )
        return invitation

    async def _replayed(
        self,
        repo: Repository,
        seen: IdempotencyRecord,
        digest: str,
        organization_id: str | None,
    ) -> Invitation:
        if seen.request_hash != digest:
            raise InvalidArgument("idempotency_key was already used for a different request")
        invitation = await repo.invitation_by_id(seen.invitation_id)
        if invitation is None or (
            organization_id is not None and invitation.organization_id != organization_id
        ):
            raise NotFound("no such invitation")
        return invitation


def _check_not_past_deadline(invitation: Invitation, now: dt.datetime) -> None:
    # The sweeper marks expiry in batches; between sweeps the deadline still holds.
    if invitation.expires_at <= now:
        raise FailedPrecondition("the invitation's deadline has passed")
