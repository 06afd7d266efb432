"""What the webhook endpoint needs from assessments: signature checks with the
organization's keys, webhook pings, and cancelling an erased candidate's invitations."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alooba_common.db import utcnow
from alooba_common.errors import InvalidArgument, Unauthenticated
from alooba_common.secrets import SecretBox
from assessments import states
from assessments.key_cache import KeyCache
from assessments.metrics import (
    INVITATIONS_CANCELLED_BY_ERASURE,
    WEBHOOK_PINGS,
    WEBHOOK_SIGNATURE_FAILURES,
)
from assessments.models import Invitation, InvitationEvent, WebhookPing
from assessments.repository import Repository

log = structlog.get_logger("assessments.webhooks")

# Exactly Greenhouse's format: the algorithm, one space, the hex digest. "sha256=..."
# (another vendor's convention) is refused like any other mismatch.
_SIGNATURE = re.compile(r"^sha256 ([0-9a-fA-F]{64})$")


@dataclass(frozen=True, slots=True)
class PingRecord:
    web_hook_id: int
    name: str
    event: str
    endpoint_url: str
    active: bool


def _noop() -> None:
    return None


class Webhooks:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        box: SecretBox,
        *,
        invitations_changed: Callable[[], None] = _noop,
        key_cache: KeyCache | None = None,
    ) -> None:
        self._sessions = sessions
        self._box = box
        self._key_cache = key_cache
        self._invitations_changed = invitations_changed

    async def verify_signature(self, organization_name: str, signature: str, body: bytes) -> str:
        """The organization's id when `signature` is the HMAC-SHA256 of `body` under one of
        its accepted keys; Unauthenticated otherwise (never saying which part failed)."""
        cached = (
            self._key_cache.webhook_secrets(organization_name)
            if self._key_cache is not None
            else None
        )
        if cached is not None:
            organization_id, secrets = cached.organization_id, cached.secrets
        else:
            organization_id, secrets = await self._load_secrets(organization_name)
        match = _SIGNATURE.match(signature.strip()) if signature else None
        if match is not None:
            given = match.group(1).lower()
            for secret in secrets:
                expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
                if hmac.compare_digest(expected, given):
                    structlog.contextvars.bind_contextvars(organization_id=organization_id)
                    return organization_id
        WEBHOOK_SIGNATURE_FAILURES.labels(organization_id).inc()
        log.warning("webhook.signature_refused", organization_id=organization_id)
        raise Unauthenticated("invalid webhook signature")

    async def _load_secrets(self, organization_name: str) -> tuple[str, list[str]]:
        """The organization's id and its accepted keys, decrypted (and cached)."""
        async with self._sessions.begin() as session:
            repo = Repository(session)
            organization = (
                await repo.organization_by_name(organization_name)
                if organization_name and len(organization_name) <= 200
                else None
            )
            if organization is None:
                WEBHOOK_SIGNATURE_FAILURES.labels("unknown").inc()
                raise Unauthenticated("invalid webhook signature")
            keys = await repo.unexpired_keys(organization.id, utcnow())
        secrets = [self._box.decrypt(key.encrypted_secret, context=key.id) for key in keys]
        if self._key_cache is not None:
            self._key_cache.remember_webhook_secrets(
                organization_name, organization.id, secrets, [key.expires_at for key in keys]
            )
        return organization.id, secrets

    async def record_ping(self, organization_id: str, ping: PingRecord) -> None:
        now = utcnow()
        async with self._sessions.begin() as session:
            existing = (
                await session.execute(
                    select(WebhookPing).where(
                        WebhookPing.organization_id == organization_id,
                        WebhookPing.web_hook_id == ping.web_hook_id,
                    )
                )
            ).scalar_one_or_none()
            row = existing or WebhookPing(
                organization_id=organization_id, web_hook_id=ping.web_hook_id
            )
            row.name = ping.name[:200]
            row.event = ping.event[:200]
            row.endpoint_url = ping.endpoint_url[:2048]
            row.active = ping.active
            row.received_at = now
            if existing is None:
                session.add(row)
        WEBHOOK_PINGS.inc()
        log.info("webhook.ping", web_hook_id=ping.web_hook_id, webhook_event=ping.event)

    async def pings(self, organization_id: str) -> Sequence[WebhookPing]:
        async with self._sessions.begin() as session:
            rows = await session.execute(
                select(WebhookPing)
                .where(WebhookPing.organization_id == organization_id)
                .order_by(WebhookPing.received_at.desc())
            )
            return rows.scalars().all()

    async def cancel_candidate_invitations(
        self, organization_id: str, candidate_id: str, reason: str
    ) -> int:
        if not candidate_id:
            raise InvalidArgument("candidate_id is required")
        now = utcnow()
        async with self._sessions.begin() as session:
            rows = await session.execute(
                update(Invitation)
                .where(
                    Invitation.organization_id == organization_id,
                    Invitation.candidate_id == candidate_id,
                    Invitation.status.in_((*states.OPEN, states.AWAITING_EVALUATION)),
                )
                .values(status=states.CANCELLED, cancelled_at=now, updated_at=now)
                .returning(Invitation.id)
            )
            cancelled = list(rows.scalars())
            session.add_all(
                InvitationEvent(
                    invitation_id=invitation_id,
                    kind="cancelled",
                    occurred_at=now,
                    detail={"reason": reason[:200]},
                )
                for invitation_id in cancelled
            )
        if cancelled:
            INVITATIONS_CANCELLED_BY_ERASURE.inc(len(cancelled))
            self._invitations_changed()
        log.info(
            "invitations.cancelled_for_candidate", candidate_id=candidate_id, count=len(cancelled)
        )
        return len(cancelled)
