"""Development only: finishes an invitation from the command line, as the assessment
platform would (the scripted twin of the take helper's Start and Submit buttons).

    .venv/bin/python -m alooba_dev.complete INVITATION_ID --score 81 --skill SQL=90

It calls the assessments service's PlatformService with the platform's certificate
(`var/tls/platform` under `make run`; beside TLS_DIR's operator folder when TLS_DIR is
set, as `make run --free-ports` prints it), and prints the invitation's status as JSON.
Never deployed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from pathlib import Path

import grpc

from alooba.assessments.v1 import assessments_pb2 as pb
from alooba.assessments.v1 import assessments_pb2_grpc as pb_grpc
from alooba_common.config import TlsSettings
from alooba_common.grpc_client import create_channel
from alooba_common.tls import CertificateFiles, Identity

_STATUS = {
    value: name.removeprefix("INVITATION_STATUS_").lower()
    for name, value in pb.InvitationStatus.items()
}


def _skill(text: str) -> pb.SkillScore:
    skill, _, value = text.partition("=")
    try:
        return pb.SkillScore(skill=skill.strip(), score=float(value))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not Skill=score: {text!r}") from None


def platform_tls_dir(environ: dict[str, str]) -> str:
    """The platform's certificate folder: beside the operator's when TLS_DIR names it."""
    if operator := environ.get("TLS_DIR"):
        return str(Path(operator).parent / "platform")
    return "var/tls/platform"


async def complete(address: str, tls: CertificateFiles, args: argparse.Namespace) -> str:
    channel = create_channel(address, tls=tls, default_timeout=10.0)
    try:
        stub = pb_grpc.PlatformServiceStub(channel)
        await stub.StartAssessment(
            pb.StartAssessmentRequest(idempotency_key=uuid.uuid4().hex, invitation_id=args.id)
        )
        response = await stub.SubmitAssessment(
            pb.SubmitAssessmentRequest(
                idempotency_key=uuid.uuid4().hex,
                invitation_id=args.id,
                score=args.score,
                skill_scores=args.skill,
            )
        )
    finally:
        await channel.close(None)
    return _STATUS.get(response.invitation.status, "unknown")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m alooba_dev.complete",
        description="Development only: start and submit an invitation as the platform would.",
    )
    parser.add_argument("id", metavar="INVITATION_ID", help="Greenhouse's partner_interview_id")
    parser.add_argument("--score", type=float, default=81.0, help="total score, 0-100 (81)")
    parser.add_argument("--skill", type=_skill, action="append", default=[], metavar="SKILL=SCORE")
    parser.add_argument("--tls-dir", default=None, help="the platform's certificate folder")
    args = parser.parse_args(argv)
    environ = dict(os.environ)
    address = environ.get("ASSESSMENTS_ADDR") or "localhost:50051"
    tls = CertificateFiles(
        TlsSettings.in_directory(args.tls_dir or platform_tls_dir(environ)),
        expected=Identity.PLATFORM,
    )
    try:
        status = asyncio.run(complete(address, tls, args))
    except grpc.aio.AioRpcError as error:
        print(json.dumps({"error": {"code": error.code().name, "message": error.details()}}))
        return 1
    print(json.dumps({"invitation_id": args.id, "status": status}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
