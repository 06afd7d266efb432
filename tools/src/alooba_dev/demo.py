"""`make demo`: the seed's flow so far, played end to end on the real processes.

An operator sets up an organization; Greenhouse (the emulator) lists tests and sends one;
the invitation email reaches a real SMTP server; the candidate takes the test; the result
reaches Greenhouse through the callback, and Greenhouse shows the score and report link;
the scores are written into the application's custom fields through Harvest (v3, the
emulator playing the worst reading of what is unconfirmed about it; `--harvest v1` for the
retired v1); then Greenhouse rejects the candidate and anonymizes them, through signed
webhooks. It ends by
inviting the first Owner to the console and printing the console's pages for that
organization (and keeps the system up until Ctrl-C when run from a terminal).

`flow()` is the part after start-up, written against a source of channels (each opened with
a caller's certificate): `make images-smoke` plays the same steps against the system running
from its container images.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import re
import shutil
import signal
import sys
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from alooba.assessments.v1 import assessments_pb2 as pb
from alooba.assessments.v1 import assessments_pb2_grpc as pb_grpc
from alooba.candidates.v1 import candidates_pb2 as cpb
from alooba.candidates.v1 import candidates_pb2_grpc as cpb_grpc
from alooba.console.v1 import console_pb2 as console_pb
from alooba.console.v1 import console_pb2_grpc as console_grpc
from alooba_common.tls import Identity
from alooba_dev.harvest_emulated import connect_and_promote, field_values, pointed_at
from alooba_dev.smtp_sink import SmtpSink
from alooba_dev.stack import WITH_CONSOLE, ChannelSource, Stack, free_ports
from greenhouse_emulator import webhooks
from greenhouse_emulator.emulator import GreenhouseEmulator
from greenhouse_emulator.harvest import HarvestEmulator
from greenhouse_emulator.models import Candidate

_LINK = re.compile(r"(https?://\S+/take/(\S+))")


def step(number: int, title: str) -> None:
    print(f"\n\033[1m{number}. {title}\033[0m", flush=True)


def say(text: str) -> None:
    print(f"   {text}", flush=True)


@dataclass
class World:
    """What the system talks to: a real SMTP server and Greenhouse (partner API, webhooks,
    callbacks and Harvest), all in this process."""

    smtp: SmtpSink
    greenhouse: GreenhouseEmulator
    harvest: HarvestEmulator

    @classmethod
    async def start(cls, gateway_url: str) -> World:
        smtp = SmtpSink().start()
        greenhouse = GreenhouseEmulator(f"{gateway_url}/v1/greenhouse", "not-issued-yet")
        await greenhouse.start()
        harvest = HarvestEmulator()
        await harvest.start()
        return cls(smtp, greenhouse, harvest)

    async def stop(self) -> None:
        await self.greenhouse.stop()
        await self.harvest.stop()
        self.smtp.stop()

    def service_env(self, *, log_level: str = "warning") -> dict[str, dict[str, str]]:
        """Each service's environment for talking to this world (fast relays, the emulators'
        CA certificates, callbacks allowed to the emulator's port on 127.0.0.1)."""
        assert self.greenhouse.ca_cert_path is not None
        assert self.harvest.ca_cert_path is not None
        return {
            "assessments": {
                "SMTP_URL": self.smtp.url,
                "CALLBACK_HOST_ALLOWLIST": f"127.0.0.1:{self.greenhouse.port}",
                "CALLBACK_CA_FILE": str(self.greenhouse.ca_cert_path),
                "OUTBOX_POLL_INTERVAL_SECONDS": "0.1",
                "LOG_LEVEL": log_level,
            },
            "gateway": {"LOG_LEVEL": log_level},
            "console": {"LOG_LEVEL": log_level},
            "candidates": {"LOG_LEVEL": log_level},
            "harvest-sync": {
                **pointed_at(self.harvest),
                "OUTBOX_POLL_INTERVAL_SECONDS": "0.1",
                "LOG_LEVEL": log_level,
            },
        }


@dataclass(frozen=True)
class Played:
    """What flow() leaves behind: the organization it set up and the report Greenhouse
    links to."""

    organization_id: str
    report_url: str


async def play(var_dir: Path, *, wait: bool, harvest_mode: str = "v3") -> None:
    stack = Stack(var_dir=var_dir, ports=free_ports(), services=WITH_CONSOLE)
    world = await World.start(stack.gateway_url)
    stack.service_env = world.service_env()
    try:
        step(
            1,
            "Start the system: four services and the console on SQLite, an SMTP server, "
            "Greenhouse (partner API, webhooks and Harvest)",
        )
        await asyncio.to_thread(stack.migrate)
        stack.start_all()
        await asyncio.to_thread(stack.wait_ready)
        say(f"gateway   {stack.gateway_url}/v1/greenhouse/")
        say(f"console   {stack.console_url}/")
        played = await flow(stack, world, harvest_mode=harvest_mode)
        await show_console(stack, played, wait=wait)
    finally:
        print("\nStopping ...", flush=True)
        await asyncio.to_thread(stack.stop_all)
        await world.stop()


async def show_console(stack: Stack, played: Played, *, wait: bool) -> None:
    """Step 12: the first Owner is invited (as alooba-gh user invite does), and the console's
    pages for the organization are printed."""
    step(12, "The console: the customer's side of all this")
    accept_url = await visit_console(stack, stack.console_url, played)
    console = f"{stack.console_url}/orgs/{played.organization_id}"
    for label, url in (
        ("become the Owner (set a password)", accept_url),
        ("Organization Settings", f"{console}/settings"),
        ("Greenhouse: key, webhooks, setup check", f"{console}/settings/greenhouse"),
        ("Harvest", f"{console}/settings/harvest"),
        ("Tests", f"{console}/tests"),
        ("Candidates", f"{console}/candidates"),
        ("View Report (anonymized now)", played.report_url),
        ("Audit log", f"{console}/audit"),
    ):
        say(f"{label + ':':<40} {url}")
    if wait:
        say("Open them now; press Ctrl-C to stop the system.")
        await _until_interrupted()


async def visit_console(channels: ChannelSource, console_url: str, played: Played) -> str:
    """The first Owner invited as `alooba-gh user invite` does (the operator's certificate,
    on the console's gRPC port); the invitation's page asks for a password, and the
    organization's pages want a login. Returns the invitation's URL."""
    async with channels.channel("console", Identity.OPERATOR) as channel:
        owner = await console_grpc.UserServiceStub(channel).InviteUser(
            console_pb.InviteUserRequest(
                organization_id=played.organization_id,
                email="owner@acme.example",
                role=console_pb.ROLE_OWNER,
            )
        )
    say("the first Owner is invited to the console (alooba-gh user invite)")
    if not owner.accept_url.startswith(f"{console_url}/invite/"):
        raise AssertionError(f"the invitation links elsewhere: {owner.accept_url}")
    async with aiohttp.ClientSession() as session:
        async with session.get(owner.accept_url) as response:
            page = await response.text()
            if response.status != 200 or 'name="password"' not in page:
                raise AssertionError(f"the invitation page: {response.status}")
        settings = f"{console_url}/orgs/{played.organization_id}/settings"
        async with session.get(settings, allow_redirects=False) as response:
            if response.status not in (302, 303) or "/login" not in response.headers.get(
                "Location", ""
            ):
                raise AssertionError(f"Organization Settings without a login: {response.status}")
    say("the invitation's page asks for a password; Organization Settings want a login")
    return owner.accept_url


async def _until_interrupted() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def flow(channels: ChannelSource, world: World, *, harvest_mode: str = "v3") -> Played:
    """Steps 2-11 against running services (gRPC through `channels`, the gateway where
    `world.greenhouse` calls it). Fails on the first step whose outcome is wrong."""
    smtp, greenhouse, harvest = world.smtp, world.greenhouse, world.harvest
    say(f"SMTP      127.0.0.1:{smtp.port}")
    say(f"Greenhouse emulator callbacks at {greenhouse.callback_base_url}")
    say(f"Greenhouse Harvest API emulator at {harvest.base_url}")
    # Each part is played with its own certificate: the operator's, the platform's.
    async with (
        channels.channel("assessments", Identity.OPERATOR) as channel,
        channels.channel("assessments", Identity.PLATFORM) as platform_channel,
        channels.channel("candidates", Identity.OPERATOR) as candidates_channel,
    ):
        admin = pb_grpc.AdminServiceStub(channel)
        platform = pb_grpc.PlatformServiceStub(platform_channel)

        step(2, "Operator: an organization, its partner key and a test (alooba-gh does this)")
        name = f"Acme Corp {uuid.uuid4().hex[:4]}"
        org = (await admin.CreateOrganization(pb.CreateOrganizationRequest(name=name))).organization
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
            step(3, "Operator: connect Harvest with the customer's v1 API key (alooba-gh harvest)")
        candidate = Candidate(application_id=harvest.add_application(candidate_id=17681532))
        # Someone else's field on the same application: it must survive our writes.
        notes = harvest.add_custom_field("Recruiter Notes", value_type="short_text")
        harvest.set_application_custom_field(
            candidate.application_id, notes["name_key"], "strong SQL"
        )
        connected, checked = await connect_and_promote(
            harvest,
            channels,
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
        callbacks = [c for c in greenhouse.callbacks if c.take_home_test_id == take_home]
        assert callbacks, "Greenhouse received no callback PATCH"
        say(f"callback PATCHes received: {len(callbacks)}")
        assert record.status == "complete", record
        assert record.score == 81, record
        say(f"status: {record.status}")
        say(f"score: {record.score}")
        say(f"View Report: {record.report_url}")
        for label, value in (record.metadata or {}).items():
            say(f"{label}: {value}")
        say(f"contract violations seen by Greenhouse: {len(greenhouse.violations)}")
        assert not greenhouse.violations, greenhouse.violations

        step(9, "Harvest: the scores land in the application's custom fields")

        async def written() -> dict[str, Any]:
            for _ in range(300):
                values = field_values(harvest, candidate.application_id)
                if "Alooba Score" in values:
                    return values
                await asyncio.sleep(0.1)
            raise TimeoutError("the scores did not reach Greenhouse's custom fields")

        values = await written()
        assert values["Alooba Score"] == 81, values
        assert values[notes["name"]] == "strong SQL", values
        for field_name, value in sorted(values.items()):
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
        assert delivery.attempts[-1].status == 200, delivery
        status_now = await application_status()
        say(f"application status in the candidates service: {status_now}")
        assert status_now == "rejected", status_now

        step(11, "Greenhouse: the candidate is anonymized (GDPR)")
        anonymize = webhooks.candidate_anonymized(
            candidate.candidate_id, ["full_name", "email_addresses", "phone_numbers"]
        )
        delivery = await greenhouse.send_webhook(anonymize, organisation=name)
        say(f"webhook answered {delivery.attempts[-1].status}")
        found = await candidates.GetCandidate(
            cpb.GetCandidateRequest(organization_id=org.id, candidate_id=invitation.candidate_id)
        )
        contact = found.candidate.contact
        say(f"name now: {contact.first_name} {contact.last_name}; email: {contact.email!r}")
        assert delivery.attempts[-1].status == 200, delivery
        assert not contact.email, contact
        receipts = await candidates.ListErasureReceipts(
            cpb.ListErasureReceiptsRequest(organization_id=org.id)
        )
        for receipt in receipts.receipts:
            say(f"erasure receipt {receipt.id}: erased {', '.join(receipt.erased)}")
    assert record.report_url is not None, record
    return Played(organization_id=org.id, report_url=record.report_url)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--keep", action="store_true", help="keep the demo's state folder")
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="stop at once after printing the console pages (default: when standard input "
        "is a terminal, keep the system up until Ctrl-C so they can be opened)",
    )
    parser.add_argument(
        "--harvest",
        choices=("v3", "v1"),
        default="v3",
        help="the Harvest API version to connect with (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    var_dir = Path(tempfile.mkdtemp(prefix="alooba-demo-"))
    try:
        asyncio.run(
            play(var_dir, wait=not args.no_wait and sys.stdin.isatty(), harvest_mode=args.harvest)
        )
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
