"""SQL for the candidates database. Never commits: the caller owns the transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from candidates.models import Application, Candidate


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(self, *rows: object) -> None:
        self._session.add_all(rows)

    async def flush(self) -> None:
        await self._session.flush()

    async def candidate(self, organization_id: str, candidate_id: str) -> Candidate | None:
        result = await self._session.execute(
            select(Candidate).where(
                Candidate.id == candidate_id, Candidate.organization_id == organization_id
            )
        )
        return result.scalar_one_or_none()

    async def candidate_by_greenhouse_id(
        self, organization_id: str, greenhouse_candidate_id: int
    ) -> Candidate | None:
        result = await self._session.execute(
            select(Candidate).where(
                Candidate.organization_id == organization_id,
                Candidate.greenhouse_candidate_id == greenhouse_candidate_id,
            )
        )
        return result.scalar_one_or_none()

    async def application(
        self, candidate_id: str, greenhouse_application_id: int | None
    ) -> Application | None:
        query = select(Application).where(Application.candidate_id == candidate_id)
        if greenhouse_application_id is None:
            query = query.where(Application.greenhouse_application_id.is_(None))
        else:
            query = query.where(Application.greenhouse_application_id == greenhouse_application_id)
        result = await self._session.execute(query)
        return result.scalar_one_or_none()

    async def applications(self, candidate_id: str) -> Sequence[Application]:
        result = await self._session.execute(
            select(Application)
            .where(Application.candidate_id == candidate_id)
            .order_by(Application.created_at, Application.id)
        )
        return result.scalars().all()
