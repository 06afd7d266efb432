"""The outbox handler that emails invitation and password-reset links.

The outbox message holds the link's id only; the secret link is decrypted here, at
sending time, and its encrypted copy is dropped once the link is used."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alooba_common.db import utcnow
from alooba_common.mailer import Mailer
from alooba_common.outbox import OutboxMessage
from alooba_common.secrets import SecretBox
from console.accounts import INVITATION
from console.store.repository import Store

log = structlog.get_logger("console.email")

# How an email names an organization: the assessments service knows its name.
OrganizationNames = Callable[[str], Awaitable[str]]


@dataclass(frozen=True, slots=True)
class EmailSettings:
    public_url: str
    sender: str
    domain: str


class LinkEmails:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        box: SecretBox,
        mailer: Mailer,
        settings: EmailSettings,
        organization_name: OrganizationNames,
    ) -> None:
        self._sessions = sessions
        self._box = box
        self._mailer = mailer
        self._settings = settings
        self._organization_name = organization_name

    async def __call__(self, message: OutboxMessage) -> None:
        link_id = str(message.payload["link_id"])
        async with self._sessions.begin() as session:
            link = await Store(session).link(link_id)
            if link is None or link.encrypted_token is None or link.expires_at <= utcnow():
                log.info("email.skipped", link_id=link_id)
                return
            token = self._box.decrypt(link.encrypted_token, context=link.id)
            kind, to, organization_id = link.kind, link.email, link.organization_id
            expires = link.expires_at
        email = EmailMessage()
        email["From"] = self._settings.sender
        email["To"] = to
        email["Message-ID"] = f"<console-{link_id}@{self._settings.domain}>"
        base = self._settings.public_url
        when = expires.strftime("%Y-%m-%d %H:%M UTC")
        if kind == INVITATION:
            name = await self._organization_name(organization_id or "")
            email["Subject"] = f"You are invited to {name} on Alooba"
            email.set_content(
                f"You have been invited to {name}'s Alooba console, where the Greenhouse "
                f"integration is set up and results are read.\n\n"
                f"Accept the invitation: {base}/invite/{token}\n\n"
                f"The link works once, until {when}.\n"
            )
        else:
            email["Subject"] = "Reset your Alooba password"
            email.set_content(
                "Someone (we hope you) asked to reset the password of this Alooba account.\n\n"
                f"Choose a new password: {base}/password/reset/{token}\n\n"
                f"The link works once, until {when}. If you did not ask, ignore this email.\n"
            )
        await self._mailer.send(email)
        log.info("email.sent", link_id=link_id, kind=kind)
