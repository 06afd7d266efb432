"""Partner API keys as Greenhouse presents them: Basic auth, key as username."""

from __future__ import annotations

import asyncio
import base64

import grpc
import pytest
from integration.helpers import PARTNER, Tenant, call, list_tests, unique
from support.inprocess import System
from support.sql import dump_text

from alooba.assessments.v1 import assessments_pb2 as apb

GRACE_EXPIRY_DEADLINE_SECONDS = 5.0


async def test_no_authorization_header_is_401_json_with_a_basic_challenge(
    system: System,
) -> None:
    reply = await call(system, "GET", f"{PARTNER}/list_tests")
    assert reply.status == 401
    assert reply.content_type == "application/json"
    assert reply.body["error"] == "unauthorized"
    assert reply.headers["WWW-Authenticate"].startswith("Basic ")


async def test_wrong_key_is_401_with_a_basic_challenge(system: System, tenant: Tenant) -> None:
    reply = await list_tests(system, tenant.key + "x")
    assert reply.status == 401
    assert reply.content_type == "application/json"
    assert reply.headers["WWW-Authenticate"].startswith("Basic ")


async def test_valid_key_with_a_non_empty_password_is_401(system: System, tenant: Tenant) -> None:
    credentials = base64.b64encode(f"{tenant.key}:password".encode()).decode()
    reply = await call(
        system, "GET", f"{PARTNER}/list_tests", headers={"Authorization": f"Basic {credentials}"}
    )
    assert reply.status == 401


async def test_revoked_key_is_401(system: System, tenant: Tenant) -> None:
    keys = await system.admin.ListApiKeys(
        apb.ListApiKeysRequest(organization_id=tenant.organization.id)
    )
    assert (await list_tests(system, tenant.key)).status == 200
    await system.admin.RevokeApiKey(
        apb.RevokeApiKeyRequest(
            organization_id=tenant.organization.id, api_key_id=keys.api_keys[0].id
        )
    )
    assert (await list_tests(system, tenant.key)).status == 401


async def test_old_and_new_keys_both_work_during_the_rotation_grace_period(
    system: System, tenant: Tenant
) -> None:
    rotated = await system.admin.RotateApiKey(
        apb.RotateApiKeyRequest(organization_id=tenant.organization.id, grace_period_seconds=3600)
    )
    assert rotated.secret != tenant.key
    assert rotated.previous.state == apb.API_KEY_STATE_RETIRING
    assert rotated.api_key.state == apb.API_KEY_STATE_ACTIVE
    assert (await list_tests(system, tenant.key)).status == 200
    assert (await list_tests(system, rotated.secret)).status == 200


async def test_old_key_is_refused_once_the_rotation_grace_period_has_passed(
    system: System, tenant: Tenant
) -> None:
    rotated = await system.admin.RotateApiKey(
        apb.RotateApiKeyRequest(organization_id=tenant.organization.id, grace_period_seconds=1)
    )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + GRACE_EXPIRY_DEADLINE_SECONDS
    while (old_status := (await list_tests(system, tenant.key)).status) == 200:
        assert loop.time() < deadline, "the old key still works after its grace period"
        await asyncio.sleep(0.05)
    assert old_status == 401
    assert (await list_tests(system, rotated.secret)).status == 200
    keys = await system.admin.ListApiKeys(
        apb.ListApiKeysRequest(organization_id=tenant.organization.id)
    )
    states = {key.id: key.state for key in keys.api_keys}
    assert states == {
        rotated.previous.id: apb.API_KEY_STATE_EXPIRED,
        rotated.api_key.id: apb.API_KEY_STATE_ACTIVE,
    }


async def test_issuing_a_key_while_one_is_active_is_failed_precondition(
    system: System, tenant: Tenant
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await system.admin.IssueApiKey(
            apb.IssueApiKeyRequest(organization_id=tenant.organization.id)
        )
    assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION


async def test_list_api_keys_never_returns_secrets(system: System, tenant: Tenant) -> None:
    rotated = await system.admin.RotateApiKey(
        apb.RotateApiKeyRequest(organization_id=tenant.organization.id, grace_period_seconds=3600)
    )
    listed = await system.admin.ListApiKeys(
        apb.ListApiKeysRequest(organization_id=tenant.organization.id)
    )
    assert len(listed.api_keys) == 2
    assert "secret" not in apb.ApiKey.DESCRIPTOR.fields_by_name
    rendered = str(listed)
    assert tenant.key not in rendered
    assert rotated.secret not in rendered
    assert {key.prefix for key in listed.api_keys} == {tenant.key[:12], rotated.secret[:12]}


async def test_api_keys_are_not_stored_in_clear(system: System, tenant: Tenant) -> None:
    assert tenant.key not in await dump_text(system.databases["assessments"])


async def test_wrong_key_with_a_malformed_body_is_401(system: System, tenant: Tenant) -> None:
    reply = await call(
        system, "POST", f"{PARTNER}/send_test", key=tenant.key + "x", data=b"{not json"
    )
    assert reply.status == 401


async def test_using_a_key_records_when_it_was_last_used(system: System, tenant: Tenant) -> None:
    before = await system.admin.ListApiKeys(
        apb.ListApiKeysRequest(organization_id=tenant.organization.id)
    )
    assert not before.api_keys[0].HasField("last_used_time")
    assert (await list_tests(system, tenant.key)).status == 200
    after = await system.admin.ListApiKeys(
        apb.ListApiKeysRequest(organization_id=tenant.organization.id)
    )
    assert after.api_keys[0].HasField("last_used_time")


async def test_revoking_another_organization_key_is_not_found(
    system: System, tenant: Tenant
) -> None:
    other, other_key = await system.organization_with_key(unique("Other"))
    keys = await system.admin.ListApiKeys(apb.ListApiKeysRequest(organization_id=other.id))
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await system.admin.RevokeApiKey(
            apb.RevokeApiKeyRequest(
                organization_id=tenant.organization.id, api_key_id=keys.api_keys[0].id
            )
        )
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert (await list_tests(system, other_key)).status == 200


@pytest.mark.parametrize("grace_seconds", [30 * 86_400 + 1, 99_999_999_999_999 * 86_400, 2**63 - 1])
async def test_a_rotation_grace_beyond_30_days_is_invalid_argument_and_changes_nothing(
    system: System, tenant: Tenant, grace_seconds: int
) -> None:
    # Finding 4g: `--grace 99999999999999d` overflowed a timedelta and came back INTERNAL.
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await system.admin.RotateApiKey(
            apb.RotateApiKeyRequest(
                organization_id=tenant.organization.id, grace_period_seconds=grace_seconds
            )
        )

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "30 days" in (raised.value.details() or "")
    keys = await system.admin.ListApiKeys(
        apb.ListApiKeysRequest(organization_id=tenant.organization.id)
    )
    assert [key.state for key in keys.api_keys] == [apb.API_KEY_STATE_ACTIVE]


async def test_a_rotation_grace_of_exactly_30_days_is_accepted(
    system: System, tenant: Tenant
) -> None:
    rotated = await system.admin.RotateApiKey(
        apb.RotateApiKeyRequest(
            organization_id=tenant.organization.id, grace_period_seconds=30 * 86_400
        )
    )
    assert rotated.previous.state == apb.API_KEY_STATE_RETIRING
