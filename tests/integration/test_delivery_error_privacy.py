"""Finding 4a: what is stored or logged about a failed delivery holds no PII.

An SMTP server that refuses a recipient echoes the address (and here the name) in its
answer; that answer once reached the logs, `outbox_message.last_error` and `alooba-gh
outbox dead-letters`, and outlived the candidate's erasure. Now a failure is kept as its
class and a reason of our own (an SMTP reply code, say), and dead letters written before
are redacted by a migration."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from integration.helpers import Tenant, new_tenant, send_test
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from support.greenhouse import send_test_body
from support.inprocess import running_system

from alooba.outbox.v1 import outbox_pb2 as opb
from alooba_common.db import async_url
from alooba_common.migrations import upgrade_to_head
from alooba_common.outbox import RelaySettings

DEAD_LETTER_DEADLINE_SECONDS = 30.0
QUICK_RELAY = RelaySettings(
    max_attempts=2, base_delay_seconds=0.05, max_delay_seconds=0.1, poll_interval_seconds=0.05
)


class _RefusesEveryRecipient:
    """Answers RCPT as real servers do: quoting the address, and here the name too."""

    def __init__(self) -> None:
        self.name = ""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        return f"550 5.1.1 <{address}>: Recipient address rejected: {self.name} is unknown"


@pytest.fixture
def refusing_smtp() -> Iterator[tuple[str, _RefusesEveryRecipient]]:
    handler = _RefusesEveryRecipient()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}?starttls=off", handler
    finally:
        controller.stop()


async def test_an_smtp_refusal_leaves_no_pii_in_the_dead_letter_or_the_logs(
    shared_databases: dict[str, str],
    refusing_smtp: tuple[str, _RefusesEveryRecipient],
    capsys: pytest.CaptureFixture[str],
) -> None:
    smtp_url, server = refusing_smtp
    marker = uuid.uuid4().hex[:10]
    first, last, email = f"Ginny{marker}", f"Weasley{marker}", f"ginny.{marker}@hogwarts.edu"
    server.name = f"{first} {last}"
    async with running_system(shared_databases, smtp_url=smtp_url, relay=QUICK_RELAY) as system:
        tenant: Tenant = await new_tenant(system)
        body = send_test_body(tenant.test.id, first_name=first, last_name=last, email=email)
        assert (await send_test(system, tenant.key, body)).status == 200

        loop = asyncio.get_running_loop()
        deadline = loop.time() + DEAD_LETTER_DEADLINE_SECONDS
        while not (
            letters := (
                await system.outbox.ListDeadLetters(opb.ListDeadLettersRequest(limit=1000))
            ).dead_letters
        ) or not any(marker_in(letter) for letter in letters):
            assert loop.time() < deadline, "the refused email never became a dead letter"
            await asyncio.sleep(0.05)

    [letter] = [letter for letter in letters if marker_in(letter)]
    logs = capsys.readouterr().out
    for pii in (first, last, email, marker):
        assert pii not in letter.last_error
        assert pii not in logs
    assert letter.last_error.startswith("SMTPRecipientsRefused")
    assert "550" in letter.last_error


def marker_in(letter: opb.DeadLetter) -> bool:
    # Which dead letter is this test's: the refusal of the only recipient it sent to.
    return letter.kind == "invitation.email" and "SMTPRecipientsRefused" in letter.last_error


async def test_dead_letters_written_before_are_redacted_by_the_migration(
    new_databases: Any,
) -> None:
    databases = await asyncio.to_thread(new_databases)
    url = databases["assessments"]
    engine = create_async_engine(async_url(url))
    leaked = (
        "SMTPRecipientsRefused: {'ginny@hogwarts.edu': (550, b'5.1.1 <ginny@hogwarts.edu>: "
        "Recipient address rejected: Ginny Weasley is unknown')}"
    )
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO outbox_message (id, kind, payload, status, attempts, "
                    "available_at, created_at, updated_at, last_error) VALUES "
                    "('m1', 'invitation.email', '{}', 'dead', 12, CURRENT_TIMESTAMP, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, :error)"
                ),
                {"error": leaked},
            )
            await connection.execute(text("DELETE FROM alembic_version"))
            await connection.execute(
                text("INSERT INTO alembic_version (version_num) VALUES ('assessments_0004')")
            )
        from assessments.server import MIGRATIONS

        await asyncio.to_thread(upgrade_to_head, MIGRATIONS, url)
        async with engine.connect() as connection:
            stored = (
                await connection.execute(text("SELECT last_error FROM outbox_message"))
            ).scalar_one()
    finally:
        await engine.dispose()

    assert "ginny" not in stored.lower()
    assert "weasley" not in stored.lower()
    assert stored.startswith("SMTPRecipientsRefused")
