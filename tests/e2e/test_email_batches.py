"""Invitation emails in batches, on the real processes and a real SMTP server: the relay
claims several, fetches their candidates in one BatchGetContacts call and sends them over
a few shared SMTP sessions (alooba_common.mailer.SESSIONS_PER_BATCH), never one per email; a
message the server refuses is retried on its own, and every email arrives exactly once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from e2e.lifecycle import lifecycle_stack
from support.processes import metric_value

from alooba_common.mailer import SESSIONS_PER_BATCH
from alooba_dev.stack import Stack
from greenhouse_emulator.models import Candidate

pytestmark = pytest.mark.e2e

Databases = Callable[[], dict[str, str]]
# Never dead-lettered while refused: the test lifts the refusal after a few retries.
PATIENT = {"OUTBOX_MAX_ATTEMPTS": "10000"}
BATCH = 6
REFUSED = "refused-3@hogwarts.edu"


def _candidate(number: int) -> Candidate:
    return Candidate(
        email=REFUSED if number == 3 else f"batch-{number}@hogwarts.edu",
        candidate_id=900_000 + number,
        application_id=800_000 + number,
    )


async def _wait_for(sink_count: Callable[[], int], count: int) -> None:
    deadline = time.monotonic() + 30
    while sink_count() < count:
        assert time.monotonic() < deadline, f"{sink_count()} of {count} emails after 30 s"
        await asyncio.sleep(0.05)


def _batch_calls(stack: Stack) -> float:
    labels = {"grpc_method": "BatchGetContacts", "grpc_code": "OK"}
    return metric_value(stack, "candidates", "grpc_server_handled_total", labels)


async def test_a_batch_shares_a_few_sessions_and_a_refused_email_is_retried_alone(
    tmp_path: Path, new_databases: Databases
) -> None:
    async with lifecycle_stack(tmp_path, new_databases, assessments_env=PATIENT) as life:
        smtp, greenhouse = life.smtp, life.greenhouse
        smtp.refuse(REFUSED)
        # The first email is held at the server while the next send_tests queue theirs,
        # so the relay's next claim takes them all at once.
        smtp.hold_first(2.0)
        first = await greenhouse.send_test(
            life.test_id, _candidate(0), take_home_test_id=greenhouse.allocate_take_home_test_id()
        )
        await asyncio.sleep(0.3)
        batch = await asyncio.gather(
            *(
                greenhouse.send_test(
                    life.test_id,
                    _candidate(number),
                    take_home_test_id=greenhouse.allocate_take_home_test_id(),
                )
                for number in range(1, BATCH + 1)
            )
        )
        # All but the refused one, the first one included.
        await _wait_for(lambda: len(smtp.messages), BATCH)
        messages, sessions = smtp.messages, smtp.sessions
        by_address = {
            message["To"].addresses[0].addr_spec: session
            for message, session in zip(messages, sessions, strict=True)
        }
        batch_sessions = {
            by_address[f"batch-{number}@hogwarts.edu"]
            for number in range(1, BATCH + 1)
            if number != 3
        }
        # Five emails, fewer sessions than emails: the batch's sessions carry several each.
        assert len(batch_sessions) <= SESSIONS_PER_BATCH < BATCH - 1, batch_sessions
        # The held first email's batch, then the others' (their contacts in one call).
        assert await asyncio.to_thread(_batch_calls, life.stack) >= 2

        # Refused: retried (never lost) and, once the server takes it, sent exactly once.
        assert REFUSED not in by_address
        smtp.accept()
        await _wait_for(lambda: len(smtp.messages), BATCH + 1)
        await asyncio.sleep(1.5)  # a duplicate would arrive by now
        message_ids = [m["Message-ID"] for m in smtp.messages]
        assert sorted(message_ids) == sorted(
            f"<invitation-0-{interview}@alooba.localhost>" for interview in [first, *batch]
        )
