"""Greenhouse's first complete path, on the real processes: an operator sets up an
organization with the CLI, then Greenhouse lists tests, sends one and reads its status."""

from __future__ import annotations

import asyncio
import io
import uuid

import aiohttp
import pytest
from support.greenhouse import send_test_body
from support.inprocess import basic_auth
from support.processes import cli, json_log_records, log_lines
from support.sql import dump_text

from alooba_dev.stack import Stack

pytestmark = pytest.mark.e2e


def _setup_organization(stack: Stack, name: str) -> tuple[str, str, str]:
    """(organization id, partner key, test id), made with the operator CLI."""
    org = cli(stack, "org", "create", name)
    organization_id = org.get("organization", org)["id"]
    issued = cli(stack, "key", "issue", "--org", name)
    test = cli(
        stack,
        "test",
        "create",
        "--org",
        name,
        "--name",
        "Data Analyst",
        "--skill",
        "SQL",
        "--skill",
        "Python",
        "--expiry-days",
        "10",
    )
    return organization_id, issued["secret"], test.get("test", test)["id"]


async def test_list_tests_send_test_and_test_status_end_to_end(stack: Stack) -> None:
    name = f"Acme {uuid.uuid4().hex[:8]}"
    _, key, test_id = _setup_organization(stack, name)
    base = f"{stack.gateway_url}/v1/greenhouse"
    async with aiohttp.ClientSession(headers=basic_auth(key)) as http:
        async with http.get(f"{base}/list_tests") as response:
            assert response.status == 200
            assert await response.json() == [
                {"partner_test_id": test_id, "partner_test_name": "Data Analyst"}
            ]
        async with http.post(f"{base}/send_test", json=send_test_body(test_id)) as response:
            assert response.status == 200
            body = await response.json()
            assert list(body) == ["partner_interview_id"]
            interview_id = body["partner_interview_id"]
            assert isinstance(interview_id, str)
            assert interview_id
        async with http.get(
            f"{base}/test_status", params={"partner_interview_id": interview_id}
        ) as response:
            assert response.status == 200
            assert await response.json() == {
                "partner_status": "sent",
                "partner_profile_url": None,
                "partner_score": None,
                "metadata": None,
            }
    listed = cli(stack, "invitation", "list", "--org", name)
    invitations = listed.get("invitations", listed)
    assert [invitation["id"] for invitation in invitations] == [interview_id]


async def test_twenty_concurrent_identical_send_tests_create_one_invitation(stack: Stack) -> None:
    name = f"Concurrent {uuid.uuid4().hex[:8]}"
    _, key, test_id = _setup_organization(stack, name)
    body = send_test_body(test_id)
    async with aiohttp.ClientSession(headers=basic_auth(key)) as http:

        async def send() -> str:
            async with http.post(f"{stack.gateway_url}/v1/greenhouse/send_test", json=body) as r:
                assert r.status == 200, await r.text()
                return str((await r.json())["partner_interview_id"])

        ids = await asyncio.gather(*(send() for _ in range(20)))
    assert len(set(ids)) == 1
    listed = cli(stack, "invitation", "list", "--org", name)
    assert len(listed.get("invitations", listed)) == 1


async def test_another_organizations_interview_is_not_found(stack: Stack) -> None:
    _, key_a, test_a = _setup_organization(stack, f"Tenant A {uuid.uuid4().hex[:8]}")
    _, key_b, _ = _setup_organization(stack, f"Tenant B {uuid.uuid4().hex[:8]}")
    base = f"{stack.gateway_url}/v1/greenhouse"
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{base}/send_test", json=send_test_body(test_a), headers=basic_auth(key_a)
        ) as response:
            interview_id = (await response.json())["partner_interview_id"]
        async with http.get(
            f"{base}/test_status",
            params={"partner_interview_id": interview_id},
            headers=basic_auth(key_b),
        ) as response:
            assert response.status == 404
            assert (await response.json())["error"] == "not_found"


async def test_bad_requests_get_json_4xx_never_5xx(stack: Stack) -> None:
    _, key, test_id = _setup_organization(stack, f"Errors {uuid.uuid4().hex[:8]}")
    url = f"{stack.gateway_url}/v1/greenhouse/send_test"
    cases: list[tuple[dict[str, str], bytes, int]] = [
        ({}, b"{}", 401),
        (basic_auth("not-a-key"), b"{}", 401),
        (basic_auth(key), b"{not json", 400),
        (basic_auth(key), b'{"partner_test_id": 1}', 422),
        (basic_auth(key), b"[]", 422),
        (basic_auth(key), b'{"partner_test_id": "x", "candidate": {}, "url": "u"}', 422),
        (basic_auth(key), b"x" * (2 * 1024 * 1024), 413),
    ]
    async with aiohttp.ClientSession() as http:
        for headers, payload, expected in cases:
            # As a stream: aiohttp warns when 2 MiB of raw bytes are written in one go.
            async with http.post(url, data=io.BytesIO(payload), headers=headers) as response:
                assert response.status == expected, (payload[:40], await response.text())
                assert response.content_type == "application/json"
                assert "error" in await response.json()
        extra = send_test_body(test_id)
        extra["brand_new_greenhouse_field"] = {"nested": True}
        extra["candidate"]["another_new_field"] = "ignored"
        async with http.post(url, json=extra, headers=basic_auth(key)) as response:
            assert response.status == 200


async def test_candidate_pii_lives_only_in_candidates_and_never_in_logs(stack: Stack) -> None:
    _, key, test_id = _setup_organization(stack, f"Privacy {uuid.uuid4().hex[:8]}")
    marker = uuid.uuid4().hex[:10]
    pii = {
        "first_name": f"Hermione{marker}",
        "last_name": f"Granger{marker}",
        "email": f"hgranger.{marker}@hogwarts.edu",
        "phone_number": f"+44 20 {int(marker, 16) % 10_000_000:07d}",
    }
    body = send_test_body(test_id, **pii)
    async with (
        aiohttp.ClientSession(headers=basic_auth(key)) as http,
        http.post(f"{stack.gateway_url}/v1/greenhouse/send_test", json=body) as r,
    ):
        assert r.status == 200

    candidates_text = await dump_text(stack.database_url("candidates"))
    assessments_text = await dump_text(stack.database_url("assessments"))
    harvest_text = await dump_text(stack.database_url("harvest-sync"))
    logs = "\n".join(log_lines(stack))
    for value in pii.values():
        assert value in candidates_text
        assert value not in assessments_text
        assert value not in harvest_text
        assert value not in logs


async def test_request_id_reaches_every_service_it_passes_through(stack: Stack) -> None:
    _, key, test_id = _setup_organization(stack, f"Trace {uuid.uuid4().hex[:8]}")
    request_id = f"trace-{uuid.uuid4().hex}"
    headers = {**basic_auth(key), "X-Request-ID": request_id}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.post(
            f"{stack.gateway_url}/v1/greenhouse/send_test", json=send_test_body(test_id)
        ) as response,
    ):
        assert response.headers["X-Request-ID"] == request_id
    for service in ("gateway", "assessments", "candidates"):
        records = json_log_records(stack, service)
        assert any(record.get("request_id") == request_id for record in records), service
