"""A real SMTP server (aiosmtpd) in the test process, keeping every message it accepts."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from alooba_dev.ports import free_port


class _Collector:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        # The SMTP session (the client's address and port) each message came over.
        self.sessions: list[tuple[str, int]] = []
        # Recipients answered 550, as a server does for a mailbox it does not know.
        self.refused: set[str] = set()
        # Seconds the first message's DATA is held before it is accepted.
        self.first_delay = 0.0
        self._lock = threading.Lock()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.first_delay and not self.messages:
            delay, self.first_delay = self.first_delay, 0.0
            await asyncio.sleep(delay)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
            self.sessions.append(tuple(session.peer[:2]))
        return "250 Message accepted for delivery"


class SmtpSink:
    """Listens on a fixed loopback port, so it can be stopped and started again (an SMTP
    outage) without the service under test changing its configuration."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._collector = _Collector()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?starttls=off"

    @property
    def messages(self) -> list[EmailMessage]:
        return list(self._collector.messages)

    @property
    def sessions(self) -> list[tuple[str, int]]:
        """The session each of `messages` came over (the client's address and port)."""
        return list(self._collector.sessions)

    def refuse(self, *addresses: str) -> None:
        """Answers 550 to these recipients from now on (until `accept`)."""
        self._collector.refused = set(addresses)

    def accept(self) -> None:
        self._collector.refused = set()

    def hold_first(self, seconds: float) -> None:
        """Holds the next message received for `seconds` before accepting it."""
        self._collector.first_delay = seconds

    def start(self) -> SmtpSink:
        self._controller = Controller(self._collector, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int, timeout: float = 20.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while len(self._collector.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"expected {count} emails, got {len(self._collector.messages)} in {timeout}s"
                )
            time.sleep(0.02)
        return self.messages

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
