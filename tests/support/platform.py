"""The assessment platform's side, as tests drive it over PlatformService."""

from __future__ import annotations

import re
import uuid
from email.message import EmailMessage

from alooba.assessments.v1 import assessments_pb2 as pb
from alooba.assessments.v1 import assessments_pb2_grpc as pb_grpc

LINK = re.compile(r"(https?://\S+/take/(\S+))")


def link_in(message: EmailMessage) -> tuple[str, str]:
    """(the link, its token) from an invitation email's text."""
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    match = LINK.search(body.get_content())
    assert match is not None, "no assessment link in the email"
    return match.group(1), match.group(2)


def key() -> str:
    return uuid.uuid4().hex


async def take_and_submit(
    platform: pb_grpc.PlatformServiceStub,
    token: str,
    *,
    score: float = 81,
    skills: dict[str, float] | None = None,
    manual: bool = False,
) -> pb.Invitation:
    """What the app does when a candidate follows the link, starts, and submits."""
    resolved = await platform.ResolveAccessToken(pb.ResolveAccessTokenRequest(access_token=token))
    invitation_id = resolved.invitation.id
    await platform.StartAssessment(
        pb.StartAssessmentRequest(idempotency_key=key(), invitation_id=invitation_id)
    )
    submitted = await platform.SubmitAssessment(
        pb.SubmitAssessmentRequest(
            idempotency_key=key(),
            invitation_id=invitation_id,
            score=score,
            skill_scores=[
                pb.SkillScore(skill=name, score=value) for name, value in (skills or {}).items()
            ],
            needs_manual_evaluation=manual,
        )
    )
    return submitted.invitation
