"""`make demo`: the seed's flow so far, played end to end on the real processes.

An operator sets up an organization; Greenhouse (the emulator) lists tests and sends one;
the invitation email reaches a real SMTP server; the candidate takes the test; the result
reaches Greenhouse through the callback, and Greenhouse shows the score and report link;
the scores are written into the application's custom fields through Harvest (v3, the
emulator playing the worst reading of what is unconfirmed about it; `--harvest v1` for the
retired v1); then Greenhouse rejects the candidate and anonymizes them, through signed
webhooks.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import re
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

import grpc

from alooba.assessments.v1 import assessments_pb2 as pb
from alooba.assessments.v1 import assessments_pb2_grpc as pb_grpc
from alooba.candidates.v1 import candidates_pb2 as cpb
from alooba.candidates.v1 import candidates_pb2_grpc as cpb_grpc
from alooba_dev.harvest_emulated import connect_and_promote, field_values, pointed_at
from alooba_dev.smtp_sink import SmtpSink
from alooba_dev.stack import Stack, free_ports
from greenhouse_emulator import webhooks
from greenhouse_emulator.emulator import GreenhouseEmulator
from greenhouse_emulator.harvest import HarvestEmulator
from greenhouse_emulator.models import Candidate

_LINK = re.compile(r"(https?://\S+/take/(\S+))")


def step(number: int, title: str) -> None:
    print(f"\n\033[1m{number}. {title}\033[0m", flush=True)


def say(text: str) -> None:
    print(f"   {text}", flush=True)


async def play(var_dir: Path, harvest_mode: str = "v3") -> None:
    stack = Stack(var_dir=var_dir, ports=free_ports())
    smtp = SmtpSink().start()
    greenhouse = GreenhouseEmulator(f"{stack.gateway_url}/v1/greenhouse", "not-issued-yet")
    await greenhouse.start()
    assert greenhouse.ca_cert_path is not None
    harvest = HarvestEmulator()
    await harvest.start()
    assert harvest.ca_cert_path is not None
    stack.service_env = {
        "assessments": {
            "SMTP_URL": smtp.url,
            "CALLBACK_HOST_ALLOWLIST": "127.0.0.1",
            "CALLBACK_CA_FILE": str(greenhouse.ca_cert_path),
            "OUTBOX_POLL_INTERVAL_SECONDS": "0.1",
            "LOG_LEVEL": "warning",
        },
        "gateway": {"LOG_LEVEL": "warning"},
        "candidates": {"LOG_LEVEL": "warning"},
        "harvest-sync": {
            **pointed_at(harvest),
            "OUTBOX_POLL_INTERVAL_SECONDS": "0.1",
            "LOG_LEVEL": "warning",
        },
    }
    try:
        step(
            1,
            "Start the system: four services on SQLite, an SMTP server, Greenhouse "
            "(partner API, webhooks and Harvest)",
        )
        await asyncio.to_thread(stack.migrate)
        stack.start_all()
        await asyncio.to_thread(stack.wait_ready)
        say(f"gateway   {stack.gateway_url}/v1/greenhouse/")
        say(f"SMTP      127.0.0.1:{smtp.port}")
        say(f"Greenhouse emulator callbacks at {greenhouse.callback_base_url}")
        say(f"Greenhouse Harvest API emulator at {harvest.base_url}")

        async with (
            grpc.aio.insecure_channel(stack.address("assessments")) as channel,
            grpc.aio.insecure_channel(stack.address("candidates")) as candidates_channel,
        ):
            admin = pb_grpc.AdminServiceStub(channel)
            platform = pb_grpc.PlatformServiceStub(channel)

            step(2, "Operator: an organization, its partner key and a test (alooba-gh does this)")
            name = f"Acme Corp {uuid.uuid4().hex[:4]}"
            org = (
                await admin.CreateOrganization(pb.CreateOrganizationRequest(name=name))
            ).organization
            issued = await admin.IssueApiKey(pb.IssueApiKeyRequest(organization_id=org.id))
            await admin.CreateTest(
                pb.CreateTestRequest(
                    organization_id=org.id,
                    name="Data Analyst",
                    skills=["SQL", "Python"],
                    expiry_days=7,
                )
            )
            greenhouse.api_key = issued.secret
            say(f"organization {name!r}; key {issued.api_key.prefix}... (given to Greenhouse)")

            site_admin = harvest.add_user("Ada", "Admin", "ada@acme.example", site_admin=True)
            if harvest_mode == "v3":
                step(
                    3,
                    'Operator: connect Harvest with the customer\'s "Harvest V3 (OAuth)" '
                    f"client, naming Site Admin {site_admin} to act as "
                    "(alooba-gh harvest connect --v3 --client-id ID --acting-user USER_ID)",
                )
                say(f"Greenhouse plays: {harvest.v3_behaviour.describe()}")
            else:
                step(
                    3,
                    "Operator: connect Harvest with the customer's v1 API key (alooba-gh harvest)",
                )
            candidate = Candidate(application_id=harvest.add_application(candidate_id=17681532))
            # Someone else's field on the same application: it must survive our writes.
            notes = harvest.add_custom_field("Recruiter Notes", value_type="short_text")
            harvest.set_application_custom_field(
                candidate.application_id, notes["name_key"], "strong SQL"
            )
            connected, checked = await connect_and_promote(
                harvest,
                stack.address("harvest-sync"),
                org.id,
                mode=harvest_mode,
                acting_user_id=site_admin if harvest_mode == "v3" else None,
            )
            user = connected.integration_user
            granted = "scopes" if harvest_mode == "v3" else "permissions"
            say(f"missing {granted}: {', '.join(connected.missing_permissions) or 'none'}")
            say(f"integration user {user.email} created (id {user.id}); Site Admin: no")
            for action in connected.actions_needed:
                say(f"to do: {action}")
            say(
                "the Greenhouse admin makes it a Site Admin; status now asks for: "
                f"{', '.join(checked.actions_needed) or 'nothing'}"
            )

            step(4, "Greenhouse: list_tests (a recruiter adds the Alooba stage to a job)")
            tests = await greenhouse.list_tests()
            for test in tests:
                say(f"{test['partner_test_name']}  (partner_test_id {test['partner_test_id']})")

            step(5, "Greenhouse: send_test (the recruiter clicks Send Test)")
            take_home = greenhouse.allocate_take_home_test_id()
            interview_id = await greenhouse.send_test(
                tests[0]["partner_test_id"], candidate, take_home_test_id=take_home
            )
            say(f"partner_interview_id {interview_id}")

            step(6, "The candidate's invitation email arrives")
            [email] = await asyncio.to_thread(smtp.wait_for, 1)
            body = email.get_body(preferencelist=("plain",))
            match = _LINK.search(body.get_content() if body else "")
            assert match is not None
            say(f"To: {email['To']}")
            say(f"Subject: {email['Subject']}")
            say(f"Link: {match.group(1)[:60]}...")

            step(7, "The candidate takes the test; the platform reports the result")
            token = match.group(2)
            resolved = await platform.ResolveAccessToken(
                pb.ResolveAccessTokenRequest(access_token=token)
            )
            await platform.StartAssessment(
                pb.StartAssessmentRequest(
                    idempotency_key=uuid.uuid4().hex, invitation_id=resolved.invitation.id
                )
            )
            status = await greenhouse.test_status(interview_id)
            say(f"status after opening the link: {status['partner_status']}")
            await platform.SubmitAssessment(
                pb.SubmitAssessmentRequest(
                    idempotency_key=uuid.uuid4().hex,
                    invitation_id=resolved.invitation.id,
                    score=81,
                    skill_scores=[
                        pb.SkillScore(skill="SQL", score=90),
                        pb.SkillScore(skill="Python", score=72),
                    ],
                )
            )
            say("submitted: total 81, SQL 90, Python 72 (auto-scored)")

            step(8, "Greenhouse is called back, fetches test_status and shows the result")
            record = await greenhouse.wait_until_complete(take_home, timeout=30)
            say(f"status: {record.status}")
            say(f"score: {record.score}")
            say(f"View Report: {record.report_url}")
            for label, value in (record.metadata or {}).items():
                say(f"{label}: {value}")
            say(f"contract violations seen by Greenhouse: {len(greenhouse.violations)}")

            step(9, "Harvest: the scores land in the application's custom fields")

            async def written() -> dict[str, Any]:
                for _ in range(300):
                    values = field_values(harvest, candidate.application_id)
                    if "Alooba Score" in values:
                        return values
                    await asyncio.sleep(0.1)
                raise TimeoutError("the scores did not reach Greenhouse's custom fields")

            for field_name, value in sorted((await written()).items()):
                note = "  (someone else's: untouched)" if field_name == notes["name"] else ""
                say(f"{field_name}: {value}{note}")
            stats = harvest.stats()
            say(f"Harvest {harvest_mode} requests made: {stats.total}, 429s: {stats.rate_limited}")

            candidates = cpb_grpc.CandidatesServiceStub(candidates_channel)
            invitation = (
                await admin.GetInvitation(
                    pb.GetInvitationRequest(organization_id=org.id, invitation_id=interview_id)
                )
            ).invitation

            async def application_status() -> str:
                found = await candidates.GetCandidate(
                    cpb.GetCandidateRequest(
                        organization_id=org.id, candidate_id=invitation.candidate_id
                    )
                )
                status = found.candidate.applications[0].status
                return str(cpb.HiringStatus.Name(status)).removeprefix("HIRING_STATUS_").lower()

            step(10, "Greenhouse: the recruiter rejects the candidate (a signed webhook)")
            reject = webhooks.reject_candidate(
                candidate.candidate_id,
                candidate.application_id,
                rejected_at=dt.datetime.now(dt.UTC),
            )
            delivery = await greenhouse.send_webhook(reject, organisation=name)
            say(f"webhook answered {delivery.attempts[-1].status}")
            say(f"application status in the candidates service: {await application_status()}")

            step(11, "Greenhouse: the candidate is anonymized (GDPR)")
            anonymize = webhooks.candidate_anonymized(
                candidate.candidate_id, ["full_name", "email_addresses", "phone_numbers"]
            )
            delivery = await greenhouse.send_webhook(anonymize, organisation=name)
            say(f"webhook answered {delivery.attempts[-1].status}")
            found = await candidates.GetCandidate(
                cpb.GetCandidateRequest(
                    organization_id=org.id, candidate_id=invitation.candidate_id
                )
            )
            contact = found.candidate.contact
            say(f"name now: {contact.first_name} {contact.last_name}; email: {contact.email!r}")
            receipts = await candidates.ListErasureReceipts(
                cpb.ListErasureReceiptsRequest(organization_id=org.id)
            )
            for receipt in receipts.receipts:
                say(f"erasure receipt {receipt.id}: erased {', '.join(receipt.erased)}")
    finally:
        print("\nStopping ...", flush=True)
        await asyncio.to_thread(stack.stop_all)
        await greenhouse.stop()
        await harvest.stop()
        smtp.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--keep", action="store_true", help="keep the demo's state folder")
    parser.add_argument(
        "--harvest",
        choices=("v3", "v1"),
        default="v3",
        help="the Harvest API version to connect with (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    var_dir = Path(tempfile.mkdtemp(prefix="alooba-demo-"))
    try:
        asyncio.run(play(var_dir, args.harvest))
    except Exception as error:
        print(f"\ndemo failed: {error!r}; logs in {var_dir}/log", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            shutil.rmtree(var_dir, ignore_errors=True)
    print("Done.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
