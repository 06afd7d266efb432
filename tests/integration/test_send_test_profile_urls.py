"""Item 5b: a greenhouse_profile_url without the /people/<id>?application_id=<id> shape,
or none at all, does not fail send_test. The shape is observed, not documented, and a
refused send_test is a candidate who never gets a test: the invitation is created and
its email sent; only the Harvest push is skipped, for a reason the setup check shows
(AdminService.GetIntegrationHealth, `alooba-gh doctor`)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from integration.helpers import Tenant, new_tenant, send_test
from support.greenhouse import send_test_body
from support.inprocess import System, running_system

from alooba.assessments.v1 import assessments_pb2 as apb
from alooba.candidates.v1 import candidates_pb2 as cpb

EMAIL_DEADLINE_SECONDS = 20.0
MISSING = object()


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    return tmp_path / "mail"


@pytest.fixture
async def system(shared_databases: dict[str, str], mail_dir: Path) -> AsyncIterator[System]:
    async with running_system(shared_databases, mail_dir=str(mail_dir)) as running:
        yield running


async def _emailed(mail_dir: Path, invitation_id: str) -> bool:
    deadline = asyncio.get_running_loop().time() + EMAIL_DEADLINE_SECONDS
    pattern = f"invitation-0-{invitation_id}@*.eml"
    while not await asyncio.to_thread(lambda: list(mail_dir.glob(pattern))):
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def _with_profile_url(tenant: Tenant, value: Any) -> dict[str, Any]:
    body = send_test_body(tenant.test.id, email=f"c.{uuid.uuid4().hex[:8]}@hogwarts.edu")
    if value is MISSING:
        del body["candidate"]["greenhouse_profile_url"]
    else:
        body["candidate"]["greenhouse_profile_url"] = value
    return body


async def _skips(system: System, tenant: Tenant) -> dict[str, int]:
    health = await system.admin.GetIntegrationHealth(
        apb.GetIntegrationHealthRequest(organization_id=tenant.organization.id)
    )
    return {skip.reason: skip.count for skip in health.harvest_skips}


@pytest.mark.parametrize(
    ("profile_url", "reason"),
    [
        (MISSING, "no_profile_url"),
        (None, "no_profile_url"),
        ("", "no_profile_url"),
        ("https://app.greenhouse.io/candidates/17681532", "url_shape"),
        ("https://app.greenhouse.io/people/harry?application_id=1", "url_shape"),
        ("not a URL at all", "url_shape"),
        ("https://[app.greenhouse.io/people/1", "url_shape"),
        ("https://app.greenhouse.io/people/17681532", "no_application"),
    ],
)
async def test_the_invitation_is_created_and_sent_and_only_harvest_is_skipped(
    system: System, mail_dir: Path, profile_url: Any, reason: str
) -> None:
    tenant = await new_tenant(system)

    reply = await send_test(system, tenant.key, _with_profile_url(tenant, profile_url))

    assert reply.status == 200, reply.body
    assert await _emailed(mail_dir, reply.body["partner_interview_id"])
    assert await _skips(system, tenant) == {reason: 1}


async def test_a_profile_url_of_the_documented_shape_skips_nothing(system: System) -> None:
    tenant = await new_tenant(system)

    reply = await send_test(system, tenant.key, send_test_body(tenant.test.id))

    assert reply.status == 200
    assert await _skips(system, tenant) == {}


async def test_the_same_send_test_again_registers_the_candidate_once(system: System) -> None:
    tenant = await new_tenant(system)
    body = _with_profile_url(tenant, None)

    first = await send_test(system, tenant.key, body)
    again = await send_test(system, tenant.key, body)

    assert first.body == again.body
    assert await _skips(system, tenant) == {"no_profile_url": 1}


async def test_candidates_registers_one_candidate_per_registration_key_without_greenhouse_ids(
    system: System,
) -> None:
    organization_id, key = uuid.uuid4().hex, uuid.uuid4().hex + uuid.uuid4().hex

    def register(email: str) -> Any:
        return system.candidates.RegisterApplication(
            cpb.RegisterApplicationRequest(
                organization_id=organization_id,
                registration_key=key,
                contact=cpb.ContactDetails(first_name="Harry", last_name="Potter", email=email),
            )
        )

    first = await register("h1@hogwarts.edu")
    again = await register("h2@hogwarts.edu")
    other = await system.candidates.RegisterApplication(
        cpb.RegisterApplicationRequest(
            organization_id=organization_id,
            registration_key=uuid.uuid4().hex,
            contact=cpb.ContactDetails(first_name="Ron", last_name="W", email="r@hogwarts.edu"),
        )
    )
    shown = await system.candidates.GetCandidate(
        cpb.GetCandidateRequest(organization_id=organization_id, candidate_id=first.candidate_id)
    )

    assert (again.candidate_id, again.application_id) == (
        first.candidate_id,
        first.application_id,
    )
    assert other.candidate_id != first.candidate_id
    assert shown.candidate.contact.email == "h2@hogwarts.edu"
    assert not shown.candidate.HasField("greenhouse_candidate_id")
