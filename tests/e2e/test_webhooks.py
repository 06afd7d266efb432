"""Greenhouse's webhooks on the real processes: status synchronization and anonymization,
sent by the emulator exactly as Greenhouse sends them (signed, escaped, retried)."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from e2e.lifecycle import Lifecycle, lifecycle_stack
from support.processes import cli, log_lines, metric_value, wait_until
from support.sql import dump_text

from alooba.candidates.v1 import candidates_pb2 as cpb
from alooba.candidates.v1 import candidates_pb2_grpc as cpb_grpc
from alooba_common.tls import Identity
from greenhouse_emulator import webhooks
from greenhouse_emulator.errors import PartnerError
from greenhouse_emulator.models import Candidate
from greenhouse_emulator.signing import encode_webhook_body, sign

pytestmark = pytest.mark.e2e

Databases = Callable[[], dict[str, str]]
_ids = itertools.count(700_000_001)


async def _candidate_sent_a_test(life: Lifecycle, candidate: Candidate) -> tuple[str, str, str]:
    """(organization id, our candidate id, partner_interview_id) after send_test."""
    interview_id = await life.greenhouse.send_test(life.test_id, candidate)
    shown = await asyncio.to_thread(
        cli, life.stack, "invitation", "show", "--org", life.organization, interview_id
    )
    invitation = shown.get("invitation", shown)
    return invitation["organization_id"], invitation["candidate_id"], interview_id


async def _candidate(life: Lifecycle, organization_id: str, candidate_id: str) -> Any:
    async with life.stack.channel("candidates", Identity.OPERATOR) as channel:
        response = await cpb_grpc.CandidatesServiceStub(channel).GetCandidate(
            cpb.GetCandidateRequest(organization_id=organization_id, candidate_id=candidate_id)
        )
    return response.candidate


def _person(**overrides: Any) -> Candidate:
    number = next(_ids)
    fields: dict[str, Any] = {
        "first_name": f"Luna{number}",
        "last_name": f"Lovegood{number}",
        "preferred_name": None,
        "email": f"luna.{number}@hogwarts.edu",
        "phone_number": f"+44 20 7946 {number % 10000:04d}",
        "resume_url": f"https://files.example.org/resume/{number}.pdf",
        "candidate_id": number,
        "application_id": number + 1,
    }
    fields.update(overrides)
    return Candidate(**fields)


async def test_status_webhooks_change_the_status_once_and_ignore_stale_redeliveries(
    tmp_path: Path, new_databases: Databases
) -> None:
    async with lifecycle_stack(tmp_path, new_databases) as life:
        person = _person()
        org_id, candidate_id, _ = await _candidate_sent_a_test(life, person)
        ids = (person.candidate_id, person.application_id)

        async def send(payload: dict[str, Any], event_id: str | None = None) -> None:
            delivery = await life.greenhouse.send_webhook(
                payload, organisation=life.organization, event_id=event_id, retry=False
            )
            assert delivery.delivered, delivery.attempts

        async def status() -> int:
            candidate = await _candidate(life, org_id, candidate_id)
            return int(candidate.applications[0].status)

        reject = webhooks.reject_candidate(*ids, rejected_at="2026-11-28T10:00:00Z")
        await send(reject, "event-reject")
        assert await status() == cpb.HIRING_STATUS_REJECTED

        await send(webhooks.unreject_candidate(*ids, last_activity_at="2026-11-28T11:00:00Z"))
        assert await status() == cpb.HIRING_STATUS_ACTIVE

        # Greenhouse redelivers the 10:00 rejection after the 11:00 unreject: stale.
        await send(reject, "event-reject")  # the same event id: a duplicate
        stale = webhooks.reject_candidate(*ids, rejected_at="2026-11-28T10:30:00Z")
        await send(stale)
        assert await status() == cpb.HIRING_STATUS_ACTIVE

        await send(webhooks.hire_candidate(*ids, resolved_at="2026-11-28T12:00:00Z"))
        assert await status() == cpb.HIRING_STATUS_HIRED
        await send(webhooks.unhire_candidate(*ids, last_activity_at="2026-11-28T13:00:00Z"))
        assert await status() == cpb.HIRING_STATUS_ACTIVE

        counted = {
            outcome: metric_value(
                life.stack, "gateway", "gateway_webhooks_total", {"outcome": outcome}
            )
            for outcome in ("applied", "duplicate", "stale")
        }
        assert counted == {"applied": 4, "duplicate": 1, "stale": 1}

        never_seen = webhooks.reject_candidate(1, 2, rejected_at="2026-11-28T10:00:00Z")
        await send(never_seen)
        assert (
            metric_value(
                life.stack, "gateway", "gateway_webhooks_total", {"outcome": "unknown_candidate"}
            )
            == 1
        )


async def test_forged_or_misaddressed_webhooks_are_401_and_change_nothing(
    tmp_path: Path, new_databases: Databases
) -> None:
    async with lifecycle_stack(tmp_path, new_databases) as life:
        person = _person()
        org_id, candidate_id, _ = await _candidate_sent_a_test(life, person)
        other = f"Other {uuid.uuid4().hex[:6]}"
        await asyncio.to_thread(cli, life.stack, "org", "create", other)
        other_key = (await asyncio.to_thread(cli, life.stack, "key", "issue", "--org", other))[
            "secret"
        ]
        payload = webhooks.reject_candidate(
            person.candidate_id, person.application_id, rejected_at="2026-11-28T10:00:00Z"
        )
        body = encode_webhook_body(payload)
        good = sign(body, life.greenhouse.api_key)
        attempts = {
            "wrong signature": {"signature_override": "sha256 " + "0" * 64},
            "another organization's key": {"secret": other_key},
            "sha256= instead of sha256 ": {"signature_override": good.replace(" ", "=")},
            "unknown organization": {"organisation": "No Such Org"},
            "organization name in another case": {"organisation": life.organization.upper()},
        }
        for what, options in attempts.items():
            sent = await life.greenhouse.send_webhook(
                body, **{"organisation": life.organization, **options}, retry=False
            )
            assert [a.status for a in sent.attempts] == [401], what
        missing = await life.greenhouse.send_webhook(
            body,
            organisation=life.organization,
            extra_headers={"Signature": ""},
            retry=False,
        )
        assert missing.attempts[0].status == 401
        candidate = await _candidate(life, org_id, candidate_id)
        assert candidate.applications[0].status == cpb.HIRING_STATUS_ACTIVE
        # The wrong signature and the other organization's key reach assessments; the
        # malformed header, the unknown names and the missing signature are refused by the
        # gateway from the headers alone, before the body is read (finding 4d).
        assert (
            metric_value(
                life.stack,
                "assessments",
                "assessments_webhook_signature_failures_total",
                {},
            )
            >= 2
        )


async def test_non_ascii_body_escaped_the_greenhouse_way_verifies(
    tmp_path: Path, new_databases: Databases
) -> None:
    async with lifecycle_stack(tmp_path, new_databases) as life:
        person = _person(first_name="Zoë <Ångström>", last_name="Naïve & Co")
        org_id, candidate_id, _ = await _candidate_sent_a_test(life, person)
        payload = webhooks.reject_candidate(
            person.candidate_id,
            person.application_id,
            rejected_at="2026-11-28T10:00:00Z",
            candidate=person,
        )
        delivery = await life.greenhouse.send_webhook(
            payload, organisation=life.organization, retry=False
        )
        assert b"\\u00eb" in delivery.body
        assert b"\\u003c" in delivery.body
        assert delivery.delivered
        candidate = await _candidate(life, org_id, candidate_id)
        assert candidate.applications[0].status == cpb.HIRING_STATUS_REJECTED


async def test_ping_is_recorded(tmp_path: Path, new_databases: Databases) -> None:
    async with lifecycle_stack(tmp_path, new_databases) as life:
        ping = webhooks.ping(
            9590, "Alooba status sync", "Candidate has been hired", life.greenhouse.webhook_url
        )
        delivery = await life.greenhouse.send_webhook(
            ping, organisation=life.organization, retry=False
        )
        assert delivery.delivered
        assert metric_value(life.stack, "assessments", "assessments_webhook_pings_total", {}) == 1


async def test_anonymization_erases_the_candidate_everywhere_and_cancels_invitations(
    tmp_path: Path, new_databases: Databases
) -> None:
    async with lifecycle_stack(tmp_path, new_databases) as life:
        erased = _person()
        kept = _person()
        org_id, candidate_id, interview_id = await _candidate_sent_a_test(life, erased)
        kept_org, kept_id, _ = await _candidate_sent_a_test(life, kept)
        await asyncio.to_thread(life.smtp.wait_for, 2)
        collected = f"198.51.100.{next(_ids) % 250}"
        async with life.stack.channel("candidates", Identity.PLATFORM) as channel:
            await cpb_grpc.CandidatesServiceStub(channel).RecordAssessmentData(
                cpb.RecordAssessmentDataRequest(
                    organization_id=org_id,
                    candidate_id=candidate_id,
                    invitation_id=interview_id,
                    kind="ip_address",
                    value=collected,
                    idempotency_key=uuid.uuid4().hex,
                )
            )
        # Greenhouse's own payloads carried the PII too, and they were received.
        status = webhooks.reject_candidate(
            erased.candidate_id,
            erased.application_id,
            rejected_at="2026-11-28T10:00:00Z",
            candidate=erased,
        )
        assert (
            await life.greenhouse.send_webhook(status, organisation=life.organization)
        ).delivered

        anonymized = webhooks.candidate_anonymized(
            erased.candidate_id, ["full_name", "email_addresses", "phone_numbers"]
        )
        for _ in range(2):  # a redelivery changes nothing more
            delivery = await life.greenhouse.send_webhook(
                anonymized, organisation=life.organization, event_id="erase-1"
            )
            assert delivery.delivered

        secrets_of_erased = [
            erased.first_name,
            erased.last_name,
            erased.email,
            erased.phone_number,
            erased.resume_url,
            collected,
        ]
        everything = "\n".join(
            [
                *[
                    await dump_text(life.stack.database_url(s))
                    for s in ("assessments", "candidates", "harvest-sync")
                ],
                *log_lines(life.stack),
            ]
        )
        for value in secrets_of_erased:
            assert value is not None
            assert value not in everything, value
        assert kept.email in everything  # the other candidate is untouched
        assert (await _candidate(life, kept_org, kept_id)).contact.email == kept.email

        # candidates' outbox asks assessments to cancel the invitation, soon after.
        await _wait_for_partner_status(life, interview_id, "cancelled")
        receipts = await asyncio.to_thread(
            cli, life.stack, "candidate", "erasures", "--org", life.organization
        )
        [receipt] = receipts.get("receipts", receipts)
        assert receipt["event_id"] == "erase-1"
        assert receipt["candidate_id"] == candidate_id


async def _wait_for_partner_status(
    life: Lifecycle, interview_id: str, expected: str, within: float = 30.0
) -> None:
    """Asks as Greenhouse does until the answer is `expected`; a 503 or 504 while a
    backend reconnects is asked again too."""
    deadline = asyncio.get_running_loop().time() + within
    status: object = None
    while asyncio.get_running_loop().time() < deadline:
        try:
            status = (await life.greenhouse.test_status(interview_id))["partner_status"]
        except PartnerError as error:
            if error.status not in (503, 504):
                raise
            status = error.status
        if status == expected:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"partner_status is still {status!r}, not {expected!r}")


async def test_an_erasure_lands_while_assessments_is_down_and_cancels_once_it_is_back(
    tmp_path: Path, new_databases: Databases
) -> None:
    async with lifecycle_stack(tmp_path, new_databases) as life:
        person = _person()
        org_id, candidate_id, interview_id = await _candidate_sent_a_test(life, person)
        await asyncio.to_thread(life.smtp.wait_for, 1)
        assert life.stack.stop("assessments") == 0

        # An operator answers a data subject's request (Greenhouse's webhooks need
        # assessments to verify their signatures, so they wait for it anyway).
        async with life.stack.channel("candidates", Identity.OPERATOR) as channel:
            erased = await cpb_grpc.CandidatesServiceStub(channel).EraseCandidate(
                cpb.EraseCandidateRequest(
                    organization_id=org_id,
                    event_id="operator-erasure-1",
                    greenhouse_candidate_id=person.candidate_id,
                    reason="candidate_anonymized",
                )
            )
        assert erased.candidate_id == candidate_id
        assert erased.outcome == cpb.EVENT_OUTCOME_APPLIED
        contact = (await _candidate(life, org_id, candidate_id)).contact
        assert not contact.email
        assert person.last_name not in contact.last_name

        # The request waits in candidates' outbox, retried while assessments is away.
        retried = {"kind": "invitations.cancel", "result": "retry"}
        await asyncio.to_thread(
            wait_until,
            lambda: metric_value(life.stack, "candidates", "outbox_deliveries_total", retried) >= 2,
            60.0,
            "candidates retrying the cancellation",
        )
        pending = {"kind": "invitations.cancel"}
        assert metric_value(life.stack, "candidates", "outbox_messages_pending", pending) == 1

        life.stack.start("assessments")
        await asyncio.to_thread(life.stack.wait_ready, ("assessments",), 30.0)
        await _wait_for_partner_status(life, interview_id, "cancelled")
        delivered = {"kind": "invitations.cancel", "result": "delivered"}
        await asyncio.to_thread(
            wait_until,
            lambda: (
                metric_value(life.stack, "candidates", "outbox_deliveries_total", delivered) == 1
            ),
            10.0,
            "the delivery counted",
        )


async def test_candidates_killed_mid_burst_loses_no_acknowledged_event(
    tmp_path: Path, new_databases: Databases
) -> None:
    import signal

    async with lifecycle_stack(tmp_path, new_databases) as life:
        person = _person()
        org_id, candidate_id, _ = await _candidate_sent_a_test(life, person)
        life.greenhouse.webhooks.time_scale = 0.002  # Greenhouse's 1 min, 15 min, ... compressed
        count = 1000
        payloads = [
            (webhooks.reject_candidate if i % 2 else webhooks.unreject_candidate)(
                person.candidate_id,
                person.application_id,
                **(
                    {"rejected_at": f"2026-11-28T10:{i // 60:02d}:{i % 60:02d}Z"}
                    if i % 2
                    else {"last_activity_at": f"2026-11-28T10:{i // 60:02d}:{i % 60:02d}Z"}
                ),
            )
            for i in range(count)
        ]
        burst = asyncio.ensure_future(
            life.greenhouse.send_webhooks(payloads, organisation=life.organization, concurrency=20)
        )
        await life.greenhouse.wait_for(
            lambda: sum(d.delivered for d in life.greenhouse.webhook_deliveries) >= 300, 60
        )
        life.stack.processes["candidates"].send_signal(signal.SIGKILL)
        await asyncio.to_thread(life.stack.processes["candidates"].wait, 10)
        acknowledged_before_restart = {
            d.event_id for d in life.greenhouse.webhook_deliveries if d.delivered
        }
        # Stay down until Greenhouse has been refused at least once (the gateway waits up
        # to its deadline for a restarting backend, so a short outage refuses nothing).
        await life.greenhouse.wait_for(
            lambda: any(
                not attempt.succeeded
                for delivery in life.greenhouse.webhook_deliveries
                for attempt in delivery.attempts
            ),
            60,
        )
        life.stack.start("candidates")
        await asyncio.to_thread(life.stack.wait_ready, ("candidates",), 30.0)
        deliveries = await burst
        assert all(d.delivered for d in deliveries)
        recorded = await dump_text(life.stack.database_url("candidates"))
        for delivery in deliveries:
            assert delivery.event_id in recorded
        assert acknowledged_before_restart <= {d.event_id for d in deliveries}
        retried = [d for d in deliveries if len(d.attempts) > 1]
        assert retried, "the outage should have made Greenhouse retry some deliveries"
        final = await _candidate(life, org_id, candidate_id)
        # The newest event (index 999, a rejection at 10:16:39) wins whatever the order.
        assert final.applications[0].status == cpb.HIRING_STATUS_REJECTED


async def test_a_rejected_candidate_gets_no_reminder_but_an_active_one_does(
    tmp_path: Path, new_databases: Databases
) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    from alooba_common.db import async_url

    async with lifecycle_stack(
        tmp_path,
        new_databases,
        assessments_env={
            "REMINDER_BEFORE_EXPIRY_SECONDS": str(2 * 24 * 3600),
            "SWEEP_INTERVAL_SECONDS": "0.2",
        },
    ) as life:
        rejected, active = _person(), _person()
        _, _, rejected_interview = await _candidate_sent_a_test(life, rejected)
        _, _, active_interview = await _candidate_sent_a_test(life, active)
        await asyncio.to_thread(life.smtp.wait_for, 2)
        reject = webhooks.reject_candidate(
            rejected.candidate_id, rejected.application_id, rejected_at="2026-11-28T10:00:00Z"
        )
        assert (
            await life.greenhouse.send_webhook(reject, organisation=life.organization)
        ).delivered

        # Time passes: both deadlines are now a day away, inside the reminder window.
        engine = create_async_engine(
            async_url(life.stack.database_url("assessments")), poolclass=NullPool
        )
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "UPDATE invitation SET expires_at = :soon "
                    "WHERE id IN (:rejected_interview, :active_interview)"
                ),
                {
                    "soon": dt.datetime.now(dt.UTC) + dt.timedelta(days=1),
                    "rejected_interview": rejected_interview,
                    "active_interview": active_interview,
                },
            )
        await engine.dispose()

        messages = await asyncio.to_thread(life.smtp.wait_for, 3)
        reminders = [m for m in messages if "closes soon" in m["Subject"]]
        assert [m["X-Alooba-Invitation"] for m in reminders] == [active_interview]
        await asyncio.to_thread(
            wait_until,
            lambda: (
                metric_value(
                    life.stack,
                    "assessments",
                    "assessments_emails_skipped_total",
                    {"purpose": "reminder", "reason": "rejected"},
                )
                == 1
            ),
            20.0,
            "the rejected candidate's reminder to be skipped",
        )
        assert len(life.smtp.messages) == 3
