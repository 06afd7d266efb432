"""What the webhook endpoint needs from assessments: signature checks with the
organization's keys, webhook pings, and cancelling an erased candidate's invitations."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Final

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alooba_common.db import utcnow
from alooba_common.errors import InvalidArgument, Unauthenticated
from alooba_common.secrets import SecretBox
from assessments.app.key_cache import KeyCache, WebhookSecrets
from assessments.app.receipts import ReceiptTally
from assessments.metrics import (
    INVITATIONS_CANCELLED_BY_ERASURE,
    WEBHOOK_PINGS,
    WEBHOOK_SIGNATURE_FAILURES,
)
from assessments.store.models import InvitationEvent, WebhookPing
from assessments.store.repository import Repository

log = structlog.get_logger("assessments.app.webhooks")

# Exactly Greenhouse's format: the algorithm, one space, the hex digest. "sha256=..."
# (another vendor's convention) is refused like any other mismatch.
_SIGNATURE = re.compile(r"^sha256 ([0-9a-fA-F]{64})$")

# Greenhouse's documented actions (reference §2.2). Receipts are counted per action for
# the setup check; anything else counts as "other", so a sender cannot grow the table
# with made-up names (the action is read before the signature is known to be good).
GREENHOUSE_ACTIONS: Final = frozenset(
    {
        "ping",
        "reject_candidate",
        "unreject_candidate",
        "hire_candidate",
        "unhire_candidate",
        "candidate_anonymized",
        "delete_candidate",
        "merge_candidate",
        "candidate_stage_change",
        "update_candidate",
        "new_candidate_application",
        "delete_application",
        "application_updated",
        "new_prospect_application",
        "offer_created",
        "offer_approved",
        "offer_updated",
        "offer_deleted",
        "job_created",
        "job_deleted",
        "job_updated",
        "job_approved",
        "job_post_created",
        "job_post_updated",
        "job_post_deleted",
        "job_interview_stage_deleted",
        "interview_deleted",
        "scorecard_deleted",
        "department_deleted",
        "office_deleted",
    }
)
OTHER_ACTION: Final = "other"
# Organization names are at most this long (assessments.app.administration.MAX_NAME_LENGTH).
MAX_ORGANIZATION_NAME: Final = 200


def receipt_action(action: str) -> str:
    """The action a webhook is counted under."""
    return action if action in GREENHOUSE_ACTIONS else OTHER_ACTION


@dataclass(frozen=True, slots=True)
class PingRecord:
    web_hook_id: int
    name: str
    event: str
    endpoint_url: str
    active: bool


class Webhooks:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        box: SecretBox,
        *,
        key_cache: KeyCache,
        receipts: ReceiptTally,
        forget_emails: Callable[[Sequence[str]], Awaitable[None]] | None = None,
    ) -> None:
        self._sessions = sessions
        # What the mailer kept of an erased candidate's emails (the .eml files) goes too.
        self._forget_emails = forget_emails
        self._box = box
        # Signs the body when the organization is unknown, so that costs what a known one
        # does; it is this process's own and matches no signature anyone could make.
        self._decoy = secrets.token_urlsafe(32)
        self._key_cache = key_cache
        self._receipts = receipts

    async def organization_known(self, organization_name: str) -> bool:
        """Whether webhooks may name this organization: known ones and unknown ones are
        looked up (and cached) the same way, so the answer costs the same either way."""
        return (await self._secrets(organization_name)).known

    async def verify_signature(
        self, organization_name: str, signature: str, body: bytes, action: str = ""
    ) -> str:
        """The organization's id when `signature` is the HMAC-SHA256 of `body` under one of
        its accepted keys; Unauthenticated otherwise (never saying which part failed).
        Either way, for a known organization, counts a receipt of `action` (the setup
        check's "seen" and "last signature failure"); an unknown one records nothing.
        An unknown organization costs what a known one does: a cached look-up and an
        HMAC of the body (under a key of this process's own that matches nothing)."""
        found = await self._secrets(organization_name)
        organization_id = found.organization_id
        match = _SIGNATURE.match(signature.strip()) if signature else None
        given = match.group(1).lower() if match is not None else ""
        verified = False
        for secret in found.secrets or (self._decoy,):
            expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            verified |= hmac.compare_digest(expected, given) and found.known
        if verified:
            structlog.contextvars.bind_contextvars(organization_id=organization_id)
            self._count_receipt(organization_id, action, verified=True)
            return organization_id
        WEBHOOK_SIGNATURE_FAILURES.inc()
        if found.known:
            log.warning("webhook.signature_refused", organization_id=organization_id)
            self._count_receipt(organization_id, action, verified=False)
        raise Unauthenticated("invalid webhook signature")

    async def _secrets(self, organization_name: str) -> WebhookSecrets:
        cached = self._key_cache.webhook_secrets(organization_name)
        return cached if cached is not None else await self._load_secrets(organization_name)

    def _count_receipt(self, organization_id: str, action: str, *, verified: bool) -> None:
        # Tallied and written in batches, off the webhook's path (assessments.app.receipts).
        self._receipts.count(
            organization_id, receipt_action(action), verified=verified, at=utcnow()
        )

    async def _load_secrets(self, organization_name: str) -> WebhookSecrets:
        """The organization's id and its accepted keys, decrypted (and cached); for an
        unknown name an entry without either (cached as long)."""
        if not organization_name or len(organization_name) > MAX_ORGANIZATION_NAME:
            return WebhookSecrets("", (), 0.0)  # no organization has such a name
        async with self._sessions.begin() as session:
            repo = Repository(session)
            organization = await repo.organization_by_name(organization_name)
            keys = await repo.unexpired_keys(organization.id, utcnow()) if organization else []
        if organization is None:
            self._key_cache.remember_unknown_organization(organization_name)
            return WebhookSecrets("", (), 0.0)
        accepted = [self._box.decrypt(key.encrypted_secret, context=key.id) for key in keys]
        self._key_cache.remember_webhook_secrets(
            organization_name, organization.id, accepted, [key.expires_at for key in keys]
        )
        return WebhookSecrets(organization.id, tuple(accepted), 0.0)

    async def record_ping(self, organization_id: str, ping: PingRecord) -> None:
        now = utcnow()
        async with self._sessions.begin() as session:
            repository = Repository(session)
            existing = await repository.webhook_ping(organization_id, ping.web_hook_id)
            row = existing or WebhookPing(
                organization_id=organization_id, web_hook_id=ping.web_hook_id
            )
            row.name = ping.name[:200]
            row.event = ping.event[:200]
            row.endpoint_url = ping.endpoint_url[:2048]
            row.active = ping.active
            row.received_at = now
            if existing is None:
                repository.add(row)
        WEBHOOK_PINGS.inc()
        log.info("webhook.ping", web_hook_id=ping.web_hook_id, webhook_event=ping.event)

    async def pings(self, organization_id: str) -> Sequence[WebhookPing]:
        async with self._sessions.begin() as session:
            return await Repository(session).webhook_pings(organization_id)

    async def cancel_candidate_invitations(
        self, organization_id: str, candidate_id: str, reason: str
    ) -> int:
        if not candidate_id:
            raise InvalidArgument("candidate_id is required")
        now = utcnow()
        async with self._sessions.begin() as session:
            repository = Repository(session)
            cancelled = await repository.cancel_candidate_invitations(
                organization_id, candidate_id, now
            )
            every_invitation = await repository.candidate_invitation_ids(
                organization_id, candidate_id
            )
            repository.add(
                *(
                    InvitationEvent(
                        invitation_id=invitation_id,
                        kind="cancelled",
                        occurred_at=now,
                        detail={"reason": reason[:200]},
                    )
                    for invitation_id in cancelled
                )
            )
        if self._forget_emails is not None:
            await self._forget_emails(every_invitation)
        if cancelled:
            INVITATIONS_CANCELLED_BY_ERASURE.inc(len(cancelled))
        log.info(
            "invitations.cancelled_for_candidate", candidate_id=candidate_id, count=len(cancelled)
        )
        return len(cancelled)
