"""The operators' and the console's use cases: organizations, partner keys, the test
catalog, invitations and what the setup check reads. Every method that reads or writes an
organization's data takes its id and scopes every query by it, so another tenant's id reads
as "not found"."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alooba_common.db import new_id, utcnow
from alooba_common.errors import AlreadyExists, FailedPrecondition, InvalidArgument, NotFound
from alooba_common.secrets import SecretBox
from alooba_common.validation import checked_text, has_control_characters
from assessments.app import keys
from assessments.app.candidate_directory import CandidateReader, CandidateSummary
from assessments.app.key_cache import KeyCache
from assessments.store import states
from assessments.store.models import (
    ApiKey,
    Invitation,
    InvitationEvent,
    Organization,
    Test,
    WebhookPing,
    WebhookReceipt,
)
from assessments.store.repository import OutboxFigures, Repository
from assessments.store.states import InvitationStatus

log = structlog.get_logger("assessments")

MAX_NAME_LENGTH = 200  # an organization's, a test's


@dataclass(frozen=True, slots=True)
class InvitationView:
    invitation: Invitation
    test_name: str
    events: Sequence[InvitationEvent]
    # Only when asked for (GetInvitation's include_candidate).
    candidate: CandidateSummary | None = None
    # What the outbox delivered for it (GetInvitation): (milestone, when).
    deliveries: Sequence[tuple[str, dt.datetime]] = ()


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


def _check_skills(skills: Sequence[str]) -> list[str]:
    cleaned = [checked_text(skill, "skills[]", max_length=100) for skill in skills]
    if len(set(cleaned)) != len(cleaned):
        raise InvalidArgument("skills must not repeat")
    return cleaned


def _check_expiry_days(days: int) -> int:
    if not 1 <= days <= 365:
        raise InvalidArgument("expiry_days must be between 1 and 365")
    return days


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
        check_organization_name(name)
        organization = Organization(id=new_id(), name=name, created_at=utcnow())
        try:
            async with self._sessions.begin() as session:
                Repository(session).add(organization)
        except IntegrityError:
            raise AlreadyExists(f"an organization named {name!r} already exists") from None
        self._key_cache.forget_organization_name(name)  # no longer unknown
        log.info("organization.created", organization_id=organization.id)
        return organization

    async def rename_organization(
        self, organization_id: str, name: str
    ) -> tuple[Organization, str]:
        """Gives the organization a new name (what Greenhouse must send as X-Organisation
        from now on); returns it and the name it had. ALREADY_EXISTS when another
        organization has the name."""
        check_organization_name(name)
        try:
            async with self._sessions.begin() as session:
                organization = await Repository(session).organization_by_id(organization_id)
                if organization is None:
                    raise NotFound("no such organization")
                previous = organization.name
                organization.name = name
        except IntegrityError:
            raise AlreadyExists("another organization already has that name") from None
        # The old name is unknown from now on, and the new one known (this replica;
        # the others' entries expire with the cache's time to live).
        self._key_cache.forget_organization_name(previous)
        self._key_cache.forget_organization_name(name)
        log.info("organization.renamed", organization_id=organization_id)
        return organization, previous

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
            name=checked_text(name, "name", max_length=MAX_NAME_LENGTH),
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
                test.name = checked_text(changes.name, "name", max_length=MAX_NAME_LENGTH)
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
        self,
        organization_id: str,
        *,
        page_size: int,
        page_token: str,
        status: InvitationStatus | None = None,
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
        self,
        organization_id: str,
        invitation_id: str,
        *,
        include_candidate: bool = False,
        include_deliveries: bool = False,
    ) -> InvitationView:
        """One invitation; `include_deliveries` only for GetInvitation (the platform's
        answers are replayed for an idempotency key, and deliveries change after them)."""
        async with self._sessions.begin() as session:
            repo = Repository(session)
            invitation = await repo.invitation(organization_id, invitation_id)
            if invitation is None:
                raise NotFound("no such invitation")
            test = await repo.test(organization_id, invitation.test_id)
            events = await repo.invitation_events(invitation.id)
            deliveries = await repo.deliveries(invitation.id) if include_deliveries else []
        candidate = None
        if include_candidate and self._candidates is not None:
            # Read now, outside the transaction; kept nowhere here.
            candidate = await self._candidates.summary(
                organization_id, invitation.candidate_id, invitation.application_id
            )
        return InvitationView(invitation, test.name if test else "", events, candidate, deliveries)

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


def check_organization_name(name: str) -> None:
    """An organization's name is used exactly, case-sensitively: not even surrounding
    spaces are changed, because it must equal what Greenhouse sends byte for byte."""
    if not name or not name.strip():
        raise InvalidArgument("name must not be empty")
    if len(name) > MAX_NAME_LENGTH or name != name.strip():
        raise InvalidArgument(
            f"name must be at most {MAX_NAME_LENGTH} characters, without surrounding spaces"
        )
    if has_control_characters(name):
        raise InvalidArgument("name must not contain control characters")
