"""Finding 4c: an email address is one address, and names are one line of text.

`ginny@hogwarts.edu>,<attacker@evil.example` once passed validation and became two
envelope recipients; CR/LF and other control characters in names were accepted and the
email was then dead-lettered with no one told. Both are refused at the door (422 naming
the field) and by each service on its own (INVALID_ARGUMENT naming the field)."""

from __future__ import annotations

import grpc
import pytest
from integration.helpers import Tenant, all_invitations, send_test
from support.greenhouse import send_test_body
from support.inprocess import System

from alooba.assessments.v1 import assessments_pb2 as apb
from alooba.candidates.v1 import candidates_pb2 as cpb

INJECTED = "ginny@hogwarts.edu>,<attacker@evil.example"


def _fields(body: dict[str, object]) -> list[object]:
    details = body.get("details") or []
    assert isinstance(details, list)
    return [detail["field"] for detail in details if isinstance(detail, dict)]


async def test_an_address_hiding_a_second_recipient_is_a_422_naming_the_email(
    system: System, tenant: Tenant
) -> None:
    reply = await send_test(system, tenant.key, send_test_body(tenant.test.id, email=INJECTED))

    assert reply.status == 422, reply.body
    assert _fields(reply.body) == ["candidate.email"]
    assert await all_invitations(system, tenant.organization.id) == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("first_name", "Harry\r\nBcc: attacker@evil.example"),
        ("last_name", "Pot\x1b[31mter"),
        ("preferred_name", "The\nChosen One"),
        ("phone_number", "123\x85456"),
        ("first_name", "Har\try"),
    ],
)
async def test_control_characters_in_a_name_are_a_422_naming_the_field(
    system: System, tenant: Tenant, field: str, value: str
) -> None:
    body = send_test_body(tenant.test.id)
    body["candidate"][field] = value

    reply = await send_test(system, tenant.key, body)

    assert reply.status == 422, reply.body
    assert _fields(reply.body) == [f"candidate.{field}"]
    assert await all_invitations(system, tenant.organization.id) == []


def _send_test_request(tenant: Tenant, **candidate: str) -> apb.SendTestRequest:
    fields = {
        "first_name": "Harry",
        "last_name": "Potter",
        "email": "hpotter@hogwarts.edu",
        "greenhouse_profile_url": "https://app.greenhouse.io/people/1?application_id=2",
        **candidate,
    }
    return apb.SendTestRequest(
        partner_key=tenant.key,
        partner_test_id=tenant.test.id,
        candidate=apb.SendTestCandidate(**fields),
        url="https://app.greenhouse.io/integrations/testing_partners/take_home_tests/4242",
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("email", INJECTED), ("first_name", "Harry\r\nBcc: x@y.example")],
)
async def test_assessments_refuses_them_itself_naming_the_field(
    system: System, tenant: Tenant, field: str, value: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await system.partner.SendTest(_send_test_request(tenant, **{field: value}))

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"candidate.{field}" in (refused.value.details() or "")


@pytest.mark.parametrize(
    ("field", "value"),
    [("email", INJECTED), ("first_name", "Harry\r\nBcc: x@y.example"), ("last_name", "Pot\x07")],
)
async def test_candidates_refuses_them_itself_naming_the_field(
    system: System, tenant: Tenant, field: str, value: str
) -> None:
    contact = {"first_name": "Harry", "last_name": "Potter", "email": "h@hogwarts.edu"}
    contact[field] = value

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await system.candidates.RegisterApplication(
            cpb.RegisterApplicationRequest(
                organization_id=tenant.organization.id,
                greenhouse_candidate_id=1,
                contact=cpb.ContactDetails(**contact),
                profile_url="https://app.greenhouse.io/people/1",
            )
        )

    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in (refused.value.details() or "")


@pytest.mark.parametrize("name", ["Acme\x1b[31m Corp", "Acme\r\nCorp", "Acme\x9b2J"])
async def test_control_characters_in_an_organization_or_test_name_are_refused(
    system: System, tenant: Tenant, name: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as organization:
        await system.admin.CreateOrganization(apb.CreateOrganizationRequest(name=name))
    with pytest.raises(grpc.aio.AioRpcError) as test:
        await system.create_test(tenant.organization.id, name)

    assert organization.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert test.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "name" in (organization.value.details() or "")
