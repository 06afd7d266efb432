"""Sending email: SMTP (aiosmtplib) in production, `.eml` files in the embedded default.

Shared by every service that emails: assessments (invitations) and the console (user
invitations, password resets)."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import ipaddress
import os
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from alooba_common.config import ConfigError


class Mailer(Protocol):
    async def send(self, message: Message) -> None:
        """Hands the message over (an EmailMessage, or a compat32 Message); raises when it
        was not accepted."""

    def batch(self) -> contextlib.AbstractAsyncContextManager[None]:
        """The sends made inside (in this task and the tasks it starts) share one
        connection, one message after another."""

    async def close(self) -> None:
        """Lets go of any connection kept open; called once, at shutdown."""

    async def forget(self, invitation_ids: Sequence[str]) -> None:
        """Removes what it kept of these invitations' emails (their candidate was erased)."""


# An SMTP session is kept open between messages (connecting, EHLO and, with TLS, the
# handshake cost more than sending a message) but not for long: servers drop idle
# clients after a few minutes, and a session found closed is simply not reused.
MAX_IDLE_SESSIONS = 8
MAX_IDLE_SECONDS = 30.0


class _Sessions:
    """Idle SMTP sessions, most recently used last. Only the event loop touches it."""

    def __init__(self) -> None:
        self.idle: list[tuple[aiosmtplib.SMTP, float]] = []

    def take(self) -> aiosmtplib.SMTP | None:
        now = time.monotonic()
        while self.idle:
            client, idle_since = self.idle.pop()
            if client.is_connected and now - idle_since < MAX_IDLE_SECONDS:
                return client
            client.close()
        return None

    def give_back(self, client: aiosmtplib.SMTP) -> None:
        if client.is_connected and len(self.idle) < MAX_IDLE_SESSIONS:
            self.idle.append((client, time.monotonic()))
        else:
            client.close()

    async def close(self) -> None:
        idle, self.idle = self.idle, []
        for client, _ in idle:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError):
                client.close()


# A batch's messages share a few sessions, each carrying one message after another. One
# message is several exchanges with the server (MAIL, RCPT, DATA, the content), each
# answered before the next is sent, so a single session delivers at most one message per
# few round trips however fast both ends are; a handful in parallel keeps a batch moving
# while still opening a connection per few dozen messages, not per message.
SESSIONS_PER_BATCH = 4


@dataclass(eq=False)
class _Batch:
    """The SMTP sessions shared by a batch's sends (SmtpMailer.batch)."""

    owner: object
    slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(SESSIONS_PER_BATCH))
    idle: list[aiosmtplib.SMTP] = field(default_factory=list)


_BATCH: contextvars.ContextVar[_Batch | None] = contextvars.ContextVar(
    "alooba_smtp_batch", default=None
)


@dataclass(frozen=True, slots=True)
class SmtpMailer:
    hostname: str
    port: int
    username: str | None
    password: str | None
    # True: STARTTLS required; False: never; None: when the server offers it.
    start_tls: bool | None
    use_tls: bool
    timeout: float
    _sessions: _Sessions = field(default_factory=_Sessions, compare=False, repr=False)

    def __repr__(self) -> str:  # the password never reaches a log or traceback
        return (
            f"SmtpMailer({self.hostname}:{self.port}, "
            f"tls={self.use_tls}, starttls={self.start_tls})"
        )

    @classmethod
    def from_url(
        cls, url: str, *, timeout: float, allow_plaintext_auth: bool = False
    ) -> SmtpMailer:
        """smtp://user:password@host:587?starttls=on|off|auto, or smtps://host:465.

        Credentials for a server that is not on this machine travel only over TLS:
        "auto" then means STARTTLS required (a server, or someone in between, that does
        not offer it would otherwise be sent them in plaintext), and "off" is refused
        unless `allow_plaintext_auth` (SMTP_ALLOW_PLAINTEXT_AUTH) says otherwise."""
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
            raise ConfigError("SMTP_URL must look like smtp://user:password@host:port")
        starttls_option = parse_qs(parts.query).get("starttls", ["auto"])[0].lower()
        start_tls = {"on": True, "true": True, "off": False, "false": False, "auto": None}
        if starttls_option not in start_tls:
            raise ConfigError("SMTP_URL's starttls must be on, off or auto")
        use_tls = parts.scheme == "smtps"
        try:
            port = parts.port or (465 if use_tls else 587)
        except ValueError:
            raise ConfigError("SMTP_URL has an invalid port") from None
        starting_tls = False if use_tls else start_tls[starttls_option]
        credentials = bool(parts.username or parts.password)
        if credentials and not use_tls and not _is_loopback(parts.hostname):
            if starting_tls is None:
                starting_tls = True
            elif starting_tls is False and not allow_plaintext_auth:
                raise ConfigError(
                    "SMTP_URL sends credentials to a remote server without STARTTLS: use "
                    "starttls=on (or smtps://), or set SMTP_ALLOW_PLAINTEXT_AUTH=true"
                )
        return cls(
            hostname=parts.hostname,
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            start_tls=starting_tls,
            use_tls=use_tls,
            timeout=timeout,
        )

    async def _connect(self) -> aiosmtplib.SMTP:
        client = self._sessions.take()
        if client is None:
            client = aiosmtplib.SMTP(
                hostname=self.hostname,
                port=self.port,
                username=self.username,
                password=self.password,
                start_tls=self.start_tls,
                use_tls=self.use_tls,
                timeout=self.timeout,
            )
            await client.connect()  # and STARTTLS and login, as configured
        return client

    @contextlib.asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        batch = _Batch(owner=self)
        token = _BATCH.set(batch)
        try:
            yield
        finally:
            _BATCH.reset(token)
            for client in batch.idle:
                self._sessions.give_back(client)

    async def _send_in_batch(self, batch: _Batch, message: Message) -> None:
        async with batch.slots:
            client = batch.idle.pop() if batch.idle else None
            if client is None or not client.is_connected:
                client = await self._connect()
            try:
                await client.send_message(message)
            except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPResponseException):
                # The server refused this message; aiosmtplib has reset the envelope, so
                # the session carries the batch's next message (if it is still open).
                batch.idle.append(client)
                raise
            except BaseException:
                client.close()
                raise
            batch.idle.append(client)

    async def send(self, message: Message) -> None:
        batch = _BATCH.get()
        if batch is not None and batch.owner is self:
            await self._send_in_batch(batch, message)
            return
        client = await self._connect()
        try:
            await client.send_message(message)
        except BaseException:
            # Never retried here: the outbox retries the message on a new session. A
            # session in an unknown state is not reused.
            client.close()
            raise
        self._sessions.give_back(client)

    async def close(self) -> None:
        await self._sessions.close()

    async def forget(self, invitation_ids: Sequence[str]) -> None:
        # Sent is sent: nothing of it is kept here.
        return None


@dataclass(frozen=True, slots=True)
class DirectoryMailer:
    """Writes each message to `<dir>/<Message-ID>.eml`. A retried send rewrites the same
    file, so the folder holds each email once."""

    directory: Path

    async def send(self, message: Message) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = message["Message-ID"].strip("<>").replace("/", "_") + ".eml"
        # Written whole then renamed, so a reader never sees half a message.
        descriptor, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(message.as_bytes())
        os.replace(temporary, self.directory / name)

    def batch(self) -> contextlib.AbstractAsyncContextManager[None]:
        return contextlib.nullcontext()  # nothing to share between files

    async def close(self) -> None:
        return None

    async def forget(self, invitation_ids: Sequence[str]) -> None:
        """Deletes every email of these invitations: the files hold the candidate's name
        and address, which must not outlive their erasure."""
        for invitation_id in invitation_ids:
            # Message-IDs are "<purpose>-<sequence>-<invitation id>@<domain>"
            # (assessments.app.notifications.message_id); invitation ids are hex.
            for path in self.directory.glob(f"*-{invitation_id}@*.eml"):
                path.unlink(missing_ok=True)


def _is_loopback(host: str) -> bool:
    """A server on this machine (a local relay): what goes to it never crosses a network."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def create_mailer(
    smtp_url: str | None, mail_dir: str, *, timeout: float, allow_plaintext_auth: bool = False
) -> Mailer:
    if smtp_url:
        return SmtpMailer.from_url(
            smtp_url, timeout=timeout, allow_plaintext_auth=allow_plaintext_auth
        )
    return DirectoryMailer(Path(mail_dir))
