"""A real SMTP server (aiosmtpd) in the test process, keeping every message it accepts."""

from __future__ import annotations

import email
import email.policy
import socket
import threading
import time
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


class _Collector:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
        return "250 Message accepted for delivery"


class SmtpSink:
    """Listens on a fixed loopback port, so it can be stopped and started again (an SMTP
    outage) without the service under test changing its configuration."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or _free_port()
        self._collector = _Collector()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?starttls=off"

    @property
    def messages(self) -> list[EmailMessage]:
        return list(self._collector.messages)

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
