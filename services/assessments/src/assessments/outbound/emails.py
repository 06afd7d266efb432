"""The outbox handler for invitation emails (first send, resends and reminders).

Contact details are fetched from the candidates service at sending time and never
stored in the outbox, so an erased candidate's address is gone from everywhere.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import aiosmtplib
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alooba_common.mailer import Mailer
from alooba_common.outbox import OutboxMessage, PermanentFailure, RetryLater
from alooba_common.secrets import SecretBox
from assessments.app.notifications import InvitationEmail, Recipient, compose
from assessments.metrics import EMAILS_SENT, EMAILS_SKIPPED
from assessments.store import states
from assessments.store.repository import Repository

log = structlog.get_logger("assessments.email")


@dataclass(frozen=True, slots=True)
class CandidateForEmail:
    display_name: str
    email: str
    # The preferred name, else the first name: what the greeting says.
    greeting: str
    # active, rejected or hired
    hiring_status: str


class CandidateLookup(Protocol):
    async def candidate_for_email(
        self, organization_id: str, candidate_id: str, application_id: str
    ) -> CandidateForEmail | None:
        """None when the candidate is unknown or erased; the hiring status is the
        application's."""

    async def candidates_for_email(
        self, refs: Sequence[tuple[str, str, str]]
    ) -> list[CandidateForEmail | None]:
        """The same for several (organization, candidate, application) ids, in one call."""


# The candidates of the batch being delivered (InvitationEmailHandler.batch), by
# invitation id; None: unknown or erased.
_PREFETCHED: contextvars.ContextVar[Mapping[str, CandidateForEmail | None] | None] = (
    contextvars.ContextVar("alooba_email_prefetched", default=None)
)


@dataclass(frozen=True, slots=True)
class EmailSettings:
    link_base_url: str
    sender: str
    domain: str


class InvitationEmailHandler:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        box: SecretBox,
        candidates: CandidateLookup,
        mailer: Mailer,
        settings: EmailSettings,
        *,
        read_sessions: async_sessionmaker[AsyncSession] | None = None,
    ) -> None:
        # Locks the invitation while its email is sent (see __call__).
        self._sessions = sessions
        # Everything before the send only reads (alooba_common.db.read_session_factory).
        self._read_sessions = read_sessions or sessions
        self._box = box
        self._candidates = candidates
        self._mailer = mailer
        self._settings = settings

    @contextlib.asynccontextmanager
    async def batch(self, messages: Sequence[OutboxMessage]) -> AsyncIterator[None]:
        """A claimed batch of emails: their candidates fetched in one call, and the
        emails sent over one SMTP session. Each is still delivered (or failed) on its own;
        when the one call fails, each message fetches its candidate itself."""
        try:
            prefetched = await self._prefetch(messages)
        except Exception as error:  # the candidates service may be restarting
            log.warning("email.prefetch_failed", error=type(error).__name__)
            prefetched = {}
        token = _PREFETCHED.set(prefetched)
        try:
            async with self._mailer.batch():
                yield
        finally:
            _PREFETCHED.reset(token)

    async def _prefetch(
        self, messages: Sequence[OutboxMessage]
    ) -> dict[str, CandidateForEmail | None]:
        ids = [str(message.payload["invitation_id"]) for message in messages]
        async with self._read_sessions.begin() as session:
            invitations = await Repository(session).invitation_refs(ids)
        if not invitations:
            return {}
        found = await self._candidates.candidates_for_email(
            [(i.organization_id, i.candidate_id, i.application_id) for i in invitations]
        )
        return {i.id: candidate for i, candidate in zip(invitations, found, strict=True)}

    async def __call__(self, message: OutboxMessage) -> None:
        invitation_id = str(message.payload["invitation_id"])
        purpose = str(message.payload.get("purpose", "invitation"))
        async with self._read_sessions.begin() as session:
            repo = Repository(session)
            invitation = await repo.invitation_by_id(invitation_id)
            if invitation is None:
                raise PermanentFailure("the invitation no longer exists")
            test = await repo.test(invitation.organization_id, invitation.test_id)
        if invitation.status not in states.OPEN:
            # Cancelled, expired or finished since the email was queued: nothing to say.
            EMAILS_SKIPPED.labels(purpose, invitation.status).inc()
            log.info("email.skipped", invitation_id=invitation_id, reason=invitation.status)
            return
        if invitation.encrypted_access_token is None:
            raise PermanentFailure("the invitation has no access token")

        prefetched = _PREFETCHED.get() or {}
        candidate = (
            prefetched[invitation.id]
            if invitation.id in prefetched
            else await self._candidates.candidate_for_email(
                invitation.organization_id, invitation.candidate_id, invitation.application_id
            )
        )
        if candidate is None:
            EMAILS_SKIPPED.labels(purpose, "candidate_gone").inc()
            log.info("email.skipped", invitation_id=invitation_id, reason="candidate_gone")
            return
        if purpose == "reminder" and candidate.hiring_status != "active":
            EMAILS_SKIPPED.labels(purpose, candidate.hiring_status).inc()
            log.info("email.skipped", invitation_id=invitation_id, reason=candidate.hiring_status)
            return

        token = self._box.decrypt(invitation.encrypted_access_token, context=invitation.id)
        email = InvitationEmail(
            purpose=purpose,
            invitation_id=invitation.id,
            sequence=int(message.payload.get("sequence", 0)),
            test_name=test.name if test else "assessment",
            link=f"{self._settings.link_base_url.rstrip('/')}/{token}",
            deadline=invitation.expires_at,
        )
        try:
            composed = compose(
                email,
                Recipient(candidate.display_name, candidate.email, candidate.greeting),
                sender=self._settings.sender,
                domain=self._settings.domain,
            )
        except ValueError as error:
            # Data no retry can fix (compose's messages carry no PII): a dead letter at
            # once, which is counted and alerted on, rather than a dozen silent retries.
            raise PermanentFailure(f"the email cannot be composed: {error}") from None
        # The status is checked again with the invitation's row locked, and the lock held
        # until the email is handed over: a cancellation (or expiry, or completion) that
        # commits while this delivery was between its first look and the SMTP server
        # would otherwise be followed by an email whose link no longer works. The
        # cancellation waits for the send instead (at most the SMTP timeout), and a send
        # that comes after it sees it. (On SQLite every transaction holds the database's
        # write lock: the sends of one process queue, which only development runs see.)
        async with self._sessions.begin() as session:
            locked = await Repository(session).invitation_for_update(invitation_id)
            if locked is None:
                raise PermanentFailure("the invitation no longer exists")
            if locked.status not in states.OPEN:
                EMAILS_SKIPPED.labels(purpose, locked.status).inc()
                log.info("email.skipped", invitation_id=invitation_id, reason=locked.status)
                return
            try:
                await self._mailer.send(composed)
            except aiosmtplib.SMTPException as error:
                # The server's text quotes the recipient: only its class and reply codes
                # are kept (stored as the message's last error, and logged).
                raise RetryLater(_smtp_failure(error)) from None
        EMAILS_SENT.labels(purpose).inc()
        log.info("email.sent", invitation_id=invitation_id, purpose=purpose)


def _smtp_failure(error: aiosmtplib.SMTPException) -> str:
    """An SMTP failure as its class and reply codes, never the server's text."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = sorted({refused.code for refused in error.recipients})
    elif isinstance(error, aiosmtplib.SMTPResponseException):
        codes = [error.code]
    else:
        codes = []
    said = f": the server answered {', '.join(map(str, codes))}" if codes else ""
    return f"{type(error).__name__}{said}"
