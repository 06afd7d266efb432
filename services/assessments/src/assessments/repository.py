"""SQL for the assessments database. Never commits: the caller owns the transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from assessments.models import (
    ApiKey,
    IdempotencyRecord,
    Invitation,
    InvitationEvent,
    Organization,
    ResponseErrorReport,
    Test,
)


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
    ) -> Sequence[Invitation]:
        """Newest first; `after` is the (created_at, id) of the last row already seen."""
        query = select(Invitation).where(Invitation.organization_id == organization_id)
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

    async def tests_by_id(self, test_ids: set[str]) -> dict[str, Test]:
        if not test_ids:
            return {}
        result = await self._session.execute(select(Test).where(Test.id.in_(test_ids)))
        return {test.id: test for test in result.scalars()}

    # --- response errors -----------------------------------------------------

    async def response_errors(self, organization_id: str) -> Sequence[ResponseErrorReport]:
        result = await self._session.execute(
            select(ResponseErrorReport)
            .where(ResponseErrorReport.organization_id == organization_id)
            .order_by(ResponseErrorReport.received_at.desc())
        )
        return result.scalars().all()
