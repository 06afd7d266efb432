"""A batch's emails over a few SMTP sessions of a real server (aiosmtpd): never one
connection per message, never more than SESSIONS_PER_BATCH at once, each message once,
and the sessions kept for the next batch."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from alooba_common.mailer import SESSIONS_PER_BATCH, SmtpMailer
from alooba_dev.smtp_sink import SmtpSink

MESSAGES = 12


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()


def _message(number: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "assessments@alooba.localhost"
    message["To"] = f"candidate-{number}@hogwarts.edu"
    message["Subject"] = f"Message {number}"
    message["Message-ID"] = f"<batch-{number}@alooba.localhost>"
    message.set_content("Hello")
    return message


async def test_a_batch_shares_a_few_sessions_and_sends_each_message_once(
    sink: SmtpSink,
) -> None:
    mailer = SmtpMailer.from_url(sink.url, timeout=10)
    try:
        async with mailer.batch():
            await asyncio.gather(*(mailer.send(_message(n)) for n in range(MESSAGES)))
        received = await asyncio.to_thread(sink.wait_for, MESSAGES)
        assert sorted(m["Message-ID"] for m in received) == sorted(
            f"<batch-{n}@alooba.localhost>" for n in range(MESSAGES)
        )
        first_batch = set(sink.sessions)
        assert 1 < len(first_batch) <= SESSIONS_PER_BATCH, first_batch

        # The next batch reuses the sessions the first one gave back.
        async with mailer.batch():
            await asyncio.gather(*(mailer.send(_message(n)) for n in range(MESSAGES, 16)))
        await asyncio.to_thread(sink.wait_for, 16)
        assert set(sink.sessions[MESSAGES:]) <= first_batch
    finally:
        await mailer.close()


async def test_a_refused_message_fails_alone_and_its_session_carries_the_next(
    sink: SmtpSink,
) -> None:
    sink.refuse("candidate-1@hogwarts.edu")
    mailer = SmtpMailer.from_url(sink.url, timeout=10)
    try:
        async with mailer.batch():
            outcomes = await asyncio.gather(
                *(mailer.send(_message(n)) for n in range(MESSAGES)), return_exceptions=True
            )
        failed = [n for n, outcome in enumerate(outcomes) if outcome is not None]
        assert failed == [1]
        received = await asyncio.to_thread(sink.wait_for, MESSAGES - 1)
        assert "<batch-1@alooba.localhost>" not in {m["Message-ID"] for m in received}
        assert len(set(sink.sessions)) <= SESSIONS_PER_BATCH
    finally:
        await mailer.close()
