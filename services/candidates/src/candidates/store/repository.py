"""SQL for the candidates database. Never commits: the caller owns the transaction.

Every write to a candidate's rows first locks the candidate row (`for_update=True`), so
writes to one candidate (a registration, a status event, an erasure, a merge, assessment
data) happen one after another on PostgreSQL. SQLite takes the write lock when the
transaction begins, which serializes them anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Select, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from alooba_common.outbox import enqueue
from candidates.store.models import (
    OUTBOX,
    Application,
    AssessmentDatum,
    Candidate,
    ErasureReceipt,
    WebhookEvent,
)

# Merges are flattened as they happen, so a chain is one hop long; the bound only
# guards against a cycle written by hand.
_MAX_MERGE_HOPS = 16


def _locked(query: Select[Candidate], for_update: bool) -> Select[Candidate]:
    if not for_update:
        return query
    # populate_existing: a row already in the session is re-read under the lock.
    return query.with_for_update().execution_options(populate_existing=True)


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    @property
    def session(self) -> AsyncSession:
        return self._session

    def add(self, *rows: object) -> None:
        self._session.add_all(rows)

    async def enqueue(self, kind: str, payload: Mapping[str, Any], *, dedupe_key: str) -> None:
        """An outbox message, committed with whatever else this transaction does."""
        await enqueue(self._session, OUTBOX, kind, payload, dedupe_key=dedupe_key)

    async def flush(self) -> None:
        await self._session.flush()

    # --- candidates ----------------------------------------------------------

    async def candidate(
        self, organization_id: str, candidate_id: str, *, for_update: bool = False
    ) -> Candidate | None:
        query = select(Candidate).where(
            Candidate.id == candidate_id, Candidate.organization_id == organization_id
        )
        result = await self._session.execute(_locked(query, for_update))
        return result.scalar_one_or_none()

    async def candidate_by_greenhouse_id(
        self, organization_id: str, greenhouse_candidate_id: int, *, for_update: bool = False
    ) -> Candidate | None:
        query = select(Candidate).where(
            Candidate.organization_id == organization_id,
            Candidate.greenhouse_candidate_id == greenhouse_candidate_id,
        )
        result = await self._session.execute(_locked(query, for_update))
        return result.scalar_one_or_none()

    async def candidate_by_registration_key(
        self, organization_id: str, registration_key: str
    ) -> Candidate | None:
        query = select(Candidate).where(
            Candidate.organization_id == organization_id,
            Candidate.registration_key == registration_key,
        )
        result = await self._session.execute(_locked(query, True))
        return result.scalar_one_or_none()

    async def candidates_by_ids(self, candidate_ids: Iterable[str]) -> Sequence[Candidate]:
        """Any organization's: the caller checks each one's organization."""
        result = await self._session.execute(
            select(Candidate).where(Candidate.id.in_(list(candidate_ids)))
        )
        return result.scalars().all()

    async def candidates_by_greenhouse_ids(
        self, organization_id: str, greenhouse_candidate_ids: Iterable[int]
    ) -> Sequence[Candidate]:
        """Locked, in id order, so two merges never wait for each other in a circle."""
        query = (
            select(Candidate)
            .where(
                Candidate.organization_id == organization_id,
                Candidate.greenhouse_candidate_id.in_(list(greenhouse_candidate_ids)),
            )
            .order_by(Candidate.id)
        )
        result = await self._session.execute(_locked(query, True))
        return result.scalars().all()

    async def resolve(
        self, candidate: Candidate | None, *, for_update: bool = False
    ) -> Candidate | None:
        """The candidate that `candidate` was merged into (itself when it was not)."""
        for _ in range(_MAX_MERGE_HOPS):
            if candidate is None or candidate.merged_into_id is None:
                return candidate
            candidate = await self.candidate(
                candidate.organization_id, candidate.merged_into_id, for_update=for_update
            )
        return None

    async def redirect_merged(self, from_id: str, to_id: str) -> None:
        """Rows merged into `from_id` now point at `to_id` (keeps chains one hop long)."""
        await self._session.execute(
            update(Candidate)
            .where(Candidate.merged_into_id == from_id)
            .values(merged_into_id=to_id)
            .execution_options(synchronize_session=False)
        )

    # --- applications --------------------------------------------------------

    async def application(
        self, candidate_id: str, greenhouse_application_id: int | None
    ) -> Application | None:
        query = select(Application).where(Application.candidate_id == candidate_id)
        if greenhouse_application_id is None:
            query = query.where(Application.greenhouse_application_id.is_(None))
        else:
            query = query.where(Application.greenhouse_application_id == greenhouse_application_id)
        # A merge can leave a candidate with two applications of unknown id; the oldest
        # stands for "the application we were not told about".
        result = await self._session.execute(
            query.order_by(Application.created_at, Application.id).limit(1)
        )
        return result.scalars().first()

    async def applications_of(self, candidate_ids: Iterable[str]) -> dict[str, list[Application]]:
        """Several candidates' applications, oldest first, by candidate id."""
        ids = list(candidate_ids)
        found: dict[str, list[Application]] = {}
        if not ids:
            return found
        result = await self._session.execute(
            select(Application)
            .where(Application.candidate_id.in_(ids))
            .order_by(Application.created_at, Application.id)
        )
        for application in result.scalars():
            found.setdefault(application.candidate_id, []).append(application)
        return found

    async def applications(self, candidate_id: str) -> Sequence[Application]:
        result = await self._session.execute(
            select(Application)
            .where(Application.candidate_id == candidate_id)
            .order_by(Application.created_at, Application.id)
        )
        return result.scalars().all()

    # --- assessment data -----------------------------------------------------

    async def assessment_data(self, candidate_id: str) -> Sequence[AssessmentDatum]:
        result = await self._session.execute(
            select(AssessmentDatum)
            .where(AssessmentDatum.candidate_id == candidate_id)
            .order_by(AssessmentDatum.created_at, AssessmentDatum.id)
        )
        return result.scalars().all()

    async def assessment_datum_by_key(
        self, organization_id: str, idempotency_key: str
    ) -> AssessmentDatum | None:
        result = await self._session.execute(
            select(AssessmentDatum).where(
                AssessmentDatum.organization_id == organization_id,
                AssessmentDatum.idempotency_key == idempotency_key,
            )
        )
        return result.scalar_one_or_none()

    async def delete_assessment_data(self, candidate_id: str) -> int:
        """Deletes the candidate's assessment data; how many rows went."""
        result = await self._session.execute(
            delete(AssessmentDatum)
            .where(AssessmentDatum.candidate_id == candidate_id)
            .returning(AssessmentDatum.id)
            .execution_options(synchronize_session=False)
        )
        return len(result.scalars().all())

    async def move_assessment_data(self, from_id: str, to_id: str) -> int:
        result = await self._session.execute(
            update(AssessmentDatum)
            .where(AssessmentDatum.candidate_id == from_id)
            .values(candidate_id=to_id)
            .returning(AssessmentDatum.id)
            .execution_options(synchronize_session=False)
        )
        return len(result.scalars().all())

    # --- webhook events and erasure receipts ---------------------------------

    async def webhook_event(self, organization_id: str, event_id: str) -> WebhookEvent | None:
        result = await self._session.execute(
            select(WebhookEvent).where(
                WebhookEvent.organization_id == organization_id,
                WebhookEvent.event_id == event_id,
            )
        )
        return result.scalar_one_or_none()

    async def erasure_receipt_by_event(
        self, organization_id: str, event_id: str
    ) -> ErasureReceipt | None:
        result = await self._session.execute(
            select(ErasureReceipt).where(
                ErasureReceipt.organization_id == organization_id,
                ErasureReceipt.event_id == event_id,
            )
        )
        return result.scalar_one_or_none()

    async def erasure_receipts(self, organization_id: str, limit: int) -> Sequence[ErasureReceipt]:
        result = await self._session.execute(
            select(ErasureReceipt)
            .where(ErasureReceipt.organization_id == organization_id)
            .order_by(ErasureReceipt.erased_at.desc(), ErasureReceipt.id.desc())
            .limit(limit)
        )
        return result.scalars().all()
