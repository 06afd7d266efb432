"""The rules of the assessments service: who may do what, and what it changes.

Servicers translate protobuf to the calls here; the repository does the SQL. Every
method that reads or writes an organization's data takes the organization's id and
scopes every query by it, so another tenant's id reads as "not found".
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import secrets
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alooba_common.db import utcnow
from alooba_common.errors import FailedPrecondition, InvalidArgument, NotFound, Unauthenticated
from alooba_common.outbox import enqueue
from alooba_common.secrets import SecretBox
from alooba_common.validation import (
    checked_text,
    has_control_characters,
    normalized_email,
    optional_text,
)
from assessments import greenhouse, keys, states
from assessments.key_cache import KeyCache
from assessments.metrics import INVITATIONS_CREATED, PARTNER_AUTH_FAILURES
from assessments.models import (
    OUTBOX,
    ApiKey,
    Invitation,
    InvitationEvent,
    Organization,
    ResponseErrorReport,
    Test,
    WebhookPing,
    WebhookReceipt,
)
from assessments.repository import OutboxFigures, Repository

log = structlog.get_logger("assessments")

MAX_NAME_LENGTH = 200
MAX_PARTNER_KEY_LENGTH = 512


def new_id() -> str:
    return uuid.uuid4().hex


# --- what the service needs from the candidates service ------------------------


@dataclass(frozen=True, slots=True)
class CandidateContact:
    first_name: str
    last_name: str
    preferred_name: str | None
    email: str
    phone_number: str | None


@dataclass(frozen=True, slots=True)
class ApplicationRefs:
    candidate_id: str
    application_id: str


class CandidateDirectory(Protocol):
    """Where candidate PII goes; assessments keeps only the references it returns."""

    async def register_application(
        self,
        *,
        organization_id: str,
        profile: greenhouse.ProfileIds | None,
        contact: CandidateContact,
        resume_url: str | None,
        profile_url: str | None,
        sent_by: str | None,
        registration_key: str,
    ) -> ApplicationRefs: ...


@dataclass(frozen=True, slots=True)
class CandidateSummary:
    """What a report shows about the candidate; nothing once they were erased."""

    display_name: str
    erased: bool
    hiring_status: str


class CandidateReader(Protocol):
    async def summary(
        self, organization_id: str, candidate_id: str, application_id: str
    ) -> CandidateSummary | None:
        """None when the candidates service does not know the candidate."""


# --- commands and views ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SendTestCommand:
    partner_test_id: str
    contact: CandidateContact
    resume_url: str | None
    greenhouse_profile_url: str | None
    sent_by: str | None
    url: str


@dataclass(frozen=True, slots=True)
class TestStatusView:
    partner_status: str
    partner_profile_url: str | None
    partner_score: float | None
    metadata: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class ResponseErrorCommand:
    api_call: str
    errors: Sequence[str]
    partner_test_id: str | None
    partner_test_name: str | None
    partner_interview_id: str | None
    candidate_email_present: bool


@dataclass(frozen=True, slots=True)
class InvitationView:
    invitation: Invitation
    test_name: str
    events: Sequence[InvitationEvent]
    # Only when asked for (GetInvitation's include_candidate).
    candidate: CandidateSummary | None = None


@dataclass(frozen=True, slots=True)
class TestChanges:
    name: str | None = None
    skills: Sequence[str] | None = None
    needs_manual_evaluation: bool | None = None
    expiry_days: int | None = None


@dataclass(frozen=True, slots=True)
class IntegrationHealth:
    """What the setup check reads about one organization."""

    organization_id: str
    webhook_receipts: Sequence[WebhookReceipt]
    webhook_pings: Sequence[WebhookPing]
    callbacks: OutboxFigures
    dead_letters: dict[str, int]
    checked_at: dt.datetime
    # Invitations whose scores skip Harvest, by reason: (how many, the latest).
    harvest_skips: dict[str, tuple[int, dt.datetime]]


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds").replace("+00:00", "Z") if value else None


def test_status_view(invitation: Invitation, report_base_url: str) -> TestStatusView:
    """What Greenhouse sees. Only a complete invitation has a report link and a score,
    and then its metadata is flat with primitive values, as Greenhouse requires."""
    if invitation.status != states.COMPLETE:
        return TestStatusView(
            partner_status=invitation.status,
            partner_profile_url=None,
            partner_score=None,
            metadata=None,
        )
    metadata: dict[str, Any] = {
        "Started At": _iso(invitation.started_at),
        "Submitted At": _iso(invitation.submitted_at),
        "Completed At": _iso(invitation.completed_at),
    }
    for item in invitation.skill_scores or []:
        metadata[f"{item['skill']} Score"] = item["score"]
    if invitation.evaluator:
        metadata["Evaluated By"] = invitation.evaluator
    return TestStatusView(
        partner_status=states.COMPLETE,
        partner_profile_url=f"{report_base_url}/{invitation.id}",
        partner_score=invitation.score,
        metadata=metadata,
    )


def _require_text(value: str, field: str, max_length: int = MAX_NAME_LENGTH) -> str:
    return checked_text(value, field, max_length=max_length)


def _optional_text(value: str | None, field: str, max_length: int) -> str | None:
    return optional_text(value, field, max_length=max_length)


def _check_contact(contact: CandidateContact) -> CandidateContact:
    return CandidateContact(
        first_name=_require_text(contact.first_name, "candidate.first_name"),
        last_name=_require_text(contact.last_name, "candidate.last_name"),
        preferred_name=_optional_text(contact.preferred_name, "candidate.preferred_name", 200),
        email=normalized_email(contact.email, "candidate.email"),
        phone_number=_optional_text(contact.phone_number, "candidate.phone_number", 64),
    )


def _check_skills(skills: Sequence[str]) -> list[str]:
    cleaned = [_require_text(skill, "skills[]", 100) for skill in skills]
    if len(set(cleaned)) != len(cleaned):
        raise InvalidArgument("skills must not repeat")
    return cleaned


def _check_expiry_days(days: int) -> int:
    if not 1 <= days <= 365:
        raise InvalidArgument("expiry_days must be between 1 and 365")
    return days


def new_access_token() -> str:
    return secrets.token_urlsafe(32)


def _noop() -> None:
    return None


class PartnerApi:
    """Greenhouse's four partner calls, each authenticated by the organization's key."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        box: SecretBox,
        candidates: CandidateDirectory,
        *,
        callback_host_allowlist: tuple[str, ...],
        report_base_url: str = "http://localhost:8000/reports",
        outbox_committed: Callable[[], None] = _noop,
        key_cache: KeyCache,
        read_sessions: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        self._sessions = sessions
        # For the calls that only read (alooba_common.db.read_session_factory). A key's
        # last_used_at, written while authenticating, is a write of its own anyway.
        self._read_sessions = read_sessions or sessions
        self._box = box
        self._key_cache = key_cache
        self._candidates = candidates
        self._allowlist = callback_host_allowlist
        self._report_base_url = report_base_url.rstrip("/")
        # Called after a commit that queued outbox messages (wakes the relay).
        self._outbox_committed = outbox_committed

    async def _authenticate(self, repo: Repository, partner_key: str) -> str:
        """The organization id the key belongs to; Unauthenticated otherwise."""
        if not partner_key or len(partner_key) > MAX_PARTNER_KEY_LENGTH:
            PARTNER_AUTH_FAILURES.inc()
            raise Unauthenticated("invalid partner API key")
        lookup_hash = self._box.lookup_hash(partner_key)
        cached = self._key_cache.organization_for(lookup_hash)
        if cached is not None:
            structlog.contextvars.bind_contextvars(organization_id=cached)
            return cached
        key = await repo.api_key_by_hash(lookup_hash)
        now = utcnow()
        if key is None or not keys.accepts(key, now):
            PARTNER_AUTH_FAILURES.inc()
            raise Unauthenticated("invalid partner API key")
        # last_used_at is written at most once a minute anyway, so skipping it while
        # the key is cached loses nothing.
        await repo.touch_api_key(key.id, now, now - dt.timedelta(minutes=1))
        self._key_cache.remember(lookup_hash, key.organization_id, key.expires_at)
        structlog.contextvars.bind_contextvars(organization_id=key.organization_id)
        return key.organization_id

    async def authenticate(self, partner_key: str) -> str:
        async with self._read_sessions.begin() as session:
            return await self._authenticate(Repository(session), partner_key)

    async def list_tests(self, partner_key: str) -> Sequence[Test]:
        async with self._read_sessions.begin() as session:
            repo = Repository(session)
            organization_id = await self._authenticate(repo, partner_key)
            return await repo.tests(organization_id, include_archived=False)

    async def send_test(self, partner_key: str, command: SendTestCommand) -> tuple[str, bool]:
        """(partner_interview_id, created). The same callback url twice returns the first
        invitation and changes nothing."""
        async with self._read_sessions.begin() as session:
            repo = Repository(session)
            # The key first: an unauthenticated caller learns nothing about the rules.
            organization_id = await self._authenticate(repo, partner_key)
            url = greenhouse.check_callback_url(command.url, self._allowlist)
            profile = greenhouse.read_profile_url(command.greenhouse_profile_url)
            profile_url = _optional_text(
                command.greenhouse_profile_url, "candidate.greenhouse_profile_url", 2048
            )
            contact = _check_contact(command.contact)
            resume_url = _optional_text(command.resume_url, "candidate.resume_url", 2048)
            sent_by = _optional_text(command.sent_by, "sent_by", 320)
            test = await repo.test(organization_id, command.partner_test_id)
            if test is None or test.archived_at is not None:
                raise NotFound("no such test")
            existing = await repo.invitation_by_callback_url(organization_id, url)
            if existing is not None:
                return existing.id, False
            expiry_days = test.expiry_days
            test_id = test.id
            needs_manual_evaluation = test.needs_manual_evaluation

        # PII goes to the candidates service, outside our transaction: a network call
        # must not hold a database transaction (or SQLite's write lock) open. It is
        # idempotent, so a retry after a failure below registers nothing twice.
        refs = await self._candidates.register_application(
            organization_id=organization_id,
            profile=profile.ids,
            contact=contact,
            resume_url=resume_url,
            profile_url=profile_url,
            sent_by=sent_by,
            # Finds the candidate again on a retry when there is no Greenhouse id to.
            registration_key=hashlib.sha256(url.encode()).hexdigest(),
        )

        now = utcnow()
        invitation = Invitation(
            id=new_id(),
            organization_id=organization_id,
            test_id=test_id,
            status=states.SENT,
            callback_url=url,
            candidate_id=refs.candidate_id,
            application_id=refs.application_id,
            created_at=now,
            updated_at=now,
            expires_at=now + dt.timedelta(days=expiry_days),
            needs_manual_evaluation=needs_manual_evaluation,
        )
        access_token = new_access_token()
        invitation.access_token_hash = self._box.lookup_hash(access_token)
        invitation.encrypted_access_token = self._box.encrypt(access_token, context=invitation.id)
        try:
            async with self._sessions.begin() as session:
                repo = Repository(session)
                repo.add(invitation)
                await repo.flush()
                repo.add(InvitationEvent(invitation_id=invitation.id, kind="sent", occurred_at=now))
                if profile.harvest_skip is not None:
                    # Counted by the setup check: these scores will not reach Greenhouse.
                    repo.add(
                        InvitationEvent(
                            invitation_id=invitation.id,
                            kind=states.HARVEST_SKIPPED_EVENT + profile.harvest_skip,
                            occurred_at=now,
                        )
                    )
                # The email is queued in the same transaction: it exists if and only if
                # the invitation does, and a repeated send_test queues nothing.
                await enqueue(
                    session,
                    OUTBOX,
                    states.EMAIL_KIND,
                    {"invitation_id": invitation.id, "purpose": "invitation", "sequence": 0},
                    dedupe_key=f"invitation:{invitation.id}",
                )
        except IntegrityError:
            # A concurrent send_test for the same url won the race: answer with its id.
            async with self._read_sessions.begin() as session:
                winner = await Repository(session).invitation_by_callback_url(organization_id, url)
            if winner is None:
                raise
            return winner.id, False
        self._outbox_committed()
        INVITATIONS_CREATED.inc()
        log.info("invitation.created", invitation_id=invitation.id, test_id=test_id)
        return invitation.id, True

    async def test_status(self, partner_key: str, partner_interview_id: str) -> TestStatusView:
        async with self._read_sessions.begin() as session:
            repo = Repository(session)
            organization_id = await self._authenticate(repo, partner_key)
            invitation = await repo.invitation(organization_id, partner_interview_id)
            if invitation is None:
                raise NotFound("no such partner_interview_id")
        return test_status_view(invitation, self._report_base_url)

    async def record_response_error(self, partner_key: str, command: ResponseErrorCommand) -> str:
        api_call = _require_text(command.api_call, "api_call", 100)
        if any(has_control_characters(error, free_text=True) for error in command.errors):
            raise InvalidArgument("errors must not contain control characters")
        for field, value in (
            ("partner_test_id", command.partner_test_id),
            ("partner_test_name", command.partner_test_name),
            ("partner_interview_id", command.partner_interview_id),
        ):
            if value and has_control_characters(value):
                raise InvalidArgument(f"{field} must not contain control characters")
        errors = [error[:2000] for error in command.errors][:100]
        report = ResponseErrorReport(
            id=new_id(),
            api_call=api_call,
            errors=errors,
            partner_test_id=(command.partner_test_id or None) and command.partner_test_id[:200],
            partner_test_name=(command.partner_test_name or None)
            and command.partner_test_name[:500],
            partner_interview_id=(command.partner_interview_id or None)
            and command.partner_interview_id[:200],
            candidate_email_present=command.candidate_email_present,
        )
        async with self._sessions.begin() as session:
            repo = Repository(session)
            report.organization_id = await self._authenticate(repo, partner_key)
            repo.add(report)
        log.warning(
            "greenhouse.response_error",
            api_call=api_call,
            error_count=len(errors),
            partner_interview_id=report.partner_interview_id,
        )
        return report.id


class Administration:
    """Organizations, keys, the test catalog and invitation look-ups, for operators."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        box: SecretBox,
        *,
        default_expiry_days: int,
        key_rotation_grace_seconds: int,
        key_cache: KeyCache,
        flush_receipts: Callable[[], Awaitable[None]] | None = None,
        candidates: CandidateReader | None = None,
    ) -> None:
        self._sessions = sessions
        self._box = box
        self._candidates = candidates
        self._key_cache = key_cache
        self._flush_receipts = flush_receipts
        self._default_expiry_days = default_expiry_days
        self._default_grace = key_rotation_grace_seconds

    # --- organizations -------------------------------------------------------

    async def create_organization(self, name: str) -> Organization:
        # Exact, case-sensitive name: not even surrounding spaces are changed, because it
        # must equal what Greenhouse sends byte for byte.
        if not name or not name.strip():
            raise InvalidArgument("name must not be empty")
        if len(name) > MAX_NAME_LENGTH or name != name.strip():
            raise InvalidArgument(
                f"name must be at most {MAX_NAME_LENGTH} characters, without surrounding spaces"
            )
        if has_control_characters(name):
            raise InvalidArgument("name must not contain control characters")
        organization = Organization(id=new_id(), name=name, created_at=utcnow())
        try:
            async with self._sessions.begin() as session:
                Repository(session).add(organization)
        except IntegrityError:
            raise FailedPrecondition(f"an organization named {name!r} already exists") from None
        self._key_cache.forget_organization_name(name)  # no longer unknown
        log.info("organization.created", organization_id=organization.id)
        return organization

    async def organizations(self) -> Sequence[Organization]:
        async with self._sessions.begin() as session:
            return await Repository(session).organizations()

    async def organization(self, *, organization_id: str = "", name: str = "") -> Organization:
        async with self._sessions.begin() as session:
            repo = Repository(session)
            if organization_id:
                found = await repo.organization_by_id(organization_id)
            else:
                found = await repo.organization_by_name(name)
        if found is None:
            raise NotFound("no such organization")
        return found

    async def _require_organization(self, repo: Repository, organization_id: str) -> None:
        if not organization_id or await repo.organization_by_id(organization_id) is None:
            raise NotFound("no such organization")

    # --- partner API keys ----------------------------------------------------

    def _new_key(self, organization_id: str, now: dt.datetime) -> tuple[ApiKey, str]:
        secret = keys.generate_secret()
        key_id = new_id()
        key = ApiKey(
            id=key_id,
            organization_id=organization_id,
            prefix=keys.display_prefix(secret),
            lookup_hash=self._box.lookup_hash(secret),
            encrypted_secret=self._box.encrypt(secret, context=key_id),
            created_at=now,
        )
        return key, secret

    async def issue_key(self, organization_id: str) -> tuple[ApiKey, str]:
        now = utcnow()
        async with self._sessions.begin() as session:
            repo = Repository(session)
            await self._require_organization(repo, organization_id)
            current = [
                k for k in await repo.unexpired_keys(organization_id, now) if k.expires_at is None
            ]
            if current:
                raise FailedPrecondition(
                    "the organization already has an active key; rotate it instead"
                )
            key, secret = self._new_key(organization_id, now)
            repo.add(key)
        self._forget_keys(organization_id)
        log.info("api_key.issued", organization_id=organization_id, api_key_id=key.id)
        return key, secret

    async def rotate_key(
        self, organization_id: str, grace_seconds: int
    ) -> tuple[ApiKey, str, ApiKey]:
        if not 0 <= grace_seconds <= keys.MAX_ROTATION_GRACE_SECONDS:
            raise InvalidArgument(
                "grace_period_seconds must be between 0 (the default) and "
                f"{keys.MAX_ROTATION_GRACE_SECONDS} (30 days)"
            )
        grace = dt.timedelta(seconds=grace_seconds or self._default_grace)
        now = utcnow()
        async with self._sessions.begin() as session:
            repo = Repository(session)
            await self._require_organization(repo, organization_id)
            active = [
                k for k in await repo.unexpired_keys(organization_id, now) if k.expires_at is None
            ]
            if not active:
                raise FailedPrecondition("the organization has no active key; issue one first")
            for previous in active:
                previous.expires_at = now + grace
            key, secret = self._new_key(organization_id, now)
            repo.add(key)
        self._forget_keys(organization_id)
        log.info(
            "api_key.rotated",
            organization_id=organization_id,
            api_key_id=key.id,
            previous_api_key_id=active[0].id,
            grace_seconds=grace.total_seconds(),
        )
        return key, secret, active[0]

    async def revoke_key(self, organization_id: str, key_id: str) -> ApiKey:
        async with self._sessions.begin() as session:
            repo = Repository(session)
            key = await repo.api_key(organization_id, key_id)
            if key is None:
                raise NotFound("no such API key")
            if key.revoked_at is None:
                key.revoked_at = utcnow()
        self._forget_keys(organization_id)
        log.info("api_key.revoked", organization_id=organization_id, api_key_id=key_id)
        return key

    def _forget_keys(self, organization_id: str) -> None:
        self._key_cache.forget_organization(organization_id)

    async def keys(self, organization_id: str) -> Sequence[ApiKey]:
        async with self._sessions.begin() as session:
            repo = Repository(session)
            await self._require_organization(repo, organization_id)
            return await repo.api_keys(organization_id)

    # --- test catalog --------------------------------------------------------

    async def create_test(
        self,
        organization_id: str,
        *,
        name: str,
        skills: Sequence[str],
        needs_manual_evaluation: bool,
        expiry_days: int,
    ) -> Test:
        now = utcnow()
        test = Test(
            id=new_id(),
            organization_id=organization_id,
            name=_require_text(name, "name"),
            skills=_check_skills(skills),
            needs_manual_evaluation=needs_manual_evaluation,
            expiry_days=_check_expiry_days(expiry_days or self._default_expiry_days),
            created_at=now,
            updated_at=now,
        )
        async with self._sessions.begin() as session:
            repo = Repository(session)
            await self._require_organization(repo, organization_id)
            repo.add(test)
        log.info("test.created", organization_id=organization_id, test_id=test.id)
        return test

    async def update_test(self, organization_id: str, test_id: str, changes: TestChanges) -> Test:
        async with self._sessions.begin() as session:
            test = await Repository(session).test(organization_id, test_id)
            if test is None:
                raise NotFound("no such test")
            if changes.name is not None:
                test.name = _require_text(changes.name, "name")
            if changes.skills is not None:
                test.skills = _check_skills(changes.skills)
            if changes.needs_manual_evaluation is not None:
                test.needs_manual_evaluation = changes.needs_manual_evaluation
            if changes.expiry_days is not None:
                test.expiry_days = _check_expiry_days(changes.expiry_days)
            test.updated_at = utcnow()
        log.info("test.updated", organization_id=organization_id, test_id=test_id)
        return test

    async def archive_test(self, organization_id: str, test_id: str) -> Test:
        async with self._sessions.begin() as session:
            test = await Repository(session).test(organization_id, test_id)
            if test is None:
                raise NotFound("no such test")
            if test.archived_at is None:
                test.archived_at = test.updated_at = utcnow()
        log.info("test.archived", organization_id=organization_id, test_id=test_id)
        return test

    async def tests(self, organization_id: str, *, include_archived: bool) -> Sequence[Test]:
        async with self._sessions.begin() as session:
            repo = Repository(session)
            await self._require_organization(repo, organization_id)
            return await repo.tests(organization_id, include_archived=include_archived)

    # --- invitations ---------------------------------------------------------

    async def invitations(
        self, organization_id: str, *, page_size: int, page_token: str, status: str | None = None
    ) -> tuple[Sequence[InvitationView], str]:
        limit = min(max(page_size or 50, 1), 500)
        after = _decode_page_token(page_token) if page_token else None
        async with self._sessions.begin() as session:
            repo = Repository(session)
            await self._require_organization(repo, organization_id)
            rows = await repo.invitations_page(
                organization_id, limit=limit + 1, after=after, status=status
            )
            page = rows[:limit]
            tests = await repo.tests_by_id({row.test_id for row in page})
        views = [InvitationView(row, tests[row.test_id].name, ()) for row in page]
        next_token = _encode_page_token(page[-1]) if len(rows) > limit else ""
        return views, next_token

    async def invitation(
        self, organization_id: str, invitation_id: str, *, include_candidate: bool = False
    ) -> InvitationView:
        async with self._sessions.begin() as session:
            repo = Repository(session)
            invitation = await repo.invitation(organization_id, invitation_id)
            if invitation is None:
                raise NotFound("no such invitation")
            test = await repo.test(organization_id, invitation.test_id)
            events = await repo.invitation_events(invitation.id)
        candidate = None
        if include_candidate and self._candidates is not None:
            # Read now, outside the transaction; kept nowhere here.
            candidate = await self._candidates.summary(
                organization_id, invitation.candidate_id, invitation.application_id
            )
        return InvitationView(invitation, test.name if test else "", events, candidate)

    # --- the setup check -------------------------------------------------------

    async def integration_health(self, organization_id: str) -> IntegrationHealth:
        if self._flush_receipts is not None:
            await self._flush_receipts()  # what this process has counted but not written
        async with self._sessions.begin() as session:
            repo = Repository(session)
            await self._require_organization(repo, organization_id)
            return IntegrationHealth(
                organization_id=organization_id,
                webhook_receipts=await repo.webhook_receipts(organization_id),
                webhook_pings=await repo.webhook_pings(organization_id),
                callbacks=await repo.outbox_figures(organization_id, states.CALLBACK_KIND),
                dead_letters=await repo.dead_letter_counts(organization_id),
                checked_at=utcnow(),
                harvest_skips=await repo.harvest_skips(organization_id),
            )


def _encode_page_token(last: Invitation) -> str:
    raw = f"{last.created_at.isoformat()}|{last.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_page_token(token: str) -> tuple[dt.datetime, str]:
    try:
        created_at, _, invitation_id = base64.urlsafe_b64decode(token).decode().partition("|")
        after = dt.datetime.fromisoformat(created_at)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidArgument("page_token is not valid") from None
    if after.tzinfo is None or not invitation_id:
        raise InvalidArgument("page_token is not valid")
    return after, invitation_id
