"""Bad input is a 4xx, never a 5xx, whatever the database behind the service.

PostgreSQL refuses NUL characters in text, so a NUL that reaches a query fails there;
it must be turned away as bad input before it does."""

from __future__ import annotations

from typing import Any

import pytest
from integration.helpers import PARTNER, Reply, Tenant, call, send_test, status_of
from support.greenhouse import send_test_body
from support.inprocess import System


async def _send_test_with(system: System, tenant: Tenant, where: str) -> Reply:
    body = send_test_body(tenant.test.id)
    if where == "partner_test_id":
        body["partner_test_id"] = tenant.test.id + "\x00"
    else:
        body["candidate"][where] = "Ha\x00rry"
    return await send_test(system, tenant.key, body)


async def _response_error_with(system: System, tenant: Tenant, where: str) -> Reply:
    body: dict[str, Any] = {"api_call": "test_status", "errors": ["bad status"]}
    if where == "errors":
        body["errors"] = ["bad\x00status"]
    else:
        body[where] = "test\x00status"
    return await call(system, "POST", f"{PARTNER}/response_error", key=tenant.key, json=body)


@pytest.mark.parametrize(
    ("endpoint", "where"),
    [
        ("test_status", "partner_interview_id"),
        ("send_test", "partner_test_id"),
        ("send_test", "first_name"),
        ("send_test", "last_name"),
        ("response_error", "api_call"),
        ("response_error", "errors"),
        ("response_error", "partner_interview_id"),
    ],
)
async def test_nul_character_in_input_is_never_a_server_error(
    system: System, tenant: Tenant, endpoint: str, where: str
) -> None:
    if endpoint == "test_status":
        reply = await status_of(system, tenant.key, "abc\x00def")
    elif endpoint == "send_test":
        reply = await _send_test_with(system, tenant, where)
    else:
        reply = await _response_error_with(system, tenant, where)
    assert reply.status < 500
    assert reply.content_type == "application/json"
