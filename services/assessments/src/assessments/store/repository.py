"""SQL for the assessments database. Never commits: the caller owns the transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from alooba_common.outbox import DEAD, DELIVERED, PENDING, enqueue
from assessments.store import states
from assessments.store.models import (
    OUTBOX,
    ApiKey,
    IdempotencyRecord,
    Invitation,
    InvitationEvent,
    Organization,
    ResponseErrorReport,
    Test,
    WebhookPing,
    WebhookReceipt,
)
from assessments.store.states import InvitationStatus

# Outbox payloads carry ids only: a message's organization is its invitation's.
# An outbox message's kind and dedupe-key prefix → the invitation milestone its delivery is.
_MILESTONES = {
    (states.EMAIL_KIND, "invitation"): "email_delivered",
    (states.EMAIL_KIND, "resend"): "resent_email_delivered",
    (states.EMAIL_KIND, "reminder"): "reminder_delivered",
    (states.CALLBACK_KIND, "callback"): "greenhouse_called_back",
    (states.HARVEST_SCORES_KIND, "harvest"): "handed_to_harvest_sync",
}
_OUTBOX_WITH_INVITATION = OUTBOX.join(
    Invitation, Invitation.id == OUTBOX.c.payload["invitation_id"].as_string()
)


@dataclass(frozen=True, slots=True)
class OutboxFigures:
    """One organization's messages of one outbox kind."""

    delivered: int = 0
    pending: int = 0
    dead: int = 0
    last_delivered_at: dt.datetime | None = None
    oldest_pending_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class InvitationRefs:
    id: str
    organization_id: str
    candidate_id: str
    application_id: str


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @property
    def session(self) -> AsyncSession:
        return self._session

    def add(self, *rows: object) -> None:
        self._session.add_all(rows)

    async def flush(self) -> None:
        await self._session.flush()

    # --- organizations -------------------------------------------------------

    async def organization_by_id(self, organization_id: str) -> Organization | None:
        return await self._session.get(Organization, organization_id)

    async def organization_by_name(self, name: str) -> Organization | None:
        result = await self._session.execute(select(Organization).where(Organization.name == name))
        return result.scalar_one_or_none()

    async def organizations(self) -> Sequence[Organization]:
        result = await self._session.execute(select(Organization).order_by(Organization.name))
        return result.scalars().all()

    # --- API keys ------------------------------------------------------------

    async def api_key_by_hash(self, lookup_hash: str) -> ApiKey | None:
        result = await self._session.execute(
            select(ApiKey).where(ApiKey.lookup_hash == lookup_hash)
        )
        return result.scalar_one_or_none()

    async def api_key(self, organization_id: str, key_id: str) -> ApiKey | None:
        result = await self._session.execute(
            select(ApiKey).where(ApiKey.id == key_id, ApiKey.organization_id == organization_id)
        )
        return result.scalar_one_or_none()

    async def api_keys(self, organization_id: str) -> Sequence[ApiKey]:
        result = await self._session.execute(
            select(ApiKey)
            .where(ApiKey.organization_id == organization_id)
            .order_by(ApiKey.created_at.desc())
        )
        return result.scalars().all()

    async def unexpired_keys(self, organization_id: str, now: dt.datetime) -> Sequence[ApiKey]:
        """Keys that are neither revoked nor past their grace period, newest first."""
        result = await self._session.execute(
            select(ApiKey)
            .where(
                ApiKey.organization_id == organization_id,
                ApiKey.revoked_at.is_(None),
                or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
            )
            .order_by(ApiKey.created_at.desc())
        )
        return result.scalars().all()

    async def touch_api_key(self, key_id: str, now: dt.datetime, older_than: dt.datetime) -> None:
        # Conditional so a busy key costs one write a minute, not one per request.
        await self._session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == key_id,
                or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < older_than),
            )
            .values(last_used_at=now)
        )

    # --- tests ---------------------------------------------------------------

    async def test(self, organization_id: str, test_id: str) -> Test | None:
        result = await self._session.execute(
            select(Test).where(Test.id == test_id, Test.organization_id == organization_id)
        )
        return result.scalar_one_or_none()

    async def tests(self, organization_id: str, *, include_archived: bool) -> Sequence[Test]:
        query = select(Test).where(Test.organization_id == organization_id)
        if not include_archived:
            query = query.where(Test.archived_at.is_(None))
        result = await self._session.execute(query.order_by(Test.name, Test.id))
        return result.scalars().all()

    # --- invitations ---------------------------------------------------------

    async def invitation(self, organization_id: str, invitation_id: str) -> Invitation | None:
        result = await self._session.execute(
            select(Invitation).where(
                Invitation.id == invitation_id, Invitation.organization_id == organization_id
            )
        )
        return result.scalar_one_or_none()

    async def invitation_refs(self, invitation_ids: Sequence[str]) -> Sequence[InvitationRefs]:
        """The candidate references of these invitations (those that exist)."""
        result = await self._session.execute(
            select(
                Invitation.id,
                Invitation.organization_id,
                Invitation.candidate_id,
                Invitation.application_id,
            ).where(Invitation.id.in_(list(invitation_ids)))
        )
        return [InvitationRefs(*row) for row in result]

    async def invitation_by_id(self, invitation_id: str) -> Invitation | None:
        return await self._session.get(Invitation, invitation_id)

    async def invitation_for_update(self, invitation_id: str) -> Invitation | None:
        """Locks the row (PostgreSQL) so concurrent transitions of one invitation queue."""
        result = await self._session.execute(
            select(Invitation).where(Invitation.id == invitation_id).with_for_update()
        )
        return result.scalar_one_or_none()

    async def invitation_by_token_hash(self, token_hash: str) -> Invitation | None:
        result = await self._session.execute(
            select(Invitation).where(Invitation.access_token_hash == token_hash)
        )
        return result.scalar_one_or_none()

    async def idempotency_record(self, rpc: str, key: str) -> IdempotencyRecord | None:
        result = await self._session.execute(
            select(IdempotencyRecord).where(
                IdempotencyRecord.rpc == rpc, IdempotencyRecord.key == key
            )
        )
        return result.scalar_one_or_none()

    async def current_api_key(self, organization_id: str) -> ApiKey | None:
        """The organization's active key (not retiring), the one we sign callbacks with."""
        result = await self._session.execute(
            select(ApiKey)
            .where(
                ApiKey.organization_id == organization_id,
                ApiKey.revoked_at.is_(None),
                ApiKey.expires_at.is_(None),
            )
            .order_by(ApiKey.created_at.desc())
            .limit(1)
        )
        return result.scalar_one_or_none()

    async def invitation_by_callback_url(
        self, organization_id: str, callback_url: str
    ) -> Invitation | None:
        result = await self._session.execute(
            select(Invitation).where(
                Invitation.organization_id == organization_id,
                Invitation.callback_url == callback_url,
            )
        )
        return result.scalar_one_or_none()

    async def invitations_page(
        self,
        organization_id: str,
        *,
        limit: int,
        after: tuple[dt.datetime, str] | None,
        status: InvitationStatus | None = None,
    ) -> Sequence[Invitation]:
        """Newest first; `after` is the (created_at, id) of the last row already seen;
        only `status`'s when given."""
        query = select(Invitation).where(Invitation.organization_id == organization_id)
        if status is not None:
            query = query.where(Invitation.status == status)
        if after is not None:
            created_at, invitation_id = after
            query = query.where(
                or_(
                    Invitation.created_at < created_at,
                    and_(Invitation.created_at == created_at, Invitation.id < invitation_id),
                )
            )
        query = query.order_by(Invitation.created_at.desc(), Invitation.id.desc()).limit(limit)
        result = await self._session.execute(query)
        return result.scalars().all()

    async def invitation_events(self, invitation_id: str) -> Sequence[InvitationEvent]:
        result = await self._session.execute(
            select(InvitationEvent)
            .where(InvitationEvent.invitation_id == invitation_id)
            .order_by(InvitationEvent.occurred_at, InvitationEvent.id)
        )
        return result.scalars().all()

    async def deliveries(self, invitation_id: str) -> list[tuple[str, dt.datetime]]:
        """What the outbox delivered for the invitation, oldest first, as milestones
        (the names are GetInvitation's `deliveries`)."""
        emails = OUTBOX.c.kind == states.EMAIL_KIND
        query = (
            select(OUTBOX.c.kind, OUTBOX.c.dedupe_key, OUTBOX.c.delivered_at)
            .where(
                OUTBOX.c.status == DELIVERED,
                or_(
                    and_(emails, OUTBOX.c.dedupe_key == f"invitation:{invitation_id}"),
                    and_(emails, OUTBOX.c.dedupe_key.startswith(f"resend:{invitation_id}:")),
                    and_(emails, OUTBOX.c.dedupe_key.startswith(f"reminder:{invitation_id}:")),
                    and_(
                        OUTBOX.c.kind == states.CALLBACK_KIND,
                        OUTBOX.c.dedupe_key == f"callback:{invitation_id}",
                    ),
                    and_(
                        OUTBOX.c.kind == states.HARVEST_SCORES_KIND,
                        OUTBOX.c.dedupe_key == f"harvest:{invitation_id}",
                    ),
                ),
            )
            .order_by(OUTBOX.c.delivered_at)
        )
        rows = (await self._session.execute(query)).all()
        return [
            (_MILESTONES[kind, dedupe_key.split(":", 1)[0]], delivered_at)
            for kind, dedupe_key, delivered_at in rows
            if delivered_at is not None
        ]

    async def tests_by_id(self, test_ids: set[str]) -> dict[str, Test]:
        if not test_ids:
            return {}
        result = await self._session.execute(select(Test).where(Test.id.in_(test_ids)))
        return {test.id: test for test in result.scalars()}

    async def cancel_candidate_invitations(
        self, organization_id: str, candidate_id: str, now: dt.datetime
    ) -> list[str]:
        """Cancels the candidate's invitations not yet final; their ids."""
        rows = await self._session.execute(
            update(Invitation)
            .where(
                Invitation.organization_id == organization_id,
                Invitation.candidate_id == candidate_id,
                Invitation.status.in_((*states.OPEN, states.AWAITING_EVALUATION)),
            )
            .values(status=states.CANCELLED, cancelled_at=now, updated_at=now)
            .returning(Invitation.id)
        )
        return list(rows.scalars())

    async def candidate_invitation_ids(self, organization_id: str, candidate_id: str) -> list[str]:
        rows = await self._session.execute(
            select(Invitation.id).where(
                Invitation.organization_id == organization_id,
                Invitation.candidate_id == candidate_id,
            )
        )
        return list(rows.scalars())

    async def expire_due_invitations(self, now: dt.datetime) -> list[str]:
        """Expires every open invitation past its deadline; their ids. One conditional
        UPDATE: of several replicas' sweeps, one wins each row."""
        rows = await self._session.execute(
            update(Invitation)
            .where(Invitation.status.in_(states.OPEN), Invitation.expires_at <= now)
            .values(status=states.EXPIRED, updated_at=now)
            .returning(Invitation.id)
        )
        return list(rows.scalars())

    async def invitations_due_a_reminder(
        self, now: dt.datetime, before: dt.timedelta, *, limit: int
    ) -> list[str]:
        """Open invitations whose deadline is within `before` and that had no reminder."""
        rows = await self._session.execute(
            select(Invitation.id)
            .where(
                Invitation.status.in_(states.OPEN),
                Invitation.reminder_queued_at.is_(None),
                Invitation.expires_at > now,
                Invitation.expires_at <= now + before,
            )
            .limit(limit)
        )
        return list(rows.scalars())

    async def claim_reminder(self, invitation_id: str, now: dt.datetime) -> bool:
        """Marks the invitation's reminder queued; False when another replica did first."""
        claimed = await self._session.execute(
            update(Invitation)
            .where(Invitation.id == invitation_id, Invitation.reminder_queued_at.is_(None))
            .values(reminder_queued_at=now)
            .returning(Invitation.id)
        )
        return claimed.scalar_one_or_none() is not None

    # --- response errors -----------------------------------------------------

    async def response_errors(self, organization_id: str) -> Sequence[ResponseErrorReport]:
        result = await self._session.execute(
            select(ResponseErrorReport)
            .where(ResponseErrorReport.organization_id == organization_id)
            .order_by(ResponseErrorReport.received_at.desc())
        )
        return result.scalars().all()

    # --- webhooks (the setup check) --------------------------------------------

    async def record_webhook_receipt(
        self,
        organization_id: str,
        action: str,
        *,
        verified: bool,
        now: dt.datetime,
        times: int = 1,
    ) -> None:
        """Counts `times` webhooks of `action`, the last at `now`: one upsert, so
        concurrent writers add up."""
        count, last = (
            (WebhookReceipt.success_count, WebhookReceipt.last_success_at)
            if verified
            else (WebhookReceipt.failure_count, WebhookReceipt.last_failure_at)
        )
        dialect = self._session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        # Bound with the column's own type, so SQLite compares like with like.
        stamp = literal(now, last.type)
        statement = (
            insert(WebhookReceipt)
            .values(
                organization_id=organization_id,
                action=action,
                success_count=times if verified else 0,
                last_success_at=now if verified else None,
                failure_count=0 if verified else times,
                last_failure_at=None if verified else now,
            )
            .on_conflict_do_update(
                index_elements=[WebhookReceipt.organization_id, WebhookReceipt.action],
                set_={
                    count.key: count + times,
                    # The newer of the stored time and ours (batches may land out of order).
                    last.key: func.coalesce(
                        func.max(last, stamp)
                        if dialect == "sqlite"
                        else func.greatest(last, stamp),
                        stamp,
                    ),
                },
            )
        )
        await self._session.execute(statement)

    async def webhook_receipts(self, organization_id: str) -> Sequence[WebhookReceipt]:
        result = await self._session.execute(
            select(WebhookReceipt)
            .where(WebhookReceipt.organization_id == organization_id)
            .order_by(WebhookReceipt.action)
        )
        return result.scalars().all()

    async def webhook_pings(self, organization_id: str) -> Sequence[WebhookPing]:
        """Newest first."""
        result = await self._session.execute(
            select(WebhookPing)
            .where(WebhookPing.organization_id == organization_id)
            .order_by(WebhookPing.received_at.desc())
        )
        return result.scalars().all()

    async def webhook_ping(self, organization_id: str, web_hook_id: int) -> WebhookPing | None:
        return (
            await self._session.execute(
                select(WebhookPing).where(
                    WebhookPing.organization_id == organization_id,
                    WebhookPing.web_hook_id == web_hook_id,
                )
            )
        ).scalar_one_or_none()

    # --- the outbox, per organization --------------------------------------------

    async def enqueue(
        self,
        kind: str,
        payload: Mapping[str, Any],
        *,
        dedupe_key: str | None = None,
        delay: dt.timedelta | None = None,
    ) -> None:
        """Queues a message in the caller's transaction, with the state change it announces."""
        await enqueue(self._session, OUTBOX, kind, payload, dedupe_key=dedupe_key, delay=delay)

    async def outbox_figures(self, organization_id: str, kind: str) -> OutboxFigures:
        """The organization's messages of `kind`, by status."""
        rows = await self._session.execute(
            select(
                OUTBOX.c.status,
                func.count(),
                func.max(OUTBOX.c.delivered_at),
                func.min(OUTBOX.c.created_at),
            )
            .select_from(_OUTBOX_WITH_INVITATION)
            .where(Invitation.organization_id == organization_id, OUTBOX.c.kind == kind)
            .group_by(OUTBOX.c.status)
        )
        by_status = {
            status: (count, delivered, created) for status, count, delivered, created in rows
        }
        delivered = by_status.get(DELIVERED)
        pending = by_status.get(PENDING)
        return OutboxFigures(
            delivered=delivered[0] if delivered else 0,
            pending=pending[0] if pending else 0,
            dead=by_status[DEAD][0] if DEAD in by_status else 0,
            last_delivered_at=delivered[1] if delivered else None,
            oldest_pending_at=pending[2] if pending else None,
        )

    async def harvest_skips(self, organization_id: str) -> dict[str, tuple[int, dt.datetime]]:
        """The organization's invitations whose scores skip Harvest, by reason: how many,
        and when the latest was sent."""
        rows = await self._session.execute(
            select(InvitationEvent.kind, func.count(), func.max(InvitationEvent.occurred_at))
            .join(Invitation, Invitation.id == InvitationEvent.invitation_id)
            .where(
                Invitation.organization_id == organization_id,
                InvitationEvent.kind.startswith(states.HARVEST_SKIPPED_EVENT),
            )
            .group_by(InvitationEvent.kind)
        )
        return {
            kind.removeprefix(states.HARVEST_SKIPPED_EVENT): (count, latest)
            for kind, count, latest in rows
        }

    async def dead_letter_counts(self, organization_id: str) -> dict[str, int]:
        """The organization's dead letters, counted by kind."""
        rows = await self._session.execute(
            select(OUTBOX.c.kind, func.count())
            .select_from(_OUTBOX_WITH_INVITATION)
            .where(Invitation.organization_id == organization_id, OUTBOX.c.status == DEAD)
            .group_by(OUTBOX.c.kind)
            .order_by(OUTBOX.c.kind)
        )
        return {kind: count for kind, count in rows}
