"""`make faults`: a bulk flow through the real services on PostgreSQL while each fault is
injected in turn, then proof that nothing was lost or duplicated.

The flow, per invitation: Greenhouse (the emulator) calls send_test; the invitation
email reaches a real SMTP server; the candidate starts and submits (PlatformService);
the result is PATCHed to Greenhouse's callback URL and Greenhouse reads test_status, and
harvest-sync pushes it into the application's custom fields through the Harvest API
(alooba_dev.faults.harvest); every other candidate is also rejected by a signed webhook.
Each fault gets its own slice of invitations, started together (a bulk action) with the
fault injected while they are in flight. Clients retry as the real ones do (Greenhouse
resends webhooks and a recruiter re-sends a test; the platform retries with the same
idempotency key).

Afterwards: every invitation emailed exactly once (one Message-ID, one message), every
final result PATCHed and shown complete and pushed to its Greenhouse application with
its values, every webhook answered 200 applied, and no dead letters (assessments,
harvest-sync). The table counts, per fault, operations, lost and duplicated; the exit
status is 1 if anything was lost or duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alooba.assessments.v1 import assessments_pb2 as pb
from alooba.assessments.v1 import assessments_pb2_grpc as pb_grpc
from alooba.candidates.v1 import candidates_pb2 as cpb
from alooba.candidates.v1 import candidates_pb2_grpc as cpb_grpc
from alooba.outbox.v1 import outbox_pb2 as opb
from alooba.outbox.v1 import outbox_pb2_grpc as opb_grpc
from alooba_common.tls import Identity
from alooba_dev.bench.postgres import fresh_databases
from alooba_dev.bench.report import render_fault_table
from alooba_dev.faults import harvest
from alooba_dev.faults.postgres import Server, restartable_server
from alooba_dev.faults.tcpproxy import TcpProxy
from alooba_dev.faults.world import (
    Fault,
    Organization,
    ProxiedGreenhouse,
    RecordedHarvest,
    Trip,
    World,
)
from alooba_dev.smtp_sink import SmtpSink
from alooba_dev.stack import Stack, free_ports
from greenhouse_emulator.models import Candidate

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

# The relay's real code paths, with delays short enough for a bounded run: retries every
# 0.2 s to 1 s, 40 attempts before a dead letter (the longest fault lasts well under that).
RELAY = {
    "OUTBOX_BASE_DELAY_SECONDS": "0.2",
    "OUTBOX_MAX_DELAY_SECONDS": "1",
    "OUTBOX_POLL_INTERVAL_SECONDS": "0.1",
    "OUTBOX_MAX_ATTEMPTS": "40",
    # A SIGKILLed relay's leases must come back within the run.
    "OUTBOX_LEASE_SECONDS": "5",
    "CALLBACK_TIMEOUT_SECONDS": "2",
    "SMTP_TIMEOUT_SECONDS": "3",
    "ASSESSMENT_LINK_BASE_URL": "https://app.alooba.test/take",
    "REPORT_BASE_URL": "https://reports.alooba.test/reports",
}


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


# --- the faults --------------------------------------------------------------------------------


def _kill(service: str) -> Fault:
    async def inject(world: World) -> None:
        await world.kill_and_restart(service)

    return Fault(f"SIGKILL {service}", inject, lead=0.7)


async def _postgres_restart(world: World) -> None:
    await asyncio.to_thread(world.database.restart, 2.0)


async def _smtp_down(world: World) -> None:
    world.smtp.stop()
    await asyncio.sleep(6)
    world.smtp.start()


def _callback_status(status: int) -> Callable[[World], Coroutine[Any, Any, None]]:
    async def inject(world: World) -> None:
        world.greenhouse.callback_retry_after = 1
        world.greenhouse.callback_always(status)
        await asyncio.sleep(6)
        world.greenhouse.callback_always(None)

    return inject


async def _callback_timeout(world: World) -> None:
    world.callback_proxy.stall(True)
    await asyncio.sleep(7)
    world.callback_proxy.stall(False)


async def _nothing(world: World) -> None:
    return None


def built_in_faults() -> list[Fault]:
    return [
        Fault("none (baseline)", _nothing),
        _kill("gateway"),
        _kill("assessments"),
        _kill("candidates"),
        Fault("PostgreSQL restart", _postgres_restart, lead=0.7),
        Fault("SMTP server down 6 s", _smtp_down),
        Fault("callback answers 503 for 6 s", _callback_status(503)),
        Fault("callback answers 429 for 6 s", _callback_status(429)),
        Fault("callback times out for 7 s", _callback_timeout),
    ]


# --- the checks ----------------------------------------------------------------------------------


@dataclass
class Tally:
    fault: str
    operations: int = 0
    lost: int = 0
    duplicated: int = 0

    def row(self) -> dict[str, Any]:
        return {
            "fault": self.fault,
            "operations": self.operations,
            "lost": self.lost,
            "duplicated": self.duplicated,
        }


async def check(world: World, faults: Sequence[Fault]) -> tuple[list[dict[str, Any]], list[str]]:
    world.refresh_mail()
    tallies = {fault.name: Tally(fault.name) for fault in faults}
    problems: list[str] = []
    org = world.organization
    for trip in world.trips:
        tally = tallies[trip.phase]
        tally.operations += 2  # the email, the result's callback
        who = f"[{trip.phase}] take-home test {trip.take_home_test_id}"
        messages = world.mail.get(trip.candidate.email.lower(), [])
        message_ids = {str(message["Message-ID"]) for message in messages}
        if not messages:
            tally.lost += 1
            problems.append(f"{who}: no invitation email ({trip.error or 'no error'})")
        elif len(messages) > 1:
            tally.duplicated += len(messages) - 1
            problems.append(
                f"{who}: {len(messages)} invitation emails, {len(message_ids)} Message-IDs"
            )
        record = world.greenhouse.tests.get(trip.take_home_test_id)
        if record is None or record.callbacks_received < 1 or not record.complete:
            tally.lost += 1
            status = record.status if record is not None else "never sent"
            problems.append(f"{who}: result not PATCHed/complete ({status}; {trip.error})")
        if trip.with_webhook:
            tally.operations += 1
            delivery = trip.webhook
            if delivery is None or not delivery.delivered:
                tally.lost += 1
                problems.append(f"{who}: reject webhook never acknowledged ({trip.error})")
            elif not await _rejected(world, org, trip):
                tally.lost += 1
                problems.append(f"{who}: reject webhook answered 200 but not applied")
    dead = await world.outbox.ListDeadLetters(opb.ListDeadLettersRequest(limit=1000))
    dead_tally = Tally("dead letters (assessments outbox)", operations=len(world.trips) * 2)
    dead_tally.lost = len(dead.dead_letters)
    for letter in dead.dead_letters:
        problems.append(f"dead letter {letter.kind} after {letter.attempts}: {letter.last_error}")
    rows = [tally.row() for tally in tallies.values()] + [dead_tally.row()]
    rows = _merged(rows + await harvest.harvest_checks(world))
    return rows, problems + world.problems


def _merged(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of the same fault added up (a slice's Harvest pushes join its other
    operations), in the order they first appear."""
    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        into = merged.setdefault(row["fault"], {**row, "operations": 0, "lost": 0, "duplicated": 0})
        for column in ("operations", "lost", "duplicated"):
            into[column] += row[column]
    return list(merged.values())


async def _rejected(world: World, org: Organization, trip: Trip) -> bool:
    assert trip.interview_id is not None
    invitation = (
        await world.admin.GetInvitation(
            pb.GetInvitationRequest(organization_id=org.id, invitation_id=trip.interview_id)
        )
    ).invitation
    found = await world.candidates.GetCandidate(
        cpb.GetCandidateRequest(organization_id=org.id, candidate_id=invitation.candidate_id)
    )
    return any(
        application.status == cpb.HIRING_STATUS_REJECTED
        for application in found.candidate.applications
    )


# --- the run -----------------------------------------------------------------------------------


async def play(options: argparse.Namespace) -> int:
    began = time.monotonic()
    # What Greenhouse saw go wrong is counted in the summary, not printed as it happens.
    logging.getLogger("greenhouse_emulator").setLevel(logging.ERROR)
    server: Server = await asyncio.to_thread(restartable_server, options.database_url)
    say(f"PostgreSQL: {server.description}")
    var_dir = Path(tempfile.mkdtemp(prefix="alooba-faults-"))
    smtp = SmtpSink().start()
    greenhouse: ProxiedGreenhouse | None = None
    callback_proxy: TcpProxy | None = None
    harvest_api = harvest.new_harvest()
    try:
        await harvest_api.start()
        with fresh_databases(server.admin_url, "alooba_faults") as databases:
            stack = Stack(var_dir=var_dir, ports=free_ports(), database_urls=databases)
            # The partner base URL is only known now; the emulator is built for it.
            greenhouse = ProxiedGreenhouse(
                f"{stack.gateway_url}/v1/greenhouse",
                "not-issued-yet",
                timeout=10,
                webhook_time_scale=0.0005,
                webhook_timeout=10,
            )
            await greenhouse.start()
            callback_proxy = TcpProxy("127.0.0.1", greenhouse.port).open()
            greenhouse.proxy_port = callback_proxy.port
            assert greenhouse.ca_cert_path is not None
            stack.service_env = {
                "assessments": {
                    **RELAY,
                    "SMTP_URL": smtp.url,
                    "CALLBACK_HOST_ALLOWLIST": f"127.0.0.1:{callback_proxy.port}",
                    "CALLBACK_CA_FILE": str(greenhouse.ca_cert_path),
                },
                "harvest-sync": {
                    "KEY_ENCRYPTION_KEY": stack.key_encryption_key(),
                    **harvest.harvest_env(harvest_api),
                },
            }
            await asyncio.to_thread(stack.migrate)
            stack.start_all()
            try:
                await asyncio.to_thread(stack.wait_ready, timeout=60)
                code = await _drive(
                    options, stack, smtp, greenhouse, callback_proxy, harvest_api, server
                )
            finally:
                await asyncio.to_thread(stack.stop_all, 10)
    finally:
        if greenhouse is not None:
            await greenhouse.stop()
        if callback_proxy is not None:
            callback_proxy.close()
        await harvest_api.stop()
        smtp.stop()
        await asyncio.to_thread(server.close)
        if not options.keep:
            shutil.rmtree(var_dir, ignore_errors=True)
        say(f"finished in {time.monotonic() - began:.0f} s (logs: {var_dir}/log)")
    return code


async def _drive(
    options: argparse.Namespace,
    stack: Stack,
    smtp: SmtpSink,
    greenhouse: ProxiedGreenhouse,
    callback_proxy: TcpProxy,
    harvest_api: RecordedHarvest,
    server: Server,
) -> int:
    admin_channel = stack.channel("assessments", Identity.OPERATOR, timeout=5.0)
    platform_channel = stack.channel("assessments", Identity.PLATFORM, timeout=5.0)
    candidates_channel = stack.channel("candidates", Identity.OPERATOR, timeout=5.0)
    try:
        admin = pb_grpc.AdminServiceStub(admin_channel)
        name = f"Faults {uuid.uuid4().hex[:8]}"
        org = (await admin.CreateOrganization(pb.CreateOrganizationRequest(name=name))).organization
        issued = await admin.IssueApiKey(pb.IssueApiKeyRequest(organization_id=org.id))
        test = await admin.CreateTest(
            pb.CreateTestRequest(organization_id=org.id, name="Data Analyst", skills=["SQL"])
        )
        greenhouse.api_key = issued.secret
        await harvest.connect(harvest_api, stack, org.id)
        world = World(
            stack=stack,
            smtp=smtp,
            greenhouse=greenhouse,
            callback_proxy=callback_proxy,
            harvest=harvest_api,
            database=server,
            organization=Organization(org.id, name, test.test.id),
            platform=pb_grpc.PlatformServiceStub(platform_channel),
            admin=admin,
            candidates=cpb_grpc.CandidatesServiceStub(candidates_channel),
            outbox=opb_grpc.OutboxServiceStub(admin_channel),
        )
        faults = built_in_faults() + harvest.harvest_faults(world)
        if options.only:
            faults = [f for f in faults if any(word in f.name for word in options.only)]
        base = 10**11 + secrets.randbelow(10**10)
        loop = asyncio.get_running_loop()
        for fault in faults:
            if fault.settle is not None:
                await fault.settle(world)
            say(f"{fault.name}: {options.per_fault} invitations ...")
            trips = [
                _trip(len(world.trips) + i, fault.name, base, harvest_api)
                for i in range(options.per_fault)
            ]
            world.trips += trips
            deadline = loop.time() + options.trip_timeout
            tasks = [loop.create_task(world.travel(trip, deadline)) for trip in trips]
            await asyncio.sleep(fault.lead)
            await fault.inject(world)
            await asyncio.wait(tasks)
            failed = [trip for trip in trips if not trip.done]
            if failed:
                say(f"  {len(failed)} did not finish, e.g. {failed[0].error}")
        # Late duplicates (a redelivered email) would arrive now.
        await asyncio.sleep(3)
        rows, problems = await check(world, faults)
    finally:
        await admin_channel.close(None)
        await platform_channel.close(None)
        await candidates_channel.close(None)
    print()
    print(render_fault_table(rows))
    redelivered = sum(max(0, t.callbacks_received - 1) for t in greenhouse.tests.values())
    print(
        f"\ncallbacks PATCHed more than once (at-least-once, harmless): {redelivered}; "
        f"contract violations seen by Greenhouse: {len(greenhouse.violations)}"
    )
    kinds = Counter(
        f"{v.api_call}: {v.errors[0][:70]}" if v.errors else v.api_call
        for v in greenhouse.violations
    )
    for kind, count in kinds.most_common(5):
        print(f"  {count} x {kind}")
    for note in world.notes:
        print(note)
    for problem in problems[:40]:
        print(f"  {problem}")
    if len(problems) > 40:
        print(f"  ... and {len(problems) - 40} more")
    bad = any(row["lost"] or row["duplicated"] for row in rows)
    print(
        "\nFAILED: something was lost or duplicated" if bad else "\nOK: nothing lost or duplicated"
    )
    return 1 if bad else 0


def _trip(number: int, phase: str, base: int, harvest_api: RecordedHarvest) -> Trip:
    """One invitation; its Greenhouse application is one in the Harvest emulator, so that
    the result's push has somewhere to go."""
    candidate = Candidate(
        first_name="Fault",
        last_name=f"Candidate {number}",
        email=f"candidate-{number}@faults.example",
        candidate_id=base + number,
        application_id=harvest_api.add_application(candidate_id=base + number),
    )
    return Trip(
        number=number,
        phase=phase,
        candidate=candidate,
        take_home_test_id=base + number,
        with_webhook=number % 2 == 0,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m alooba_dev.faults", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL") or DEFAULT_ADMIN_URL,
        help="PostgreSQL admin URL, used only when no private cluster can be started",
    )
    parser.add_argument("--per-fault", type=int, default=40, help="invitations per fault")
    parser.add_argument(
        "--trip-timeout", type=float, default=90.0, help="seconds one invitation may take"
    )
    parser.add_argument("--only", action="append", default=[], help="faults whose name has this")
    parser.add_argument("--keep", action="store_true", help="keep the logs folder")
    options = parser.parse_args(argv)
    return asyncio.run(play(options))
