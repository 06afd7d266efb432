"""Helpers for the lifecycle tests: polling with a deadline, gRPC errors, invitations
brought into a given state through PlatformService, and direct database access for
what only time would otherwise do (a deadline passing)."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest
from google.protobuf import timestamp_pb2
from integration.helpers import Tenant, send_test
from sqlalchemy import RowMapping, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from support.greenhouse import send_test_body
from support.inprocess import System
from support.platform import key

from alooba.assessments.v1 import assessments_pb2 as apb
from alooba_common.config import DatabaseSettings
from alooba_common.db import create_engine, session_factory, utcnow
from alooba_common.outbox import PENDING
from alooba_dev.smtp_sink import SmtpSink
from assessments.jobs.sweeper import Sweeper
from assessments.store.models import OUTBOX, Invitation
from candidates.store.models import Application, Candidate
from greenhouse_emulator.tls import generate_certificates, server_ssl_context

T = TypeVar("T")

# Greenhouse callbacks go to a CallbackReceiver on loopback: completing an invitation in a
# test must never PATCH the real app.greenhouse.io.
CALLBACK_HOSTS = ("127.0.0.1",)

STATUS_NAMES = {
    apb.INVITATION_STATUS_SENT: "sent",
    apb.INVITATION_STATUS_STARTED: "started",
    apb.INVITATION_STATUS_AWAITING_EVALUATION: "awaiting_evaluation",
    apb.INVITATION_STATUS_COMPLETE: "complete",
    apb.INVITATION_STATUS_EXPIRED: "expired",
    apb.INVITATION_STATUS_CANCELLED: "cancelled",
}


async def eventually(
    check: Callable[[], Awaitable[T]], *, within: float = 10.0, what: str = "condition"
) -> T:
    """Polls `check` until it returns something truthy; fails after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {within}s (last: {result!r})")
        await asyncio.sleep(0.02)


async def rpc_error(call: Awaitable[Any]) -> grpc.aio.AioRpcError:
    """The error a gRPC call fails with (the test fails if it succeeds)."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


# --- the database, directly -----------------------------------------------------------


@asynccontextmanager
async def database(url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on a service's database, as the service itself opens them."""
    engine = create_engine(DatabaseSettings(url=url, pool_size=2, max_overflow=2))
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


async def move_deadline(system: System, invitation_id: str, expires_at: dt.datetime) -> None:
    """What time passing does: the deadline is now `expires_at`."""
    async with database(system.databases["assessments"]) as sessions, sessions.begin() as s:
        await s.execute(
            update(Invitation).where(Invitation.id == invitation_id).values(expires_at=expires_at)
        )


async def pass_deadline(system: System, invitation_id: str) -> None:
    await move_deadline(system, invitation_id, utcnow() - dt.timedelta(minutes=1))


async def sweep(
    system: System, *, reminder_before: dt.timedelta = dt.timedelta()
) -> tuple[int, int]:
    """One sweeper pass over the system's database: (expired, reminders queued)."""
    async with database(system.databases["assessments"]) as sessions:
        sweeper = Sweeper(
            sessions,
            reminder_before=reminder_before,
            interval_seconds=3600,
            outbox_committed=lambda: None,
        )
        return await sweeper.sweep()


async def outbox_messages(system: System, invitation_id: str) -> list[RowMapping]:
    """The outbox messages about one invitation, oldest first."""
    async with database(system.databases["assessments"]) as sessions, sessions.begin() as s:
        rows = (await s.execute(select(OUTBOX).order_by(OUTBOX.c.created_at))).mappings().all()
    return [row for row in rows if row["payload"].get("invitation_id") == invitation_id]


async def settle(system: System) -> None:
    """Waits until the relay has nothing left to deliver. A system is stopped only once it
    has settled: a relay cancelled mid-transaction can leave aiosqlite's connection close
    waiting forever (SQLAlchemy's forced terminate stops aiosqlite's worker thread while
    the graceful close still awaits it), which hangs the event loop's shutdown."""

    async def idle() -> bool:
        async with database(system.databases["assessments"]) as sessions, sessions.begin() as s:
            pending = await s.scalar(
                select(func.count()).select_from(OUTBOX).where(OUTBOX.c.status == PENDING)
            )
        return pending == 0

    await eventually(idle, what="the outbox settled")


async def emails_for(sink: SmtpSink, invitation_id: str, *, count: int) -> list[EmailMessage]:
    """Waits for `count` emails about the invitation to reach the sink; returns them all."""

    async def arrived() -> list[EmailMessage]:
        found = [m for m in sink.messages if m["X-Alooba-Invitation"] == invitation_id]
        return found if len(found) >= count else []

    return await eventually(arrived, what=f"{count} email(s) for {invitation_id}")


async def reject_application(system: System, invitation: apb.Invitation) -> None:
    """What Greenhouse's "candidate rejected" webhook does to the application the
    invitation is for (and to the candidate's displayed status)."""
    async with database(system.databases["candidates"]) as sessions, sessions.begin() as s:
        await s.execute(
            update(Application)
            .where(Application.id == invitation.application_id)
            .values(status="rejected")
        )
        await s.execute(
            update(Candidate)
            .where(Candidate.id == invitation.candidate_id)
            .values(hiring_status="rejected")
        )


def eml_files(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.glob("*.eml"))


# --- Greenhouse's callback endpoint ---------------------------------------------------


class CallbackReceiver:
    """Greenhouse's callback endpoint reduced to answering 200 over HTTPS, in a thread.

    Every callback is delivered at its first attempt, so no relay keeps retrying one in
    the background (a relay cancelled mid-transaction at teardown can hang aiosqlite).
    """

    def __init__(self, directory: Path) -> None:
        self.tls = generate_certificates(directory)

        class Handler(BaseHTTPRequestHandler):
            def do_PATCH(self) -> None:
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.socket = server_ssl_context(self.tls).wrap_socket(
            self._server.socket, server_side=True
        )
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self) -> str:
        """A callback url of its own, like each Greenhouse take-home test's."""
        return f"https://127.0.0.1:{self.port}/take_home_tests/{uuid.uuid4().hex}"


@functools.cache
def callback_receiver() -> CallbackReceiver:
    """One receiver for the whole test process (a daemon thread; it ends with it)."""
    return CallbackReceiver(Path(tempfile.mkdtemp(prefix="callback-tls")))


def callbacks() -> dict[str, Any]:
    """running_system options: callbacks allowed to, and trusted at, the receiver."""
    return {
        # The receiver's own port: an entry without one allows 443 only.
        "callback_hosts": (f"{CALLBACK_HOSTS[0]}:{callback_receiver().port}",),
        "callback_ca_file": str(callback_receiver().tls.ca_cert),
    }


# --- invitations through the public APIs ----------------------------------------------


async def invite(system: System, tenant: Tenant, test_id: str | None = None) -> str:
    """send_test through the gateway, as Greenhouse calls it; the partner_interview_id.
    The callback url is the receiver's: the system must run with `**callbacks()`."""
    body = send_test_body(test_id or tenant.test.id)
    body["url"] = callback_receiver().url()
    reply = await send_test(system, tenant.key, body)
    assert reply.status == 200, reply.body
    interview_id: str = reply.body["partner_interview_id"]
    return interview_id


async def invitation(system: System, tenant: Tenant, invitation_id: str) -> apb.Invitation:
    response = await system.admin.GetInvitation(
        apb.GetInvitationRequest(
            organization_id=tenant.organization.id, invitation_id=invitation_id
        )
    )
    return response.invitation


async def event_kinds(system: System, tenant: Tenant, invitation_id: str) -> list[str]:
    return [event.kind for event in (await invitation(system, tenant, invitation_id)).events]


async def start(system: System, invitation_id: str, idempotency_key: str = "") -> apb.Invitation:
    response = await system.platform.StartAssessment(
        apb.StartAssessmentRequest(
            idempotency_key=idempotency_key or key(), invitation_id=invitation_id
        )
    )
    return response.invitation


def skill_scores(scores: dict[str, float] | None) -> list[apb.SkillScore]:
    return [apb.SkillScore(skill=skill, score=score) for skill, score in (scores or {}).items()]


async def submit(
    system: System,
    invitation_id: str,
    *,
    score: float = 81,
    skills: dict[str, float] | None = None,
    manual: bool = False,
    idempotency_key: str = "",
) -> apb.Invitation:
    response = await system.platform.SubmitAssessment(
        apb.SubmitAssessmentRequest(
            idempotency_key=idempotency_key or key(),
            invitation_id=invitation_id,
            score=score,
            skill_scores=skill_scores(skills),
            needs_manual_evaluation=manual,
        )
    )
    return response.invitation


async def evaluate(
    system: System,
    invitation_id: str,
    *,
    score: float = 64,
    skills: dict[str, float] | None = None,
    evaluator: str = "Grace Hopper",
    idempotency_key: str = "",
) -> apb.Invitation:
    response = await system.platform.RecordEvaluation(
        apb.RecordEvaluationRequest(
            idempotency_key=idempotency_key or key(),
            invitation_id=invitation_id,
            score=score,
            skill_scores=skill_scores(skills),
            evaluator=evaluator,
        )
    )
    return response.invitation


def timestamp(when: dt.datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(when)
    return stamp


async def extend(
    system: System, invitation_id: str, expires_at: dt.datetime, idempotency_key: str = ""
) -> apb.Invitation:
    response = await system.platform.ExtendDeadline(
        apb.ExtendDeadlineRequest(
            idempotency_key=idempotency_key or key(),
            invitation_id=invitation_id,
            expire_time=timestamp(expires_at),
        )
    )
    return response.invitation


async def cancel(
    system: System, invitation_id: str, reason: str = "withdrawn", idempotency_key: str = ""
) -> apb.Invitation:
    response = await system.platform.CancelInvitation(
        apb.CancelInvitationRequest(
            idempotency_key=idempotency_key or key(), invitation_id=invitation_id, reason=reason
        )
    )
    return response.invitation


async def resend(system: System, invitation_id: str, idempotency_key: str = "") -> apb.Invitation:
    response = await system.platform.ResendInvitation(
        apb.ResendInvitationRequest(
            idempotency_key=idempotency_key or key(), invitation_id=invitation_id
        )
    )
    return response.invitation


async def invitation_in_state(system: System, tenant: Tenant, state: str) -> str:
    """A new invitation brought into `state` the way it gets there in production."""
    invitation_id = await invite(system, tenant)
    if state == "started":
        await start(system, invitation_id)
    elif state == "awaiting_evaluation":
        await submit(system, invitation_id, manual=True)
    elif state == "complete":
        await submit(system, invitation_id)
    elif state == "expired":
        await pass_deadline(system, invitation_id)
        await sweep(system)
    elif state == "cancelled":
        await cancel(system, invitation_id)
    else:
        assert state == "sent", state
    reached = await invitation(system, tenant, invitation_id)
    assert STATUS_NAMES[reached.status] == state
    return invitation_id
