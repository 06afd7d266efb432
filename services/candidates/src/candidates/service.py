"""The rules of the candidates service. PII comes in here and never goes out in a log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alooba_common.db import utcnow
from alooba_common.errors import InvalidArgument, NotFound, Unavailable
from candidates.metrics import APPLICATIONS_REGISTERED
from candidates.models import Application, Candidate
from candidates.repository import Repository

log = structlog.get_logger("candidates")

# Registering races only with itself (the same send_test arriving twice at once); a
# lost race is retried as an update, and one retry is enough.
_REGISTER_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Contact:
    first_name: str
    last_name: str
    preferred_name: str | None
    email: str
    phone_number: str | None


@dataclass(frozen=True, slots=True)
class RegisterApplication:
    organization_id: str
    greenhouse_candidate_id: int
    greenhouse_application_id: int | None
    contact: Contact
    resume_url: str | None
    profile_url: str
    sent_by: str | None


@dataclass(frozen=True, slots=True)
class CandidateRecord:
    candidate: Candidate
    applications: Sequence[Application]


def _check(command: RegisterApplication) -> None:
    if not command.organization_id:
        raise InvalidArgument("organization_id is required")
    if command.greenhouse_candidate_id <= 0:
        raise InvalidArgument("greenhouse_candidate_id must be positive")
    contact = command.contact
    if not contact.first_name.strip() or not contact.last_name.strip():
        raise InvalidArgument("first and last name are required")
    if "@" not in contact.email:
        raise InvalidArgument("email is not an email address")
    if not command.profile_url:
        raise InvalidArgument("profile_url is required")


class Candidates:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def register_application(self, command: RegisterApplication) -> tuple[str, str]:
        """(candidate id, application id); the latest contact details win."""
        _check(command)
        for attempt in range(1, _REGISTER_ATTEMPTS + 1):
            try:
                return await self._upsert(command)
            except IntegrityError:
                log.info("application.register_conflict", attempt=attempt)
        raise Unavailable("could not register the application; retry")

    async def _upsert(self, command: RegisterApplication) -> tuple[str, str]:
        now = utcnow()
        contact = command.contact
        async with self._sessions.begin() as session:
            repo = Repository(session)
            candidate = await repo.candidate_by_greenhouse_id(
                command.organization_id, command.greenhouse_candidate_id
            )
            if candidate is None:
                candidate = Candidate(
                    id=uuid.uuid4().hex,
                    organization_id=command.organization_id,
                    greenhouse_candidate_id=command.greenhouse_candidate_id,
                    hiring_status="active",
                    created_at=now,
                )
                repo.add(candidate)
            candidate.first_name = contact.first_name
            candidate.last_name = contact.last_name
            candidate.preferred_name = contact.preferred_name
            candidate.email = contact.email
            candidate.phone_number = contact.phone_number
            candidate.updated_at = now
            await repo.flush()

            application = await repo.application(candidate.id, command.greenhouse_application_id)
            created = application is None
            if application is None:
                application = Application(
                    id=uuid.uuid4().hex,
                    candidate_id=candidate.id,
                    greenhouse_application_id=command.greenhouse_application_id,
                    created_at=now,
                )
                repo.add(application)
            application.resume_url = command.resume_url
            application.profile_url = command.profile_url
            application.sent_by = command.sent_by
            application.updated_at = now
            await repo.flush()
        if created:
            APPLICATIONS_REGISTERED.inc()
        log.info(
            "application.registered",
            candidate_id=candidate.id,
            application_id=application.id,
            created=created,
        )
        return candidate.id, application.id

    async def candidate(self, organization_id: str, candidate_id: str) -> CandidateRecord:
        async with self._sessions.begin() as session:
            repo = Repository(session)
            candidate = await repo.candidate(organization_id, candidate_id)
            if candidate is None:
                raise NotFound("no such candidate")
            applications = await repo.applications(candidate.id)
        return CandidateRecord(candidate, applications)
