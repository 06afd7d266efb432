"""The partner API's use cases, what Greenhouse calls through the gateway: list tests,
send a test, a test's status, a response error (and the gateway's key check). Every call is
authenticated by the organization's partner key and scoped to that organization, so another
tenant's partner_interview_id reads as "not found"."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alooba_common.db import new_id, utcnow
from alooba_common.errors import InvalidArgument, NotFound, Unauthenticated
from alooba_common.outbox import enqueue
from alooba_common.secrets import SecretBox
from alooba_common.validation import (
    checked_contact,
    checked_text,
    has_control_characters,
    optional_text,
)
from assessments.app import greenhouse, keys
from assessments.app.candidate_directory import CandidateContact, CandidateDirectory
from assessments.app.key_cache import KeyCache
from assessments.metrics import INVITATIONS_CREATED, PARTNER_AUTH_FAILURES
from assessments.store import send_path, states
from assessments.store.models import OUTBOX, Invitation, ResponseErrorReport, Test
from assessments.store.repository import Repository
from assessments.store.states import InvitationStatus

log = structlog.get_logger("assessments")

MAX_PARTNER_KEY_LENGTH = 512


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
    partner_status: InvitationStatus
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


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds").replace("+00:00", "Z") if value else None


def test_status_view(
    invitation: Invitation | send_path.StatusRow, report_base_url: str
) -> TestStatusView:
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
            profile_url = optional_text(
                command.greenhouse_profile_url, "candidate.greenhouse_profile_url", max_length=2048
            )
            contact = replace(command.contact, **checked_contact(command.contact, "candidate."))
            resume_url = optional_text(command.resume_url, "candidate.resume_url", max_length=2048)
            sent_by = optional_text(command.sent_by, "sent_by", max_length=320)
            target = await send_path.send_target(
                session, organization_id, command.partner_test_id, url
            )
            if target is None or target.archived:
                raise NotFound("no such test")
            if target.existing_id is not None:
                return target.existing_id, False

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
        invitation_id = new_id()
        access_token = new_access_token()
        invitation = {
            "id": invitation_id,
            "organization_id": organization_id,
            "test_id": command.partner_test_id,
            "status": states.SENT,
            "callback_url": url,
            "candidate_id": refs.candidate_id,
            "application_id": refs.application_id,
            "created_at": now,
            "updated_at": now,
            "expires_at": now + dt.timedelta(days=target.expiry_days),
            "needs_manual_evaluation": target.needs_manual_evaluation,
            "access_token_hash": self._box.lookup_hash(access_token),
            "encrypted_access_token": self._box.encrypt(access_token, context=invitation_id),
        }
        events = ["sent"]
        if profile.harvest_skip is not None:
            # Counted by the setup check: these scores will not reach Greenhouse.
            events.append(states.HARVEST_SKIPPED_EVENT + profile.harvest_skip)
        try:
            async with self._sessions.begin() as session:
                await send_path.insert_invitation(session, invitation, events, now)
                # The email is queued in the same transaction: it exists if and only if
                # the invitation does, and a repeated send_test queues nothing.
                await enqueue(
                    session,
                    OUTBOX,
                    states.EMAIL_KIND,
                    {"invitation_id": invitation_id, "purpose": "invitation", "sequence": 0},
                    dedupe_key=f"invitation:{invitation_id}",
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
        log.info("invitation.created", invitation_id=invitation_id, test_id=command.partner_test_id)
        return invitation_id, True

    async def test_status(self, partner_key: str, partner_interview_id: str) -> TestStatusView:
        async with self._read_sessions.begin() as session:
            repo = Repository(session)
            organization_id = await self._authenticate(repo, partner_key)
            invitation = await send_path.invitation_status(
                session, organization_id, partner_interview_id
            )
            if invitation is None:
                raise NotFound("no such partner_interview_id")
        return test_status_view(invitation, self._report_base_url)

    async def record_response_error(self, partner_key: str, command: ResponseErrorCommand) -> str:
        api_call = checked_text(command.api_call, "api_call", max_length=100)
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
