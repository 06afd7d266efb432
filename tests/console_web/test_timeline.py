"""The candidate's timeline (CONSOLE.md): sent, email delivered, started, submitted,
evaluated, Greenhouse called back, the scores handed to Harvest sync, the status webhook and
the erasure, each shown once the system has recorded it, oldest first."""

from __future__ import annotations

import datetime as dt
import random
import uuid

from console_web.helpers import joined, web_client
from integration.helpers import new_tenant, send_test
from integration.lifecycle_helpers import callback_receiver, eventually, start, submit
from integration.test_webhook_receipts import deliver
from support.console import Console
from support.greenhouse import send_test_body
from support.inprocess import System

from alooba.assessments.v1 import assessments_pb2 as apb
from alooba_common.db import utcnow
from console.handlers.candidates import MILESTONES
from greenhouse_emulator import webhooks


async def deliveries(system: System, organization_id: str, invitation_id: str) -> set[str]:
    found = await system.admin.GetInvitation(
        apb.GetInvitationRequest(organization_id=organization_id, invitation_id=invitation_id)
    )
    return {d.kind for d in found.invitation.deliveries}


async def test_the_timeline_shows_every_milestone_the_system_records(
    system: System, console: Console
) -> None:
    tenant = await new_tenant(system)
    org = tenant.organization.id
    candidate_id, application_id = random.randint(10**6, 10**7), random.randint(10**7, 10**8)
    body = send_test_body(tenant.test.id, candidate_id=candidate_id, application_id=application_id)
    body["url"] = callback_receiver().url()
    reply = await send_test(system, tenant.key, body)
    assert reply.status == 200, reply.body
    interview = str(reply.body["partner_interview_id"])

    async def delivered(*kinds: str) -> bool:
        return set(kinds) <= await deliveries(system, org, interview)

    await eventually(lambda: delivered("email_delivered"), what="the invitation email")
    await start(system, interview)
    await submit(system, interview, score=58, skills={"SQL": 60}, manual=True)
    await system.platform.RecordEvaluation(
        apb.RecordEvaluationRequest(
            idempotency_key=uuid.uuid4().hex,
            invitation_id=interview,
            score=66,
            skill_scores=[apb.SkillScore(skill="SQL", score=70)],
            evaluator="Grace Grader",
        )
    )
    await eventually(
        lambda: delivered("greenhouse_called_back", "handed_to_harvest_sync"),
        what="the callback and the Harvest hand-off",
    )
    # Greenhouse's times are to the second: one a second on, so that it follows the
    # callback and the hand-off.
    later = utcnow() + dt.timedelta(seconds=1)
    hired = webhooks.hire_candidate(candidate_id, application_id, resolved_at=later)
    assert (await deliver(system, tenant.organization.name, hired, tenant.key)).status == 200
    anonymized = webhooks.candidate_anonymized(candidate_id, ["full_name", "email_addresses"])
    assert (await deliver(system, tenant.organization.name, anonymized, tenant.key)).status == 200

    async with web_client(console) as client:
        await joined(console, client, org, "member")
        page = await client.get(f"/orgs/{org}/candidates/{interview}")
        assert page.status == 200
    timeline = page.text.split('<ol class="timeline">', 1)[1].split("</ol>", 1)[0]
    expected = [
        MILESTONES["sent"],
        MILESTONES["email_delivered"],
        MILESTONES["started"],
        MILESTONES["submitted"],
        MILESTONES["evaluated"],
        MILESTONES["greenhouse_called_back"],
        MILESTONES["handed_to_harvest_sync"],
        "Greenhouse status webhook: the application is now hired",
        "Candidate anonymized in Greenhouse: personal data erased",
    ]
    positions = [timeline.find(text.replace("'", "&#39;")) for text in expected]
    assert -1 not in positions, list(zip(expected, positions, strict=True))
    # In the order they happened: the callback and the hand-off either way round; the
    # status webhook (at Greenhouse's time for it) and the erasure after them.
    assert positions[:5] == sorted(positions[:5])
    assert positions[4] < min(positions[5:7])
    assert max(positions[5:7]) < min(positions[7:9])
    assert "Potter" not in page.text  # the name is gone after the erasure
