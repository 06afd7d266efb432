"""The assessment lifecycle on the real processes: invitation email over real SMTP, results
from the platform, the Greenhouse callback to the emulator, faults and restarts."""

from __future__ import annotations

import asyncio
import itertools
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from e2e.lifecycle import callbacks_for, lifecycle_stack
from support.platform import key, link_in, take_and_submit
from support.processes import cli, metric_value, wait_until

from alooba.assessments.v1 import assessments_pb2 as pb
from alooba.outbox.v1 import outbox_pb2
from greenhouse_emulator.models import Candidate

pytestmark = pytest.mark.e2e

Databases = Callable[[], dict[str, str]]
# For tests that keep SMTP or Greenhouse down on purpose: with the tests' fast backoff,
# the default attempt budget would run out (and dead-letter) before the outage ends. A
# short lease: messages a killed process had claimed are picked up again after it.
PATIENT = {"OUTBOX_MAX_ATTEMPTS": "10000", "OUTBOX_LEASE_SECONDS": "8"}


async def _send(life: object, take_home_test_id: int | None = None) -> tuple[int, str]:
    greenhouse = life.greenhouse  # type: ignore[attr-defined]
    take_home = take_home_test_id or greenhouse.allocate_take_home_test_id()
    interview_id = await greenhouse.send_test(
        life.test_id,
        Candidate(),
        take_home_test_id=take_home,  # type: ignore[attr-defined]
    )
    return take_home, interview_id


async def test_email_to_completed_result_reaches_greenhouse(
    tmp_path: Path, new_databases: Databases
) -> None:
    async with lifecycle_stack(tmp_path, new_databases) as life:
        tests = await life.greenhouse.list_tests()
        assert [t["partner_test_name"] for t in tests] == ["Data Analyst"]
        take_home, interview_id = await _send(life)

        [email] = await asyncio.to_thread(life.smtp.wait_for, 1)
        assert email["To"].addresses[0].addr_spec == "hpotter@hogwarts.edu"
        assert email["Message-ID"] == f"<invitation-0-{interview_id}@alooba.localhost>"
        link, token = link_in(email)
        assert link.startswith("https://app.alooba.test/take/")
        assert "closes" not in email["Subject"]

        status = await life.greenhouse.test_status(interview_id)
        assert status["partner_status"] == "sent"

        submitted = await take_and_submit(
            life.platform, token, score=81, skills={"SQL": 90, "Python": 72}
        )
        assert submitted.id == interview_id
        assert submitted.status == pb.INVITATION_STATUS_COMPLETE

        record = await life.greenhouse.wait_until_complete(take_home, timeout=20)
        assert record.score == 81
        assert record.report_url == f"https://reports.alooba.test/reports/{interview_id}"
        assert record.metadata is not None
        assert record.metadata["SQL Score"] == 90
        assert record.metadata["Python Score"] == 72
        assert len(callbacks_for(life.greenhouse, take_home)) == 1
        assert life.greenhouse.violations == []


async def test_manual_evaluation_waits_then_calls_back_exactly_once(
    tmp_path: Path, new_databases: Databases
) -> None:
    async with lifecycle_stack(tmp_path, new_databases) as life:
        take_home, interview_id = await _send(life)
        [email] = await asyncio.to_thread(life.smtp.wait_for, 1)
        _, token = link_in(email)

        submitted = await take_and_submit(life.platform, token, score=55, manual=True)
        assert submitted.status == pb.INVITATION_STATUS_AWAITING_EVALUATION
        status = await life.greenhouse.test_status(interview_id)
        assert status == {
            "partner_status": "awaiting_evaluation",
            "partner_profile_url": None,
            "partner_score": None,
            "metadata": None,
        }
        # Nothing to tell Greenhouse yet: no callback message exists at all.
        assert (
            metric_value(
                life.stack,
                "assessments",
                "outbox_messages_pending",
                {"kind": "greenhouse.callback"},
            )
            == 0
        )
        assert callbacks_for(life.greenhouse, take_home) == []

        evaluated = await life.platform.RecordEvaluation(
            pb.RecordEvaluationRequest(
                idempotency_key=key(),
                invitation_id=interview_id,
                score=64,
                skill_scores=[pb.SkillScore(skill="SQL", score=70)],
                evaluator="Grace Hopper",
            )
        )
        assert evaluated.invitation.status == pb.INVITATION_STATUS_COMPLETE
        record = await life.greenhouse.wait_until_complete(take_home, timeout=20)
        assert record.score == 64
        assert record.metadata is not None
        assert record.metadata["Evaluated By"] == "Grace Hopper"
        # The idempotent retry of the same evaluation changes nothing and sends nothing.
        await asyncio.sleep(0)  # let the emulator's background test_status finish
        assert len(callbacks_for(life.greenhouse, take_home)) == 1


async def test_callback_retries_503s_with_backoff_then_delivers(
    tmp_path: Path, new_databases: Databases
) -> None:
    async with lifecycle_stack(tmp_path, new_databases) as life:
        take_home, _ = await _send(life)
        [email] = await asyncio.to_thread(life.smtp.wait_for, 1)
        life.greenhouse.callback_responses.extend([503, 503, 503])
        await take_and_submit(life.platform, link_in(email)[1])

        record = await life.greenhouse.wait_until_complete(take_home, timeout=30)
        attempts = callbacks_for(life.greenhouse, take_home)
        assert [attempt.status for attempt in attempts] == [503, 503, 503, 200]
        gaps = [later.at - earlier.at for earlier, later in itertools.pairwise(attempts)]
        assert all(gap >= 0.09 for gap in gaps), gaps  # backoff, not a hot loop
        assert record.callbacks_received == 1


async def test_callback_429_waits_for_retry_after(tmp_path: Path, new_databases: Databases) -> None:
    async with lifecycle_stack(tmp_path, new_databases) as life:
        take_home, _ = await _send(life)
        [email] = await asyncio.to_thread(life.smtp.wait_for, 1)
        life.greenhouse.callback_retry_after = 2
        life.greenhouse.callback_responses.append(429)
        await take_and_submit(life.platform, link_in(email)[1])
        await life.greenhouse.wait_until_complete(take_home, timeout=30)
        first, second = callbacks_for(life.greenhouse, take_home)
        assert first.status == 429
        assert second.at - first.at >= 1.9


async def test_callback_404_is_dead_lettered_then_replayed_from_the_cli(
    tmp_path: Path, new_databases: Databases
) -> None:
    async with lifecycle_stack(tmp_path, new_databases) as life:
        take_home, interview_id = await _send(life)
        [email] = await asyncio.to_thread(life.smtp.wait_for, 1)
        life.greenhouse.callback_always(404)
        await take_and_submit(life.platform, link_in(email)[1])

        async def dead_letters() -> list[outbox_pb2.DeadLetter]:
            response = await life.outbox.ListDeadLetters(
                outbox_pb2.ListDeadLettersRequest(kind="greenhouse.callback")
            )
            return list(response.dead_letters)

        deadline = asyncio.get_running_loop().time() + 20
        while not (letters := await dead_letters()):
            assert asyncio.get_running_loop().time() < deadline, "no dead letter"
            await asyncio.sleep(0.1)
        [letter] = letters
        assert letter.payload["invitation_id"] == interview_id
        assert "404" in letter.last_error
        assert len(callbacks_for(life.greenhouse, take_home)) == 1  # not retried
        assert (
            metric_value(life.stack, "assessments", "assessments_callbacks_rejected_total", {}) == 1
        )
        assert (
            metric_value(
                life.stack,
                "assessments",
                "outbox_dead_letters_total",
                {"kind": "greenhouse.callback"},
            )
            == 1
        )
        # The result is still there for Greenhouse to read.
        status = await life.greenhouse.test_status(interview_id)
        assert status["partner_status"] == "complete"

        life.greenhouse.callback_always(None)  # "once fixed"
        replayed = await asyncio.to_thread(cli, life.stack, "outbox", "replay", letter.id)
        assert replayed.get("replayed", replayed) == 1
        record = await life.greenhouse.wait_until_complete(take_home, timeout=20)
        assert record.callbacks_received == 1
        assert await dead_letters() == []


async def test_sigkill_after_commit_loses_neither_email_nor_callback(
    tmp_path: Path, new_databases: Databases
) -> None:
    async with lifecycle_stack(
        tmp_path, new_databases, smtp_running=False, assessments_env=PATIENT
    ) as life:
        stack = life.stack
        # SMTP is down: the invitation is committed, its email is queued but cannot go.
        take_home, interview_id = await _send(life)
        life.smtp.start()
        [email] = await asyncio.to_thread(life.smtp.wait_for, 1)
        life.smtp.stop()
        # Greenhouse is down too: the result is committed, its callback cannot go.
        life.greenhouse.callback_always(503)
        await take_and_submit(life.platform, link_in(email)[1])
        second_take_home, second_interview = await _send(life)
        await asyncio.to_thread(
            wait_until,
            lambda: len(callbacks_for(life.greenhouse, take_home)) >= 1,
            20.0,
            "a failed callback attempt",
        )

        stack.processes["assessments"].send_signal(signal.SIGKILL)
        assert await asyncio.to_thread(stack.processes["assessments"].wait, 10) == -signal.SIGKILL

        life.smtp.start()
        life.greenhouse.callback_always(None)
        stack.start("assessments")
        await asyncio.to_thread(stack.wait_ready, ("assessments",), 30.0)

        # The sink keeps what it received before the outage: the first email, then the one
        # that was committed but undelivered when the process died.
        messages = await asyncio.to_thread(life.smtp.wait_for, 2)
        assert [m["Message-ID"] for m in messages] == [
            f"<invitation-0-{interview_id}@alooba.localhost>",
            f"<invitation-0-{second_interview}@alooba.localhost>",
        ]
        record = await life.greenhouse.wait_until_complete(take_home, timeout=30)
        assert record.partner_interview_id == interview_id
        assert [c.status for c in callbacks_for(life.greenhouse, take_home)][-1] == 200
        assert life.greenhouse.tests[second_take_home].status == "Sent"


async def test_two_hundred_invitations_across_a_sigkill_give_two_hundred_emails(
    tmp_path: Path, new_databases: Databases
) -> None:
    count = 200
    async with lifecycle_stack(
        tmp_path, new_databases, smtp_running=False, assessments_env=PATIENT
    ) as life:
        stack = life.stack
        semaphore = asyncio.Semaphore(20)

        async def send_one() -> str:
            async with semaphore:
                return (await _send(life))[1]

        interview_ids = await asyncio.gather(*(send_one() for _ in range(count)))
        # Every invitation is committed and its email queued; none can be delivered yet.
        stack.processes["assessments"].send_signal(signal.SIGKILL)
        await asyncio.to_thread(stack.processes["assessments"].wait, 10)
        life.smtp.start()
        stack.start("assessments")
        await asyncio.to_thread(stack.wait_ready, ("assessments",), 30.0)

        messages = await asyncio.to_thread(life.smtp.wait_for, count, 60.0)
        await asyncio.to_thread(
            wait_until,
            lambda: (
                metric_value(
                    stack, "assessments", "outbox_messages_pending", {"kind": "invitation.email"}
                )
                == 0
            ),
            20.0,
            "an empty email queue",
        )
        messages = life.smtp.messages
        assert len(messages) == count
        assert {m["X-Alooba-Invitation"] for m in messages} == set(interview_ids)


async def test_two_replicas_on_postgresql_deliver_each_message_once(
    tmp_path: Path, new_databases: Databases, database_server: object
) -> None:
    from support.databases import DatabaseServer

    assert isinstance(database_server, DatabaseServer)
    if not database_server.is_postgres:
        pytest.skip("several relays need PostgreSQL's FOR UPDATE SKIP LOCKED")
    count = 120
    async with lifecycle_stack(
        tmp_path,
        new_databases,
        smtp_running=False,
        assessments_env={**PATIENT, "OUTBOX_BATCH_SIZE": "5"},
    ) as life:
        stack = life.stack
        stack.start_replica("assessments", 2)
        replica_log = stack.log_path("assessments-2")
        # Both relays must be running before the backlog becomes deliverable.
        await asyncio.to_thread(
            wait_until,
            lambda: replica_log.exists() and '"server.started"' in replica_log.read_text(),
            30.0,
            "the second replica to start",
        )
        semaphore = asyncio.Semaphore(20)

        async def send_one() -> str:
            async with semaphore:
                return (await _send(life))[1]

        interview_ids = await asyncio.gather(*(send_one() for _ in range(count)))
        life.smtp.start()  # both relays now race for the same backlog
        await asyncio.to_thread(life.smtp.wait_for, count, 60.0)
        await asyncio.to_thread(
            wait_until,
            lambda: (
                metric_value(
                    stack, "assessments", "outbox_messages_pending", {"kind": "invitation.email"}
                )
                == 0
            ),
            20.0,
            "an empty email queue",
        )
        messages = life.smtp.messages
        assert len(messages) == count
        assert {m["X-Alooba-Invitation"] for m in messages} == set(interview_ids)
        delivered_by = {
            path.name
            for path in (stack.var_dir / "log").glob("assessments*.log")
            if '"outbox.delivered"' in path.read_text()
        }
        assert delivered_by == {"assessments.log", "assessments-2.log"}


async def test_url_outside_the_allow_list_is_refused_and_never_called(
    tmp_path: Path, new_databases: Databases
) -> None:
    async with lifecycle_stack(tmp_path, new_databases) as life:
        body = (
            b'{"partner_test_id": "%s", "candidate": {"first_name": "Ron", "last_name": "Weasley",'
            b' "preferred_name": null, "email": "ron@hogwarts.edu", "greenhouse_profile_url":'
            b' "https://app.greenhouse.io/people/1?application_id=2"},'
            b' "url": "https://evil.example.com/integrations/testing_partners/take_home_tests/1"}'
            % life.test_id.encode()
        )
        response = await life.greenhouse.raw(
            "POST", "send_test", body=body, headers={"Content-Type": "application/json"}
        )
        assert response.status == 422
        assert b"not an allowed Greenhouse host" in response.body
        listed = await asyncio.to_thread(
            cli, life.stack, "invitation", "list", "--org", life.organization
        )
        assert listed.get("invitations", []) == []
        assert (
            metric_value(
                life.stack,
                "assessments",
                "outbox_messages_pending",
                {"kind": "greenhouse.callback"},
            )
            == 0
        )
