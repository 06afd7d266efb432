"""The rules of the candidates service. PII comes in here and never goes out in a log."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alooba_common.db import utcnow
from alooba_common.errors import FailedPrecondition, InvalidArgument, NotFound, Unavailable
from alooba_common.validation import (
    check_our_id,
    checked_contact,
    checked_text,
    has_control_characters,
    optional_text,
)
from candidates.metrics import APPLICATIONS_REGISTERED
from candidates.store.models import Application, AssessmentDatum, Candidate, HiringStatus
from candidates.store.repository import Repository
from candidates.store.upsert import upsert_registration

log = structlog.get_logger("candidates")

# Registering races only with itself (the same send_test arriving twice at once); a
# lost race is retried as an update, and one retry is enough.
_REGISTER_ATTEMPTS = 3

# The columns' lengths (candidates.store.models).
MAX_URL = 2048
MAX_SENT_BY = 320
MAX_KEY = 64

ASSESSMENT_DATA_KINDS = frozenset({"ip_address", "user_agent", "answer", "file"})
MAX_ASSESSMENT_VALUE_BYTES = 64 * 1024
_MAX_KEY = 200
_MAX_INVITATION_ID = 64
# Candidates per BatchGetContacts call (the outbox relay's batch is smaller).
MAX_BATCH = 100


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
    # None when Greenhouse's profile URL named no candidate; `registration_key` then
    # finds the candidate again (a retried send_test registers nothing new).
    greenhouse_candidate_id: int | None
    greenhouse_application_id: int | None
    contact: Contact
    resume_url: str | None
    profile_url: str | None
    sent_by: str | None
    registration_key: str = ""


@dataclass(frozen=True, slots=True)
class RecordAssessmentData:
    organization_id: str
    candidate_id: str
    invitation_id: str
    kind: str
    value: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class CandidateRecord:
    candidate: Candidate
    applications: Sequence[Application]
    assessment_data: Sequence[AssessmentDatum] = ()


def check_organization_id(organization_id: str) -> None:
    check_our_id(organization_id, "organization_id")


def _checked(command: RegisterApplication) -> RegisterApplication:
    """The command with every value validated (lengths are the columns') and trimmed."""
    check_organization_id(command.organization_id)
    if command.greenhouse_candidate_id is None:
        checked_text(command.registration_key, "registration_key", max_length=MAX_KEY)
    elif command.greenhouse_candidate_id <= 0:
        raise InvalidArgument("greenhouse_candidate_id must be positive")
    if command.greenhouse_application_id is not None and command.greenhouse_application_id <= 0:
        raise InvalidArgument("greenhouse_application_id must be positive")
    return dataclasses.replace(
        command,
        contact=dataclasses.replace(command.contact, **checked_contact(command.contact)),
        resume_url=optional_text(command.resume_url, "resume_url", max_length=MAX_URL),
        profile_url=optional_text(command.profile_url, "profile_url", max_length=MAX_URL),
        sent_by=optional_text(command.sent_by, "sent_by", max_length=MAX_SENT_BY),
        # Only what finds a candidate without a Greenhouse id.
        registration_key=command.registration_key
        if command.greenhouse_candidate_id is None
        else "",
    )


class Candidates:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        read_sessions: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self._sessions = sessions
        # For lookups that change nothing (alooba_common.db.read_session_factory).
        self._read_sessions = read_sessions or sessions

    async def register_application(self, command: RegisterApplication) -> tuple[str, str]:
        """(candidate id, application id); the latest contact details win."""
        command = _checked(command)
        for attempt in range(1, _REGISTER_ATTEMPTS + 1):
            try:
                return await self._upsert(command)
            except IntegrityError:
                log.info("application.register_conflict", attempt=attempt)
        raise Unavailable("could not register the application; retry")

    async def _upsert(self, command: RegisterApplication) -> tuple[str, str]:
        now = utcnow()
        contact = command.contact
        if (
            command.greenhouse_candidate_id is not None
            and command.greenhouse_application_id is not None
        ):
            async with self._sessions.begin() as session:
                registered = await upsert_registration(
                    session,
                    organization_id=command.organization_id,
                    greenhouse_candidate_id=command.greenhouse_candidate_id,
                    greenhouse_application_id=command.greenhouse_application_id,
                    contact=dataclasses.asdict(contact),
                    application={
                        "resume_url": command.resume_url,
                        "profile_url": command.profile_url,
                        "sent_by": command.sent_by,
                    },
                    now=now,
                )
            if registered is not None:
                return self._registered(
                    registered.candidate_id,
                    registered.application_id,
                    registered.application_created,
                )
        # Registration by key, an application of unknown id, or a merged candidate.
        async with self._sessions.begin() as session:
            repo = Repository(session)
            # Locked, so an erasure running at the same time finishes first and this
            # registration then writes every field again (never a mix of both).
            candidate = await repo.resolve(
                await repo.candidate_by_greenhouse_id(
                    command.organization_id, command.greenhouse_candidate_id, for_update=True
                )
                if command.greenhouse_candidate_id is not None
                else await repo.candidate_by_registration_key(
                    command.organization_id, command.registration_key
                ),
                for_update=True,
            )
            new_candidate = candidate is None
            if candidate is None:
                candidate = Candidate(
                    id=uuid.uuid4().hex,
                    organization_id=command.organization_id,
                    greenhouse_candidate_id=command.greenhouse_candidate_id,
                    registration_key=command.registration_key or None,
                    hiring_status=HiringStatus.ACTIVE,
                    created_at=now,
                )
                repo.add(candidate)
            candidate.first_name = contact.first_name
            candidate.last_name = contact.last_name
            candidate.preferred_name = contact.preferred_name
            candidate.email = contact.email
            candidate.phone_number = contact.phone_number
            # Greenhouse sent this candidate's details again after an erasure: they came
            # back (a new application), so the record holds PII again. The erasure
            # receipts stay as the history.
            candidate.erased_at = None
            candidate.updated_at = now
            await repo.flush()

            # A candidate created just now has no applications yet: nothing to look up.
            application = (
                None
                if new_candidate
                else await repo.application(candidate.id, command.greenhouse_application_id)
            )
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
        return self._registered(candidate.id, application.id, created)

    @staticmethod
    def _registered(candidate_id: str, application_id: str, created: bool) -> tuple[str, str]:
        if created:
            APPLICATIONS_REGISTERED.inc()
        log.info(
            "application.registered",
            candidate_id=candidate_id,
            application_id=application_id,
            created=created,
        )
        return candidate_id, application_id

    async def candidate(self, organization_id: str, candidate_id: str) -> CandidateRecord:
        """One candidate with PII, applications and assessment data. A merged candidate's
        id answers with the candidate it was merged into."""
        check_organization_id(organization_id)
        check_our_id(candidate_id, "candidate_id")
        async with self._read_sessions.begin() as session:
            repo = Repository(session)
            candidate = await repo.resolve(await repo.candidate(organization_id, candidate_id))
            if candidate is None:
                raise NotFound("no such candidate")
            return await _record(repo, candidate)

    async def contacts(
        self, refs: Sequence[tuple[str, str]]
    ) -> list[tuple[Candidate, Sequence[Application]] | None]:
        """Several candidates by (organization id, candidate id), in that order, with
        their applications; None for an unknown one or another organization's. Two
        statements for the whole batch (a merged candidate's survivor costs one more)."""
        if len(refs) > MAX_BATCH:
            raise InvalidArgument(f"at most {MAX_BATCH} candidates at once")
        for organization_id, candidate_id in refs:
            check_organization_id(organization_id)
            check_our_id(candidate_id, "candidate_id")
        async with self._read_sessions.begin() as session:
            repo = Repository(session)
            found = {c.id: c for c in await repo.candidates_by_ids({c for _, c in refs})}
            chosen: list[Candidate | None] = []
            for organization_id, candidate_id in refs:
                candidate = found.get(candidate_id)
                if candidate is None or candidate.organization_id != organization_id:
                    chosen.append(None)
                else:
                    chosen.append(await repo.resolve(candidate))
            applications = await repo.applications_of({c.id for c in chosen if c is not None})
        return [
            None if candidate is None else (candidate, applications.get(candidate.id, []))
            for candidate in chosen
        ]

    async def find_candidate(
        self, organization_id: str, greenhouse_candidate_id: int
    ) -> CandidateRecord:
        """The candidate with this Greenhouse candidate id (following merges)."""
        check_organization_id(organization_id)
        if greenhouse_candidate_id <= 0:
            raise InvalidArgument("greenhouse_candidate_id must be positive")
        async with self._read_sessions.begin() as session:
            repo = Repository(session)
            candidate = await repo.resolve(
                await repo.candidate_by_greenhouse_id(organization_id, greenhouse_candidate_id)
            )
            if candidate is None:
                raise NotFound("no such candidate")
            return await _record(repo, candidate)

    async def record_assessment_data(self, command: RecordAssessmentData) -> str:
        """Stores one datum; the id. The same idempotency key returns the same id."""
        _check_datum(command)
        try:
            async with self._sessions.begin() as session:
                datum, created = await self._record_datum(Repository(session), command)
        except IntegrityError:
            # The same key arrived twice at once and the other call stored it.
            async with self._sessions.begin() as session:
                datum, created = await self._record_datum(Repository(session), command)
        log.info(
            "assessment_data.recorded",
            candidate_id=datum.candidate_id,
            invitation_id=datum.invitation_id,
            assessment_datum_id=datum.id,
            kind=datum.kind,
            created=created,
        )
        return datum.id

    async def _record_datum(
        self, repo: Repository, command: RecordAssessmentData
    ) -> tuple[AssessmentDatum, bool]:
        # Locked: an erasure running at the same time either sees this datum (and deletes
        # it) or finishes first (and this call then finds the candidate erased).
        candidate = await repo.resolve(
            await repo.candidate(command.organization_id, command.candidate_id, for_update=True),
            for_update=True,
        )
        if candidate is None:
            raise NotFound("no such candidate")
        seen = await repo.assessment_datum_by_key(command.organization_id, command.idempotency_key)
        if seen is not None:
            if (seen.candidate_id, seen.invitation_id, seen.kind, seen.value) != (
                candidate.id,
                command.invitation_id,
                command.kind,
                command.value,
            ):
                raise InvalidArgument("idempotency_key was already used for a different request")
            return seen, False
        if candidate.erased_at is not None:
            raise FailedPrecondition("the candidate's data has been erased")
        datum = AssessmentDatum(
            id=uuid.uuid4().hex,
            organization_id=command.organization_id,
            candidate_id=candidate.id,
            invitation_id=command.invitation_id,
            kind=command.kind,
            value=command.value,
            idempotency_key=command.idempotency_key,
            created_at=utcnow(),
        )
        repo.add(datum)
        await repo.flush()
        return datum, True


async def _record(repo: Repository, candidate: Candidate) -> CandidateRecord:
    return CandidateRecord(
        candidate,
        await repo.applications(candidate.id),
        await repo.assessment_data(candidate.id),
    )


def _check_datum(command: RecordAssessmentData) -> None:
    check_organization_id(command.organization_id)
    check_our_id(command.candidate_id, "candidate_id")
    checked_text(command.invitation_id, "invitation_id", max_length=_MAX_INVITATION_ID)
    if command.kind not in ASSESSMENT_DATA_KINDS:
        raise InvalidArgument("kind must be one of " + ", ".join(sorted(ASSESSMENT_DATA_KINDS)))
    if len(command.value.encode()) > MAX_ASSESSMENT_VALUE_BYTES:
        raise InvalidArgument("value is longer than 64 KiB")
    if has_control_characters(command.value, free_text=True):
        raise InvalidArgument("value must not contain control characters")
    checked_text(command.idempotency_key, "idempotency_key", max_length=_MAX_KEY)
