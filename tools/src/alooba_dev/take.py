"""Development only: takes a test from its invitation link, standing in for the assessment
platform (the app where candidates take tests, which is not part of this project).

`make run` points the candidate's link (ASSESSMENT_LINK_BASE_URL) here, so the README's
walkthrough reaches `complete` without writing a gRPC client: open the link from the
invitation email, start the test, type the scores, submit. It calls the assessments
service's PlatformService exactly as the platform would. Never deployed.

`python -m alooba_dev.take` reads HTTP_HOST, HTTP_PORT and ASSESSMENTS_ADDR.
"""

from __future__ import annotations

import asyncio
import html
import os
import signal
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING

import grpc
from aiohttp import web

from alooba.assessments.v1 import assessments_pb2 as pb
from alooba.assessments.v1 import assessments_pb2_grpc as pb_grpc
from alooba_common.config import TlsSettings
from alooba_common.event_loop import run_event_loop
from alooba_common.grpc_client import create_channel
from alooba_common.tls import CertificateFiles, Identity

if TYPE_CHECKING:
    from alooba.assessments.v1.assessments_pb2_grpc import PlatformServiceAsyncStub

# The stub on an aio channel (typed as such: its calls are awaited).
PLATFORM: web.AppKey[PlatformServiceAsyncStub] = web.AppKey("platform")
ASSESSMENTS_ADDR = web.AppKey("assessments_addr", str)
PLATFORM_TLS = web.AppKey("platform_tls", CertificateFiles)
_STATUS = {
    value: name.removeprefix("INVITATION_STATUS_").lower()
    for name, value in pb.InvitationStatus.items()
}


def _page(title: str, body: str, status: int = 200) -> web.Response:
    return web.Response(
        text=(
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(title)}</title></head><body>"
            "<p><strong>Development helper</strong>: stands in for the assessment platform.</p>"
            f"<h1>{html.escape(title)}</h1>{body}</body></html>"
        ),
        content_type="text/html",
        status=status,
    )


async def _invitation(request: web.Request) -> pb.Invitation:
    try:
        response = await request.app[PLATFORM].ResolveAccessToken(
            pb.ResolveAccessTokenRequest(access_token=request.match_info["token"])
        )
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.NOT_FOUND:
            raise web.HTTPNotFound(text="no such invitation") from None
        raise
    invitation: pb.Invitation = response.invitation
    return invitation


async def show(request: web.Request) -> web.Response:
    invitation = await _invitation(request)
    status = _STATUS.get(invitation.status, "unknown")
    token = html.escape(request.match_info["token"])
    body = f"<p>Status: <strong>{status}</strong>.</p>"
    if status == "sent":
        body += (
            f"<form method='post' action='/take/{token}/start'>"
            "<button type='submit'>Start the test</button></form>"
        )
    if status in ("sent", "started"):
        body += (
            f"<form method='post' action='/take/{token}/submit'>"
            "<p><label for='score'>Total score (0-100)</label> "
            "<input id='score' name='score' value='81' required></p>"
            "<p><label for='skills'>Skill scores, as Skill=score, comma-separated</label> "
            "<input id='skills' name='skills' value='SQL=90, Python=72' size='40'></p>"
            "<p><input type='checkbox' id='manual' name='manual'> "
            "<label for='manual'>A person must grade it (manual evaluation)</label></p>"
            "<button type='submit'>Submit</button></form>"
        )
    return _page(invitation.test_name, body)


async def start(request: web.Request) -> web.Response:
    invitation = await _invitation(request)
    await request.app[PLATFORM].StartAssessment(
        pb.StartAssessmentRequest(idempotency_key=uuid.uuid4().hex, invitation_id=invitation.id)
    )
    raise web.HTTPSeeOther(f"/take/{request.match_info['token']}")


def _skill_scores(raw: str) -> list[pb.SkillScore]:
    scores = []
    for item in raw.split(","):
        if not item.strip():
            continue
        skill, _, value = item.partition("=")
        try:
            scores.append(pb.SkillScore(skill=skill.strip(), score=float(value)))
        except ValueError:
            raise web.HTTPBadRequest(text=f"not Skill=score: {item.strip()!r}") from None
    return scores


async def submit(request: web.Request) -> web.Response:
    invitation = await _invitation(request)
    form = await request.post()
    try:
        score = float(str(form.get("score", "")))
    except ValueError:
        raise web.HTTPBadRequest(text="the score is a number from 0 to 100") from None
    platform = request.app[PLATFORM]
    try:
        await platform.SubmitAssessment(
            pb.SubmitAssessmentRequest(
                idempotency_key=uuid.uuid4().hex,
                invitation_id=invitation.id,
                score=score,
                skill_scores=_skill_scores(str(form.get("skills", ""))),
                needs_manual_evaluation=form.get("manual") == "on",
            )
        )
    except grpc.aio.AioRpcError as error:
        if error.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION):
            return _page("Not submitted", f"<p>{html.escape(error.details() or '')}</p>", 400)
        raise
    raise web.HTTPSeeOther(f"/take/{request.match_info['token']}")


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_app(assessments_addr: str, tls: CertificateFiles) -> web.Application:
    """`tls`: the assessment platform's certificate, the identity PlatformService admits."""
    app = web.Application()
    app[ASSESSMENTS_ADDR] = assessments_addr
    app[PLATFORM_TLS] = tls
    app.cleanup_ctx.append(_channel)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/take/{token}", show)
    app.router.add_post("/take/{token}/start", start)
    app.router.add_post("/take/{token}/submit", submit)
    return app


async def _channel(app: web.Application) -> AsyncIterator[None]:
    channel = create_channel(
        app[ASSESSMENTS_ADDR], tls=app[PLATFORM_TLS], default_timeout=10.0, wait_for_ready=True
    )
    app[PLATFORM] = pb_grpc.PlatformServiceStub(channel)
    yield
    await channel.close(None)


async def serve(environ: Mapping[str, str]) -> None:
    tls = CertificateFiles(TlsSettings.from_env(environ), expected=Identity.PLATFORM)
    runner = web.AppRunner(create_app(environ.get("ASSESSMENTS_ADDR", "localhost:50051"), tls))
    await runner.setup()
    site = web.TCPSite(
        runner, environ.get("HTTP_HOST", "127.0.0.1"), int(environ.get("HTTP_PORT", "8001"))
    )
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> None:
    run_event_loop(serve(os.environ))


if __name__ == "__main__":
    main()
