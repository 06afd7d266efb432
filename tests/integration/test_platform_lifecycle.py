"""PlatformService through the running system: the invitation's transitions, idempotency,
validation, what Greenhouse's test_status shows, and the candidate's emails.

Greenhouse callbacks go to a loopback HTTPS receiver (callback_hosts allows only
127.0.0.1): completing an invitation here must never PATCH the real app.greenhouse.io.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import grpc
import pytest
from integration.helpers import Tenant, new_tenant, status_of
from integration.lifecycle_helpers import (
    STATUS_NAMES,
    callbacks,
    cancel,
    emails_for,
    eml_files,
    evaluate,
    event_kinds,
    eventually,
    extend,
    invitation,
    invitation_in_state,
    invite,
    outbox_messages,
    pass_deadline,
    resend,
    rpc_error,
    settle,
    start,
    submit,
    sweep,
    timestamp,
)
from support.inprocess import System, running_system
from support.platform import key

from alooba.assessments.v1 import assessments_pb2 as apb
from alooba_common.config import DatabaseSettings
from alooba_common.db import create_engine, session_factory, utcnow
from alooba_common.mailer import create_mailer
from alooba_common.outbox import DELIVERED, OutboxMessage, RelaySettings
from alooba_common.secrets import SecretBox, generate_kek
from alooba_dev.smtp_sink import SmtpSink
from assessments.outbound.emails import CandidateForEmail, EmailSettings, InvitationEmailHandler

LINK_BASE = "https://app.alooba.test/take"
REPORT_BASE = "https://reports.alooba.test/reports"
MAIL_DOMAIN = "mail.alooba.test"
# Delivers at once when woken; retries a refused SMTP connection quickly, and forever.
QUICK_RELAY = RelaySettings(
    base_delay_seconds=0.05,
    max_delay_seconds=0.2,
    poll_interval_seconds=0.05,
    max_attempts=100_000,
)


@pytest.fixture(scope="module")
def databases(new_databases: Callable[[], dict[str, str]]) -> dict[str, str]:
    """This module's own databases: its outbox messages reach no other module's relay."""
    return new_databases()


@pytest.fixture
async def system(databases: dict[str, str]) -> AsyncIterator[System]:
    async with running_system(
        databases,
        **callbacks(),
        report_base_url=REPORT_BASE,
    ) as running:
        yield running
        await settle(running)


def status_name(invitation: apb.Invitation) -> str:
    return STATUS_NAMES[invitation.status]


# --- transitions ----------------------------------------------------------------------


async def test_start_moves_a_sent_invitation_to_started(system: System, tenant: Tenant) -> None:
    invitation_id = await invite(system, tenant)
    started = await start(system, invitation_id)
    assert status_name(started) == "started"
    assert started.HasField("start_time")
    assert await event_kinds(system, tenant, invitation_id) == ["sent", "started"]


async def test_starting_a_started_invitation_again_changes_nothing(
    system: System, tenant: Tenant
) -> None:
    invitation_id = await invite(system, tenant)
    first = await start(system, invitation_id)
    again = await start(system, invitation_id)
    assert status_name(again) == "started"
    assert again.start_time == first.start_time
    assert await event_kinds(system, tenant, invitation_id) == ["sent", "started"]


async def test_submit_completes_a_started_invitation_with_its_scores(
    system: System, tenant: Tenant
) -> None:
    invitation_id = await invite(system, tenant)
    await start(system, invitation_id)
    done = await submit(system, invitation_id, score=81.5, skills={"SQL": 90, "Python": 72})
    assert status_name(done) == "complete"
    assert done.score == 81.5
    assert [(s.skill, s.score) for s in done.skill_scores] == [("SQL", 90), ("Python", 72)]
    assert done.HasField("submit_time")
    assert done.HasField("complete_time")
    assert await event_kinds(system, tenant, invitation_id) == [
        "sent",
        "started",
        "submitted",
        "completed",
    ]


async def test_submit_without_a_start_completes_and_records_the_start(
    system: System, tenant: Tenant
) -> None:
    invitation_id = await invite(system, tenant)
    done = await submit(system, invitation_id)
    assert status_name(done) == "complete"
    assert done.start_time == done.submit_time


async def test_completing_queues_one_greenhouse_callback_which_is_delivered(
    system: System, tenant: Tenant
) -> None:
    invitation_id = await invite(system, tenant)
    await submit(system, invitation_id)

    async def delivered_callbacks() -> list[str]:
        rows = await outbox_messages(system, invitation_id)
        callbacks = [row for row in rows if row["kind"] == "greenhouse.callback"]
        assert len(callbacks) == 1
        return [row["status"] for row in callbacks if row["status"] == DELIVERED]

    await eventually(delivered_callbacks, what="the callback delivered")


async def test_submit_needing_manual_evaluation_awaits_it_with_a_null_test_status(
    system: System, tenant: Tenant
) -> None:
    invitation_id = await invite(system, tenant)
    submitted = await submit(system, invitation_id, score=55, manual=True)
    assert status_name(submitted) == "awaiting_evaluation"
    assert submitted.score == 55
    reply = await status_of(system, tenant.key, invitation_id)
    assert reply.status == 200
    assert reply.body == {
        "partner_status": "awaiting_evaluation",
        "partner_profile_url": None,
        "partner_score": None,
        "metadata": None,
    }


async def test_awaiting_evaluation_queues_no_greenhouse_callback(
    system: System, tenant: Tenant
) -> None:
    invitation_id = await invite(system, tenant)
    await submit(system, invitation_id, manual=True)
    kinds = [row["kind"] for row in await outbox_messages(system, invitation_id)]
    assert "greenhouse.callback" not in kinds


async def test_submit_for_a_test_that_needs_manual_evaluation_awaits_it(
    system: System, tenant: Tenant
) -> None:
    manual_test = await system.create_test(
        tenant.organization.id, "Graded by hand", needs_manual_evaluation=True
    )
    invitation_id = await invite(system, tenant, manual_test.id)
    assert (await invitation(system, tenant, invitation_id)).needs_manual_evaluation
    submitted = await submit(system, invitation_id, manual=False)
    assert status_name(submitted) == "awaiting_evaluation"


async def test_evaluation_completes_with_the_final_score_skills_and_evaluator(
    system: System, tenant: Tenant
) -> None:
    invitation_id = await invite(system, tenant)
    await submit(system, invitation_id, score=55, skills={"SQL": 50}, manual=True)
    done = await evaluate(system, invitation_id, score=64, skills={"SQL": 70}, evaluator="Grace")
    assert status_name(done) == "complete"
    assert (done.score, done.evaluator) == (64, "Grace")
    assert [(s.skill, s.score) for s in done.skill_scores] == [("SQL", 70)]
    assert (await event_kinds(system, tenant, invitation_id))[-2:] == ["evaluated", "completed"]


async def test_evaluation_without_skill_scores_keeps_the_submitted_ones(
    system: System, tenant: Tenant
) -> None:
    invitation_id = await invite(system, tenant)
    await submit(system, invitation_id, skills={"SQL": 50}, manual=True)
    done = await evaluate(system, invitation_id, score=64)
    assert [(s.skill, s.score) for s in done.skill_scores] == [("SQL", 50)]


async def test_extend_moves_the_deadline_later(system: System, tenant: Tenant) -> None:
    invitation_id = await invite(system, tenant)
    later = (utcnow() + dt.timedelta(days=30)).replace(microsecond=0)
    extended = await extend(system, invitation_id, later)
    assert extended.expire_time.ToDatetime(tzinfo=dt.UTC) == later
    assert status_name(extended) == "sent"
    assert (await event_kinds(system, tenant, invitation_id))[-1] == "extended"


@pytest.mark.parametrize("started", [False, True], ids=["never-started", "started"])
async def test_extend_revives_an_expired_invitation(
    system: System, tenant: Tenant, started: bool
) -> None:
    invitation_id = await invite(system, tenant)
    if started:
        await start(system, invitation_id)
    await pass_deadline(system, invitation_id)
    await sweep(system)
    assert status_name(await invitation(system, tenant, invitation_id)) == "expired"

    revived = await extend(system, invitation_id, utcnow() + dt.timedelta(days=2))
    assert status_name(revived) == ("started" if started else "sent")
    # ... and takeable again.
    assert status_name(await submit(system, invitation_id)) == "complete"


@pytest.mark.parametrize("state", ["sent", "started", "expired"])
async def test_cancel_withdraws_an_unfinished_invitation(
    system: System, tenant: Tenant, state: str
) -> None:
    invitation_id = await invitation_in_state(system, tenant, state)
    cancelled = await cancel(system, invitation_id, reason="position filled")
    assert status_name(cancelled) == "cancelled"
    assert (await event_kinds(system, tenant, invitation_id))[-1] == "cancelled"


async def test_cancelling_a_cancelled_invitation_again_changes_nothing(
    system: System, tenant: Tenant
) -> None:
    invitation_id = await invitation_in_state(system, tenant, "cancelled")
    again = await cancel(system, invitation_id)
    assert status_name(again) == "cancelled"
    assert (await event_kinds(system, tenant, invitation_id)).count("cancelled") == 1


async def test_cancelled_invitation_test_status_is_cancelled_with_nulls(
    system: System, tenant: Tenant
) -> None:
    invitation_id = await invitation_in_state(system, tenant, "cancelled")
    reply = await status_of(system, tenant.key, invitation_id)
    assert reply.body == {
        "partner_status": "cancelled",
        "partner_profile_url": None,
        "partner_score": None,
        "metadata": None,
    }


@pytest.mark.parametrize("state", ["sent", "started"])
async def test_resend_records_an_event_and_queues_a_resend_email(
    system: System, tenant: Tenant, state: str
) -> None:
    invitation_id = await invitation_in_state(system, tenant, state)
    resent = await resend(system, invitation_id)
    assert status_name(resent) == state
    assert (await event_kinds(system, tenant, invitation_id))[-1] == "resent"
    emails = [
        row["payload"]
        for row in await outbox_messages(system, invitation_id)
        if row["kind"] == "invitation.email"
    ]
    assert [(p["purpose"], p["sequence"]) for p in emails] == [("invitation", 0), ("resend", 1)]


# --- transitions the state does not allow ----------------------------------------------

Operation = Callable[[System, str, str], Awaitable[Any]]


def far_future() -> dt.datetime:
    return utcnow() + dt.timedelta(days=60)


OPERATIONS: dict[str, Operation] = {
    "start": lambda system, invitation_id, idempotency_key: system.platform.StartAssessment(
        apb.StartAssessmentRequest(idempotency_key=idempotency_key, invitation_id=invitation_id)
    ),
    "submit": lambda system, invitation_id, idempotency_key: system.platform.SubmitAssessment(
        apb.SubmitAssessmentRequest(
            idempotency_key=idempotency_key, invitation_id=invitation_id, score=50
        )
    ),
    "evaluate": lambda system, invitation_id, idempotency_key: system.platform.RecordEvaluation(
        apb.RecordEvaluationRequest(
            idempotency_key=idempotency_key,
            invitation_id=invitation_id,
            score=50,
            evaluator="Grace",
        )
    ),
    "extend": lambda system, invitation_id, idempotency_key: system.platform.ExtendDeadline(
        apb.ExtendDeadlineRequest(
            idempotency_key=idempotency_key,
            invitation_id=invitation_id,
            expire_time=timestamp(far_future()),
        )
    ),
    "cancel": lambda system, invitation_id, idempotency_key: system.platform.CancelInvitation(
        apb.CancelInvitationRequest(
            idempotency_key=idempotency_key, invitation_id=invitation_id, reason="withdrawn"
        )
    ),
    "resend": lambda system, invitation_id, idempotency_key: system.platform.ResendInvitation(
        apb.ResendInvitationRequest(idempotency_key=idempotency_key, invitation_id=invitation_id)
    ),
}
# (operation, state) pairs the state machine in assessments.store.states does not allow.
IMPOSSIBLE = [
    *(("start", s) for s in ("awaiting_evaluation", "complete", "expired", "cancelled")),
    *(("submit", s) for s in ("awaiting_evaluation", "complete", "expired", "cancelled")),
    *(("evaluate", s) for s in ("sent", "started", "complete", "expired", "cancelled")),
    *(("extend", s) for s in ("awaiting_evaluation", "complete", "cancelled")),
    *(("cancel", s) for s in ("awaiting_evaluation", "complete")),
    *(("resend", s) for s in ("awaiting_evaluation", "complete", "expired", "cancelled")),
]


@pytest.mark.parametrize(("operation", "state"), IMPOSSIBLE)
async def test_impossible_transition_is_failed_precondition_with_the_reason(
    system: System, tenant: Tenant, operation: str, state: str
) -> None:
    invitation_id = await invitation_in_state(system, tenant, state)
    events_before = await event_kinds(system, tenant, invitation_id)

    error = await rpc_error(OPERATIONS[operation](system, invitation_id, key()))

    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert f"that is {state}" in (error.details() or "")
    after = await invitation(system, tenant, invitation_id)
    assert status_name(after) == state
    assert [event.kind for event in after.events] == events_before


@pytest.mark.parametrize("operation", ["start", "submit", "resend"])
async def test_taking_the_test_after_its_deadline_is_failed_precondition(
    system: System, tenant: Tenant, operation: str
) -> None:
    invitation_id = await invite(system, tenant)
    # Past the deadline, before the sweeper has marked it expired.
    await pass_deadline(system, invitation_id)
    error = await rpc_error(OPERATIONS[operation](system, invitation_id, key()))
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "deadline has passed" in (error.details() or "")


# --- idempotency ------------------------------------------------------------------------


async def test_the_same_key_and_request_returns_the_same_result_and_applies_once(
    system: System, tenant: Tenant
) -> None:
    invitation_id = await invite(system, tenant)
    same_key = key()
    first = await submit(system, invitation_id, score=70, idempotency_key=same_key)
    again = await submit(system, invitation_id, score=70, idempotency_key=same_key)
    assert again == first
    kinds = await event_kinds(system, tenant, invitation_id)
    assert (kinds.count("submitted"), kinds.count("completed")) == (1, 1)


async def test_a_resend_repeated_with_the_same_key_queues_one_email(
    system: System, tenant: Tenant
) -> None:
    invitation_id = await invite(system, tenant)
    same_key = key()
    await resend(system, invitation_id, idempotency_key=same_key)
    await resend(system, invitation_id, idempotency_key=same_key)
    assert (await event_kinds(system, tenant, invitation_id)).count("resent") == 1
    purposes = [row["payload"]["purpose"] for row in await outbox_messages(system, invitation_id)]
    assert purposes.count("resend") == 1


async def test_concurrent_retries_with_the_same_key_all_get_the_result(
    system: System, tenant: Tenant
) -> None:
    invitation_id = await invite(system, tenant)
    same = apb.SubmitAssessmentRequest(idempotency_key=key(), invitation_id=invitation_id, score=70)
    results = await asyncio.gather(
        *(system.platform.SubmitAssessment(same) for _ in range(8)), return_exceptions=True
    )
    failures = [
        f"{r.code().name}: {r.details()}" for r in results if isinstance(r, grpc.aio.AioRpcError)
    ]
    assert failures == []
    assert {
        status_name(r.invitation) for r in results if isinstance(r, apb.SubmitAssessmentResponse)
    } == {"complete"}
    assert (await event_kinds(system, tenant, invitation_id)).count("submitted") == 1


async def test_the_same_key_with_a_different_request_is_invalid_argument(
    system: System, tenant: Tenant
) -> None:
    invitation_id = await invite(system, tenant)
    same_key = key()
    await submit(system, invitation_id, score=70, idempotency_key=same_key, manual=True)
    error = await rpc_error(
        submit(system, invitation_id, score=71, idempotency_key=same_key, manual=True)
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "idempotency_key" in (error.details() or "")
    assert (await invitation(system, tenant, invitation_id)).score == 70


async def test_the_same_key_for_another_invitation_is_invalid_argument(
    system: System, tenant: Tenant
) -> None:
    first_id = await invite(system, tenant)
    second_id = await invite(system, tenant)
    same_key = key()
    await start(system, first_id, idempotency_key=same_key)
    error = await rpc_error(start(system, second_id, idempotency_key=same_key))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert status_name(await invitation(system, tenant, second_id)) == "sent"


async def test_the_same_key_in_another_rpc_is_a_separate_call(
    system: System, tenant: Tenant
) -> None:
    invitation_id = await invite(system, tenant)
    same_key = key()
    await start(system, invitation_id, idempotency_key=same_key)
    cancelled = await cancel(system, invitation_id, idempotency_key=same_key)
    assert status_name(cancelled) == "cancelled"


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
async def test_missing_idempotency_key_is_invalid_argument(
    system: System, tenant: Tenant, operation: str
) -> None:
    invitation_id = await invitation_in_state(
        system, tenant, "awaiting_evaluation" if operation == "evaluate" else "sent"
    )
    error = await rpc_error(OPERATIONS[operation](system, invitation_id, ""))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "idempotency_key" in (error.details() or "")


@pytest.mark.parametrize("idempotency_key", ["   ", "k" * 201], ids=["blank", "too-long"])
async def test_blank_or_overlong_idempotency_key_is_invalid_argument(
    system: System, tenant: Tenant, idempotency_key: str
) -> None:
    invitation_id = await invite(system, tenant)
    error = await rpc_error(OPERATIONS["start"](system, invitation_id, idempotency_key))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert status_name(await invitation(system, tenant, invitation_id)) == "sent"


# --- validation -------------------------------------------------------------------------

BAD_SCORES: dict[str, tuple[str, Callable[[System, str], Awaitable[Any]]]] = {
    "submit-above-100": ("sent", lambda s, i: submit(s, i, score=100.01)),
    "submit-below-0": ("sent", lambda s, i: submit(s, i, score=-1)),
    "submit-nan": ("sent", lambda s, i: submit(s, i, score=math.nan)),
    "submit-skill-above-100": ("sent", lambda s, i: submit(s, i, skills={"SQL": 101})),
    "evaluate-above-100": ("awaiting_evaluation", lambda s, i: evaluate(s, i, score=101)),
    "evaluate-skill-above-100": (
        "awaiting_evaluation",
        lambda s, i: evaluate(s, i, skills={"SQL": 250}),
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_SCORES))
async def test_score_outside_0_to_100_is_invalid_argument(
    system: System, tenant: Tenant, case: str
) -> None:
    state, call = BAD_SCORES[case]
    invitation_id = await invitation_in_state(system, tenant, state)
    error = await rpc_error(call(system, invitation_id))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "between 0 and 100" in (error.details() or "")
    assert status_name(await invitation(system, tenant, invitation_id)) == state


async def test_scores_of_exactly_0_and_100_are_accepted(system: System, tenant: Tenant) -> None:
    invitation_id = await invite(system, tenant)
    done = await submit(system, invitation_id, score=0, skills={"SQL": 100})
    assert (done.score, done.skill_scores[0].score) == (0, 100)


@pytest.mark.parametrize("operation", ["submit", "evaluate"])
async def test_a_skill_scored_twice_is_invalid_argument(
    system: System, tenant: Tenant, operation: str
) -> None:
    invitation_id = await invitation_in_state(
        system, tenant, "awaiting_evaluation" if operation == "evaluate" else "sent"
    )
    # The same skill, once with stray spaces.
    twice = [apb.SkillScore(skill="SQL", score=50), apb.SkillScore(skill=" SQL ", score=60)]
    if operation == "submit":
        request: Any = system.platform.SubmitAssessment(
            apb.SubmitAssessmentRequest(
                idempotency_key=key(), invitation_id=invitation_id, score=50, skill_scores=twice
            )
        )
    else:
        request = system.platform.RecordEvaluation(
            apb.RecordEvaluationRequest(
                idempotency_key=key(),
                invitation_id=invitation_id,
                score=50,
                skill_scores=twice,
                evaluator="Grace",
            )
        )
    error = await rpc_error(request)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "scored twice" in (error.details() or "")


async def test_evaluation_without_an_evaluator_is_invalid_argument(
    system: System, tenant: Tenant
) -> None:
    invitation_id = await invitation_in_state(system, tenant, "awaiting_evaluation")
    error = await rpc_error(evaluate(system, invitation_id, evaluator="  "))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("when", ["past", "before-current-deadline"])
async def test_extend_to_a_time_not_later_than_the_deadline_is_invalid_argument(
    system: System, tenant: Tenant, when: str
) -> None:
    invitation_id = await invite(system, tenant)
    current = (await invitation(system, tenant, invitation_id)).expire_time.ToDatetime(
        tzinfo=dt.UTC
    )
    target = utcnow() - dt.timedelta(hours=1) if when == "past" else current - dt.timedelta(days=1)
    error = await rpc_error(extend(system, invitation_id, target))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_extend_without_expire_time_is_invalid_argument(
    system: System, tenant: Tenant
) -> None:
    invitation_id = await invite(system, tenant)
    error = await rpc_error(
        system.platform.ExtendDeadline(
            apb.ExtendDeadlineRequest(idempotency_key=key(), invitation_id=invitation_id)
        )
    )
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
async def test_unknown_invitation_is_not_found(system: System, operation: str) -> None:
    error = await rpc_error(OPERATIONS[operation](system, "0" * 32, key()))
    assert error.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("token", ["not-a-token", ""], ids=["wrong", "empty"])
async def test_resolving_a_wrong_access_token_is_not_found(system: System, token: str) -> None:
    error = await rpc_error(
        system.platform.ResolveAccessToken(apb.ResolveAccessTokenRequest(access_token=token))
    )
    assert error.code() == grpc.StatusCode.NOT_FOUND


# --- what Greenhouse sees ---------------------------------------------------------------


async def test_complete_test_status_links_the_report_and_gives_the_score(
    system: System, tenant: Tenant
) -> None:
    invitation_id = await invite(system, tenant)
    await submit(system, invitation_id, score=81.5)
    reply = await status_of(system, tenant.key, invitation_id)
    assert reply.status == 200
    assert reply.body["partner_status"] == "complete"
    assert reply.body["partner_profile_url"] == f"{REPORT_BASE}/{invitation_id}"
    assert reply.body["partner_score"] == 81.5


async def test_complete_test_status_metadata_is_flat_with_skill_scores_and_evaluator(
    system: System, tenant: Tenant
) -> None:
    invitation_id = await invite(system, tenant)
    await submit(system, invitation_id, skills={"SQL": 50, "Data Viz": 40}, manual=True)
    await evaluate(system, invitation_id, score=64, skills={"SQL": 70.5}, evaluator="Grace Hopper")
    metadata = (await status_of(system, tenant.key, invitation_id)).body["metadata"]
    assert isinstance(metadata, dict)
    assert all(isinstance(value, str | int | float | bool | None) for value in metadata.values())
    assert metadata["SQL Score"] == 70.5
    assert metadata["Evaluated By"] == "Grace Hopper"
    assert "Data Viz Score" not in metadata  # the evaluation's skills replace the submitted
    assert {"Started At", "Submitted At", "Completed At"} <= set(metadata)


async def test_auto_scored_test_status_metadata_has_no_evaluator(
    system: System, tenant: Tenant
) -> None:
    invitation_id = await invite(system, tenant)
    await submit(system, invitation_id, skills={"SQL": 90})
    metadata = (await status_of(system, tenant.key, invitation_id)).body["metadata"]
    assert metadata["SQL Score"] == 90
    assert "Evaluated By" not in metadata


# --- emails -----------------------------------------------------------------------------


@dataclass
class Mailed:
    """A system sending real SMTP to a sink, and one invitation's first email."""

    system: System
    tenant: Tenant
    sink: SmtpSink
    invitation_id: str
    email: EmailMessage


@pytest.fixture
async def mailed(databases: dict[str, str]) -> AsyncIterator[Mailed]:
    with SmtpSink() as sink:
        async with running_system(
            databases,
            **callbacks(),
            smtp_url=sink.url,
            assessment_link_base_url=LINK_BASE,
            mail_domain=MAIL_DOMAIN,
            relay=QUICK_RELAY,
        ) as system:
            tenant = await new_tenant(system)
            invitation_id = await invite(system, tenant)
            [email] = await emails_for(sink, invitation_id, count=1)
            yield Mailed(system, tenant, sink, invitation_id, email)
            await settle(system)


def body_of(email: EmailMessage) -> str:
    body = email.get_body(preferencelist=("plain",))
    assert body is not None
    text: str = body.get_content()
    return text


def link_of(email: EmailMessage) -> tuple[str, str]:
    match = re.search(rf"Take it here: ({re.escape(LINK_BASE)}/(\S+))", body_of(email))
    assert match is not None, body_of(email)
    return match.group(1), match.group(2)


async def test_invitation_email_goes_to_the_candidate_about_the_test(mailed: Mailed) -> None:
    [address] = mailed.email["To"].addresses
    assert address.addr_spec == "hpotter@hogwarts.edu"
    assert address.display_name == "The Chosen One Potter"
    assert mailed.email["Subject"] == "Your Data Analyst assessment"
    # Greeted by the preferred name alone, not "Hello The Chosen One Potter".
    assert body_of(mailed.email).splitlines()[0] == "Hello The Chosen One,"


async def test_invitation_email_link_carries_a_token_that_resolves_to_the_invitation(
    mailed: Mailed,
) -> None:
    _, token = link_of(mailed.email)
    resolved = await mailed.system.platform.ResolveAccessToken(
        apb.ResolveAccessTokenRequest(access_token=token)
    )
    assert resolved.invitation.id == mailed.invitation_id
    assert status_name(resolved.invitation) == "sent"


async def test_invitation_email_states_the_deadline(mailed: Mailed) -> None:
    found = await invitation(mailed.system, mailed.tenant, mailed.invitation_id)
    deadline = found.expire_time.ToDatetime(tzinfo=dt.UTC)
    assert f"The link works until {deadline:%A %d %B %Y, %H:%M} UTC." in body_of(mailed.email)


async def test_invitation_email_has_a_stable_message_id(mailed: Mailed) -> None:
    assert mailed.email["Message-ID"] == f"<invitation-0-{mailed.invitation_id}@{MAIL_DOMAIN}>"


async def test_resend_is_a_second_email_with_its_own_message_id_and_the_same_link(
    mailed: Mailed,
) -> None:
    await resend(mailed.system, mailed.invitation_id)
    first, second = await emails_for(mailed.sink, mailed.invitation_id, count=2)
    assert second["Message-ID"] == f"<resend-1-{mailed.invitation_id}@{MAIL_DOMAIN}>"
    assert second["Message-ID"] != first["Message-ID"]
    assert link_of(second) == link_of(first)
    assert second["Subject"] == "Your Data Analyst assessment (sent again)"


async def test_without_smtp_the_email_is_written_to_the_mail_folder_by_message_id(
    databases: dict[str, str], tmp_path: Path
) -> None:
    async with running_system(databases, **callbacks(), mail_dir=str(tmp_path)) as system:
        tenant = await new_tenant(system)
        invitation_id = await invite(system, tenant)
        expected = f"invitation-0-{invitation_id}@alooba.localhost.eml"

        async def written() -> bool:
            return expected in eml_files(tmp_path)

        await eventually(written, what=f"{expected} in the mail folder")
        await settle(system)


async def test_cancelled_invitation_whose_email_was_still_queued_is_never_emailed(
    databases: dict[str, str],
) -> None:
    sink = SmtpSink()  # not started yet: its port refuses connections
    async with running_system(
        databases, **callbacks(), smtp_url=sink.url, relay=QUICK_RELAY
    ) as system:
        tenant = await new_tenant(system)
        cancelled_id = await invite(system, tenant)
        kept_id = await invite(system, tenant)

        async def tried_and_failed() -> bool:
            [message] = [
                m
                for m in await outbox_messages(system, cancelled_id)
                if m["kind"] == "invitation.email"
            ]
            return message["attempts"] >= 1 and message["status"] != DELIVERED

        await eventually(tried_and_failed, what="a failed delivery attempt")
        await cancel(system, cancelled_id)
        with sink:
            await emails_for(sink, kept_id, count=1)

            async def settled() -> bool:
                messages = await outbox_messages(system, cancelled_id)
                return all(
                    m["status"] == DELIVERED for m in messages if m["kind"] == "invitation.email"
                )

            await eventually(settled, what="the cancelled invitation's email settled")
            assert [m for m in sink.messages if m["X-Alooba-Invitation"] == cancelled_id] == []


class _CancelledWhileLookingUp:
    """Stands in for the candidates service's contact look-up, and cancels the invitation
    while it is asked: the cancellation lands after the delivery's first look at the
    invitation and before its send, every time (the race the test above met only under
    load)."""

    def __init__(self, system: System, cancelling: str) -> None:
        self._system = system
        self._cancelling = cancelling

    async def candidate_for_email(
        self, organization_id: str, candidate_id: str, application_id: str
    ) -> CandidateForEmail:
        if self._cancelling:
            await cancel(self._system, self._cancelling)
        return CandidateForEmail("Harry Potter", "harry@hogwarts.test", "Harry", "active")


async def test_an_email_whose_invitation_is_cancelled_on_its_way_is_not_sent(
    databases: dict[str, str],
) -> None:
    kek = generate_kek()
    # No relay of the system's own: the test delivers the queued emails itself.
    async with running_system(
        databases, **callbacks(), relay_enabled=False, key_encryption_key=kek
    ) as system:
        tenant = await new_tenant(system)
        cancelled_id = await invite(system, tenant)
        kept_id = await invite(system, tenant)
        engine = create_engine(DatabaseSettings(url=databases["assessments"]))
        with SmtpSink() as sink:
            mailer = create_mailer(sink.url, "", timeout=10)
            try:
                for invitation_id, cancelling in ((cancelled_id, cancelled_id), (kept_id, "")):
                    handler = InvitationEmailHandler(
                        session_factory(engine),
                        SecretBox.from_base64(kek),
                        _CancelledWhileLookingUp(system, cancelling),
                        mailer,
                        EmailSettings(LINK_BASE, "Alooba <a@alooba.test>", MAIL_DOMAIN),
                    )
                    [row] = [
                        m
                        for m in await outbox_messages(system, invitation_id)
                        if m["kind"] == "invitation.email"
                    ]
                    await handler(
                        OutboxMessage(
                            id=row["id"],
                            kind=row["kind"],
                            payload=row["payload"],
                            attempts=row["attempts"],
                            created_at=row["created_at"],
                        )
                    )
                await emails_for(sink, kept_id, count=1)  # the same handler does send
                assert [m for m in sink.messages if m["X-Alooba-Invitation"] == cancelled_id] == []
            finally:
                await mailer.close()
                await engine.dispose()
        assert (
            await invitation(system, tenant, cancelled_id)
        ).status == apb.INVITATION_STATUS_CANCELLED
