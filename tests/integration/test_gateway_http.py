"""The gateway's HTTP behaviour: size limits, unknown routes, JSON errors, request ids."""

from __future__ import annotations

import pytest
from integration.helpers import PARTNER, Tenant, call, new_tenant, send_test
from support.greenhouse import send_test_body
from support.inprocess import System, running_system


async def test_oversized_body_is_413_json(shared_databases: dict[str, str]) -> None:
    async with running_system(shared_databases, max_body_bytes=1024) as system:
        tenant = await new_tenant(system)
        body = send_test_body(tenant.test.id)
        body["padding"] = "x" * 4096
        reply = await send_test(system, tenant.key, body)
    assert reply.status == 413
    assert reply.content_type == "application/json"
    assert reply.body["error"] == "payload_too_large"


async def test_get_on_send_test_is_405_json_with_allow(system: System, tenant: Tenant) -> None:
    reply = await call(system, "GET", f"{PARTNER}/send_test", key=tenant.key)
    assert reply.status == 405
    assert reply.content_type == "application/json"
    assert reply.body["error"] == "method_not_allowed"
    assert reply.headers["Allow"] == "POST"


async def test_unknown_path_is_404_json(system: System) -> None:
    reply = await call(system, "GET", f"{PARTNER}/cancel_test")
    assert reply.status == 404
    assert reply.content_type == "application/json"
    assert reply.body["error"] == "not_found"


@pytest.mark.parametrize(
    ("method", "path", "authenticated", "body", "expected"),
    [
        ("GET", f"{PARTNER}/list_tests", False, None, 401),
        ("POST", f"{PARTNER}/send_test", True, b"{not json", 400),
        ("POST", f"{PARTNER}/send_test", True, b"", 400),
        ("POST", f"{PARTNER}/send_test", True, b"[1, 2]", 422),
        ("POST", f"{PARTNER}/send_test", True, b'{"partner_test_id": 1}', 422),
        ("GET", f"{PARTNER}/test_status", True, None, 400),
        ("GET", f"{PARTNER}/test_status?partner_interview_id=nope", True, None, 404),
        ("DELETE", f"{PARTNER}/list_tests", True, None, 405),
        ("GET", "/no/such/path", False, None, 404),
    ],
)
async def test_every_error_response_is_json(
    system: System,
    tenant: Tenant,
    method: str,
    path: str,
    authenticated: bool,
    body: bytes | None,
    expected: int,
) -> None:
    reply = await call(system, method, path, key=tenant.key if authenticated else None, data=body)
    assert reply.status == expected
    assert reply.content_type == "application/json"
    assert reply.body["error"]
    assert reply.body["message"]


async def test_x_request_id_is_echoed_in_the_response(system: System, tenant: Tenant) -> None:
    reply = await call(
        system,
        "GET",
        f"{PARTNER}/list_tests",
        key=tenant.key,
        headers={"X-Request-ID": "gh-req-0f8fad5b"},
    )
    assert reply.status == 200
    assert reply.headers["X-Request-ID"] == "gh-req-0f8fad5b"


async def test_x_request_id_is_echoed_on_error_responses(system: System) -> None:
    reply = await call(
        system, "GET", f"{PARTNER}/list_tests", headers={"X-Request-ID": "gh-req-401"}
    )
    assert reply.status == 401
    assert reply.headers["X-Request-ID"] == "gh-req-401"


async def test_unsafe_x_request_id_is_replaced(system: System, tenant: Tenant) -> None:
    reply = await call(
        system,
        "GET",
        f"{PARTNER}/list_tests",
        key=tenant.key,
        headers={"X-Request-ID": "<script>alert(1)</script>"},
    )
    assert reply.headers["X-Request-ID"] != "<script>alert(1)</script>"
    assert reply.headers["X-Request-ID"]


async def test_request_without_x_request_id_gets_one(system: System, tenant: Tenant) -> None:
    reply = await call(system, "GET", f"{PARTNER}/list_tests", key=tenant.key)
    assert reply.headers["X-Request-ID"]
