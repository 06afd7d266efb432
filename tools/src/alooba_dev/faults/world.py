"""The running system a fault run drives, and one invitation's trip through it."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email.utils
import re
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp
import grpc

from alooba.assessments.v1 import assessments_pb2 as pb
from alooba_dev.faults.postgres import Server
from alooba_dev.faults.tcpproxy import TcpProxy
from alooba_dev.harvest_emulated import field_values
from alooba_dev.smtp_sink import SmtpSink
from alooba_dev.stack import Stack
from greenhouse_emulator import webhooks
from greenhouse_emulator.emulator import GreenhouseEmulator
from greenhouse_emulator.errors import ContractViolationError, PartnerError
from greenhouse_emulator.harvest import HarvestEmulator
from greenhouse_emulator.models import Candidate, WebhookDelivery

if TYPE_CHECKING:
    from alooba.assessments.v1.assessments_pb2_grpc import (
        AdminServiceAsyncStub,
        PlatformServiceAsyncStub,
    )
    from alooba.candidates.v1.candidates_pb2_grpc import CandidatesServiceAsyncStub
    from alooba.outbox.v1.outbox_pb2_grpc import OutboxServiceAsyncStub

T = TypeVar("T")
_LINK = re.compile(r"https?://\S+/take/(\S+)")


class ProxiedGreenhouse(GreenhouseEmulator):
    """The emulator, with callback URLs pointing at a TCP proxy in front of it, so that a
    fault can make Greenhouse stop answering (the proxy stalls)."""

    proxy_port: int = 0

    @property
    def callback_base_url(self) -> str:
        base = super().callback_base_url
        if not self.proxy_port:
            return base
        return base.replace(f":{self.port}/", f":{self.proxy_port}/", 1)


class RecordedHarvest(HarvestEmulator):
    """The Harvest emulator, also keeping every application's custom-field values as
    they stood after each applied `PATCH /applications/{id}` (`writes`), so that a check
    can tell a write that repeated the same values (a retry: harmless) from one that
    changed them. The emulator records requests but not their bodies; this wraps its
    organisation's update once, in this process."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.writes: dict[int, list[dict[str, Any]]] = {}
        # requests[flow_from:] are the run's (before: connecting and its probes).
        self.flow_from = 0
        organisation = self._service.organisation
        update = organisation.update_application

        def recorded(application: Any, body: Any) -> None:
            update(application, body)
            self.writes.setdefault(application.id, []).append(self.values(application.id))

        organisation.update_application = recorded  # type: ignore[method-assign]

    def values(self, application_id: int) -> dict[str, Any]:
        """The application's custom-field values by field name (set ones only)."""
        return field_values(self, application_id)


@dataclass
class Organization:
    id: str
    name: str
    test_id: str


@dataclass
class Trip:
    """One invitation of the bulk flow: send_test → email → start/submit → callback
    PATCH → test_status; and for every other one, a signed reject_candidate webhook."""

    number: int
    phase: str
    candidate: Candidate
    take_home_test_id: int
    with_webhook: bool
    interview_id: str | None = None
    webhook: WebhookDelivery | None = None
    error: str | None = None
    done: bool = False

    @property
    def application_id(self) -> int:
        """Greenhouse's application (in the Harvest emulator) the result is pushed to."""
        return self.candidate.application_id

    @property
    def score(self) -> int:
        """The total score the candidate submits."""
        return 50 + self.number % 50

    @property
    def skill_scores(self) -> dict[str, int]:
        """The skill scores the candidate submits."""
        return {"SQL": 70}


@dataclass(frozen=True)
class Fault:
    """`inject` breaks something, waits, and repairs it; it starts `lead` seconds after
    its slice of the flow did. `settle`, if any, is awaited before the slice starts (so
    that earlier slices' leftover work does not meet this fault instead)."""

    name: str
    inject: Callable[[World], Awaitable[None]]
    lead: float = 0.0
    settle: Callable[[World], Awaitable[None]] | None = None


@dataclass
class World:
    stack: Stack
    smtp: SmtpSink
    greenhouse: ProxiedGreenhouse
    callback_proxy: TcpProxy
    harvest: RecordedHarvest
    database: Server
    organization: Organization
    platform: PlatformServiceAsyncStub
    admin: AdminServiceAsyncStub
    candidates: CandidatesServiceAsyncStub
    outbox: OutboxServiceAsyncStub
    trips: list[Trip] = field(default_factory=list)
    # What checks found wrong beyond the table's counts, printed under it.
    problems: list[str] = field(default_factory=list)
    # What checks report without counting it (harmless), printed under the table.
    notes: list[str] = field(default_factory=list)
    mail: dict[str, list[EmailMessage]] = field(default_factory=dict)
    _mail_seen: int = 0

    # --- faults' helpers --------------------------------------------------------------

    async def kill_and_restart(self, service: str) -> None:
        """SIGKILL, then start it again and wait until it is ready."""
        await asyncio.to_thread(self.stack.stop, service, signal.SIGKILL)
        self.stack.start(service)
        await asyncio.to_thread(self.stack.wait_ready, (service,), 60.0)

    # --- the mailbox --------------------------------------------------------------------

    def refresh_mail(self) -> None:
        messages = self.smtp.messages
        for message in messages[self._mail_seen :]:
            address = email.utils.parseaddr(str(message["To"]))[1].lower()
            self.mail.setdefault(address, []).append(message)
        self._mail_seen = len(messages)

    async def email_for(self, address: str, deadline: float) -> EmailMessage:
        loop = asyncio.get_running_loop()
        while True:
            self.refresh_mail()
            found = self.mail.get(address.lower())
            if found:
                return found[0]
            if loop.time() > deadline:
                raise TimeoutError(f"no email for {address}")
            await asyncio.sleep(0.05)

    # --- one trip -------------------------------------------------------------------------

    async def travel(self, trip: Trip, deadline: float) -> None:
        try:
            await self._travel(trip, deadline)
            trip.done = True
        except Exception as error:
            trip.error = f"{type(error).__name__}: {error}"[:300]

    async def _travel(self, trip: Trip, deadline: float) -> None:
        greenhouse, org = self.greenhouse, self.organization
        trip.interview_id = await retrying(
            lambda: greenhouse.send_test(
                org.test_id, trip.candidate, take_home_test_id=trip.take_home_test_id
            ),
            deadline,
        )
        message = await self.email_for(trip.candidate.email, deadline)
        body = message.get_body(preferencelist=("plain",))
        match = _LINK.search(body.get_content() if body is not None else "")
        if match is None:
            raise RuntimeError("no assessment link in the email")
        token = match.group(1)
        resolved = await retrying(
            lambda: self.platform.ResolveAccessToken(
                pb.ResolveAccessTokenRequest(access_token=token)
            ),
            deadline,
        )
        invitation_id = resolved.invitation.id
        await retrying(
            lambda: self.platform.StartAssessment(
                pb.StartAssessmentRequest(
                    idempotency_key=f"start-{trip.take_home_test_id}", invitation_id=invitation_id
                )
            ),
            deadline,
        )
        await retrying(
            lambda: self.platform.SubmitAssessment(
                pb.SubmitAssessmentRequest(
                    idempotency_key=f"submit-{trip.take_home_test_id}",
                    invitation_id=invitation_id,
                    score=trip.score,
                    skill_scores=[
                        pb.SkillScore(skill=skill, score=score)
                        for skill, score in trip.skill_scores.items()
                    ],
                )
            ),
            deadline,
        )
        if trip.with_webhook:
            candidate = trip.candidate
            trip.webhook = await greenhouse.send_webhook(
                webhooks.reject_candidate(
                    candidate.candidate_id,
                    candidate.application_id,
                    rejected_at=dt.datetime.now(dt.UTC),
                    candidate=candidate,
                ),
                organisation=org.name,
            )
        await self._shown_complete(trip, deadline)

    async def _shown_complete(self, trip: Trip, deadline: float) -> None:
        """Waits for the callback PATCH; Greenhouse then reads test_status. If that read
        failed (the gateway was down at that moment), Greenhouse's own polling reads it
        again later: so do we, once a second."""
        loop = asyncio.get_running_loop()
        last_read = 0.0
        while True:
            record = self.greenhouse.tests.get(trip.take_home_test_id)
            if record is not None and record.complete:
                return
            now = loop.time()
            if now > deadline:
                raise TimeoutError("the result was never shown complete in Greenhouse")
            if record is not None and record.callbacks_received and now - last_read > 1.0:
                last_read = now
                with contextlib.suppress(
                    PartnerError, ContractViolationError, aiohttp.ClientError, TimeoutError
                ):
                    await self.greenhouse.test_status(record.partner_interview_id)
                continue
            await asyncio.sleep(0.1)


async def retrying(call: Callable[[], Awaitable[T]], deadline: float) -> T:
    """`call()` until it succeeds or the deadline passes. Safe because every call here
    is idempotent: send_test by its url, platform calls by their idempotency keys."""
    loop = asyncio.get_running_loop()
    delay = 0.2
    while True:
        try:
            return await call()
        except (
            grpc.aio.AioRpcError,
            PartnerError,
            ContractViolationError,
            aiohttp.ClientError,
            TimeoutError,
        ):
            if loop.time() + delay > deadline:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, 2.0)


def describe(value: Any) -> str:
    return str(value)
