"""SQL for the console database. Never commits: the caller owns the transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from console.store.models import AuditEntry, Link, LoginFailure, Membership, Session, User


class Store:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @property
    def session(self) -> AsyncSession:
        return self._session

    def add(self, *rows: object) -> None:
        self._session.add_all(rows)

    async def flush(self) -> None:
        await self._session.flush()

    # --- users and memberships -------------------------------------------------

    async def user(self, user_id: str) -> User | None:
        return await self._session.get(User, user_id)

    async def user_by_email(self, email: str) -> User | None:
        result = await self._session.execute(select(User).where(User.email == email))
        return result.scalar_one_or_none()

    async def membership(self, user_id: str, organization_id: str) -> Membership | None:
        return await self._session.get(Membership, (user_id, organization_id))

    async def memberships_of(self, user_id: str) -> Sequence[Membership]:
        result = await self._session.execute(
            select(Membership).where(Membership.user_id == user_id).order_by(Membership.created_at)
        )
        return result.scalars().all()

    async def members(self, organization_id: str) -> Sequence[tuple[Membership, User]]:
        result = await self._session.execute(
            select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.organization_id == organization_id)
            .order_by(User.email)
        )
        return [(row[0], row[1]) for row in result.all()]

    async def owner_count(self, organization_id: str) -> int:
        result = await self._session.execute(
            select(func.count())
            .select_from(Membership)
            .where(Membership.organization_id == organization_id, Membership.role == "owner")
        )
        return int(result.scalar_one())

    # --- sessions --------------------------------------------------------------

    async def session_by_hash(self, token_hash: str) -> Session | None:
        return await self._session.get(Session, token_hash)

    async def delete_session(self, token_hash: str) -> None:
        await self._session.execute(delete(Session).where(Session.token_hash == token_hash))

    async def delete_sessions_of(self, user_id: str) -> None:
        await self._session.execute(delete(Session).where(Session.user_id == user_id))

    async def delete_expired_sessions(self, now: dt.datetime) -> None:
        await self._session.execute(delete(Session).where(Session.expires_at <= now))

    # --- links -------------------------------------------------------------------

    async def link(self, link_id: str) -> Link | None:
        return await self._session.get(Link, link_id)

    async def link_by_hash(self, token_hash: str) -> Link | None:
        result = await self._session.execute(select(Link).where(Link.token_hash == token_hash))
        return result.scalar_one_or_none()

    # --- audit log ---------------------------------------------------------------

    async def audit_entries(self, organization_id: str, limit: int) -> Sequence[AuditEntry]:
        result = await self._session.execute(
            select(AuditEntry)
            .where(AuditEntry.organization_id == organization_id)
            .order_by(AuditEntry.occurred_at.desc(), AuditEntry.id.desc())
            .limit(limit)
        )
        return result.scalars().all()

    # --- failed sign-ins ---------------------------------------------------------

    async def failures_since(self, subject: str, since: dt.datetime) -> int:
        result = await self._session.execute(
            select(func.count())
            .select_from(LoginFailure)
            .where(LoginFailure.subject == subject, LoginFailure.occurred_at > since)
        )
        return int(result.scalar_one())

    async def forget_failures(self, subject: str) -> None:
        await self._session.execute(delete(LoginFailure).where(LoginFailure.subject == subject))

    async def prune_failures(self, before: dt.datetime) -> None:
        await self._session.execute(delete(LoginFailure).where(LoginFailure.occurred_at <= before))
