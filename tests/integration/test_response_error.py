"""POST response_error: Greenhouse's complaint is recorded (without PII) and answered 200."""

from __future__ import annotations

import uuid
from typing import Any

from integration.helpers import PARTNER, Tenant, call
from support.inprocess import System
from support.sql import dump_text


def documented_body(**overrides: Any) -> dict[str, Any]:
    return {
        "api_call": "test_status",
        "errors": ["partner_status is 'complete' but partner_profile url is missing"],
        "partner_test_id": "12345",
        "partner_test_name": "Personality Test",
        "partner_interview_id": "299506",
        "candidate_email": "hpotter@hogwarts.edu",
        **overrides,
    }


async def test_documented_body_is_answered_200_with_status_200(
    system: System, tenant: Tenant
) -> None:
    reply = await call(
        system, "POST", f"{PARTNER}/response_error", key=tenant.key, json=documented_body()
    )
    assert reply.status == 200
    assert reply.content_type == "application/json"
    assert reply.body == {"status": 200}


async def test_list_tests_failure_with_only_api_call_and_errors_is_accepted(
    system: System, tenant: Tenant
) -> None:
    body = {"api_call": "list_tests", "errors": ["response is not an array"]}
    reply = await call(system, "POST", f"{PARTNER}/response_error", key=tenant.key, json=body)
    assert (reply.status, reply.body) == (200, {"status": 200})


async def test_record_holds_no_candidate_email(system: System, tenant: Tenant) -> None:
    email = f"complainant-{uuid.uuid4().hex}@hogwarts.edu"
    marker = f"marker-{uuid.uuid4().hex}"
    body = documented_body(candidate_email=email, errors=[marker])
    reply = await call(system, "POST", f"{PARTNER}/response_error", key=tenant.key, json=body)
    assert reply.status == 200
    stored = await dump_text(system.databases["assessments"])
    assert marker in stored  # the report itself was recorded
    assert email not in stored


async def test_missing_api_call_is_422(system: System, tenant: Tenant) -> None:
    body = documented_body()
    del body["api_call"]
    reply = await call(system, "POST", f"{PARTNER}/response_error", key=tenant.key, json=body)
    assert reply.status == 422
    assert reply.content_type == "application/json"
    assert [detail["field"] for detail in reply.body["details"]] == ["api_call"]


async def test_wrong_key_is_401(system: System, tenant: Tenant) -> None:
    reply = await call(
        system, "POST", f"{PARTNER}/response_error", key="agh_unknown", json=documented_body()
    )
    assert reply.status == 401
