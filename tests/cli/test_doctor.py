"""`alooba-gh doctor`: each broken setup is built for real — through the gateway, the
emulated Harvest API and the services in-process — and the doctor names it, with its fix,
and exits 1; a healthy setup exits 0."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import structlog
from integration.harvest_helpers import (
    HarvestWorld,
    connect,
    fields_written,
    final_result,
    harvest_world,
    queue_scores,
)
from integration.helpers import (
    PARTNER,
    Reply,
    Tenant,
    call,
    list_tests,
    new_tenant,
    send_test,
    unique,
)
from integration.lifecycle_helpers import callback_receiver, eventually, invite, settle, submit
from support.greenhouse import send_test_body
from support.inprocess import System, running_system

from alooba.assessments.v1 import assessments_pb2 as apb
from alooba_cli.main import main
from alooba_common.db import utcnow
from greenhouse_emulator import webhooks
from greenhouse_emulator.harvest import (
    ALL_PERMISSIONS,
    ALL_SCOPES,
    CREATE_CUSTOM_FIELD,
    CUSTOM_FIELDS_CREATE,
)
from greenhouse_emulator.signing import encode_webhook_body, sign

# The "When" label of each webhook the integration acts on, as a ping carries it.
WHEN = {
    "reject_candidate": "Candidate or prospect rejected",
    "unreject_candidate": "Candidate or prospect unrejected",
    "hire_candidate": "Candidate has been hired",
    "unhire_candidate": "Candidate has been unhired",
    "candidate_anonymized": "Candidate anonymized",
    "delete_candidate": "Delete candidate",
    "merge_candidate": "Merged candidate",
}


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def items(self) -> dict[str, dict[str, str]]:
        return {check["item"]: check for check in json.loads(self.out)}


@pytest.fixture
async def world(shared_databases: dict[str, str]) -> AsyncIterator[HarvestWorld]:
    with structlog.testing.capture_logs():
        async with harvest_world(shared_databases) as running:
            yield running


async def doctor(
    world: HarvestWorld,
    capsys: pytest.CaptureFixture[str],
    organization: apb.Organization,
    *options: str,
) -> Result:
    capsys.readouterr()
    argv = [
        *("--assessments-addr", world.system.addresses["assessments"], "--timeout", "10"),
        *("doctor", "--org", organization.name, *options),
    ]
    code = await asyncio.to_thread(main, argv)
    out, err = capsys.readouterr()
    return Result(code, out, err)


async def checks(
    world: HarvestWorld, capsys: pytest.CaptureFixture[str], organization: apb.Organization
) -> tuple[int, dict[str, dict[str, str]]]:
    result = await doctor(world, capsys, organization, "--json")
    return result.code, result.items()


def failed(items: dict[str, dict[str, str]]) -> set[str]:
    return {name for name, check in items.items() if check["status"] == "FAIL"}


# --- building setups --------------------------------------------------------------------


async def deliver(system: System, organisation: str, payload: dict[str, Any], secret: str) -> Reply:
    """A webhook as Greenhouse sends it, its body signed with `secret`."""
    body = encode_webhook_body(payload)
    return await call(
        system,
        "POST",
        f"{PARTNER}/webhook",
        headers={
            "X-Organisation": organisation,
            "Signature": sign(body, secret),
            "Greenhouse-Event-ID": uuid.uuid4().hex,
            "Content-Type": "application/json",
        },
        data=body,
    )


async def webhooks_configured(system: System, tenant: Tenant, *, skip: str = "") -> None:
    """The customer created one webhook per action (each pinged once when saved), and
    Greenhouse has sent a hire."""
    for n, (action, when) in enumerate(WHEN.items()):
        if action != skip:
            ping = webhooks.ping(n + 1, f"Alooba {action}", when, "https://gw/webhook")
            reply = await deliver(system, tenant.organization.name, ping, tenant.key)
            assert reply.status == 200, reply.body
    if skip != "hire_candidate":
        hired = webhooks.hire_candidate(5, 6, resolved_at=utcnow())
        assert (await deliver(system, tenant.organization.name, hired, tenant.key)).status == 200


async def in_use(world: HarvestWorld) -> Tenant:
    """An organization whose key Greenhouse uses and whose webhooks are all set up."""
    tenant = await new_tenant(world.system)
    assert (await list_tests(world.system, tenant.key)).status == 200
    await webhooks_configured(world.system, tenant)
    return tenant


async def keys(system: System, organization_id: str) -> list[apb.ApiKey]:
    response = await system.admin.ListApiKeys(
        apb.ListApiKeysRequest(organization_id=organization_id)
    )
    return list(response.api_keys)


async def revoke_all(system: System, organization_id: str) -> None:
    for key in await keys(system, organization_id):
        await system.admin.RevokeApiKey(
            apb.RevokeApiKeyRequest(organization_id=organization_id, api_key_id=key.id)
        )


# --- a healthy setup --------------------------------------------------------------------


async def test_a_healthy_setup_is_all_ok_and_exits_0(
    world: HarvestWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = await in_use(world)
    await connect(world, tenant.organization.id, mode="v1")
    application_id = world.greenhouse.add_application()
    await final_result(world, tenant, application_id, score=81, skills={"SQL": 90})
    await fields_written(world.greenhouse, application_id, {"Alooba Score": 81})
    await settle(world.system)

    result = await doctor(world, capsys, tenant.organization)

    assert result.code == 0, result.out + result.err
    lines = result.out.splitlines()
    assert lines[0].startswith(f"Setup of {tenant.organization.name} ")
    assert "0 FAIL, 0 warn," in lines[-1]
    assert "fix:" not in result.out
    for item in ("partner key used", "tests", "webhook hire_candidate", "callbacks"):
        assert any(line.startswith("ok") and f" {item} " in line for line in lines), item
    assert "1 delivered" in result.out
    assert "Alooba Score" in result.out
    assert tenant.key not in result.out


# --- partner keys -----------------------------------------------------------------------


async def test_no_key_and_a_revoked_key_fail_with_key_issue(
    world: HarvestWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    bare = (
        await world.system.admin.CreateOrganization(
            apb.CreateOrganizationRequest(name=unique("Org"))
        )
    ).organization
    code, items = await checks(world, capsys, bare)
    assert code == 1
    assert "no key was ever issued" in items["partner key"]["detail"]
    assert "alooba-gh key issue --org" in items["partner key"]["fix"]

    tenant = await in_use(world)
    await revoke_all(world.system, tenant.organization.id)
    result = await doctor(world, capsys, tenant.organization)
    assert result.code == 1
    line = next(x for x in result.out.splitlines() if " partner key " in x)
    assert line.startswith("FAIL")
    assert "revoked" in line
    fix = result.out.splitlines()[result.out.splitlines().index(line) + 1]
    assert fix.strip().startswith("fix: `alooba-gh key issue --org ")
    assert "checks failed" in result.err


async def test_a_key_never_used_fails(
    world: HarvestWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = await new_tenant(world.system)
    await webhooks_configured(world.system, tenant)
    code, items = await checks(world, capsys, tenant.organization)
    assert code == 1
    assert failed(items) == {"partner key used"}
    assert "never used" in items["partner key used"]["detail"]
    assert "Greenhouse Support" in items["partner key used"]["fix"]


async def test_a_rotation_greenhouse_has_not_picked_up_names_the_old_key(
    world: HarvestWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = await in_use(world)
    rotated = await world.system.admin.RotateApiKey(
        apb.RotateApiKeyRequest(organization_id=tenant.organization.id)
    )
    code, items = await checks(world, capsys, tenant.organization)
    assert code == 1
    detail = items["partner key used"]["detail"]
    assert "still calls with the retiring key" in detail
    assert rotated.previous.prefix in detail


# --- catalog and webhooks ---------------------------------------------------------------


async def test_no_active_test_fails_with_test_create(
    world: HarvestWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = await in_use(world)
    await world.system.admin.ArchiveTest(
        apb.ArchiveTestRequest(organization_id=tenant.organization.id, test_id=tenant.test.id)
    )
    code, items = await checks(world, capsys, tenant.organization)
    assert code == 1
    assert failed(items) == {"tests"}
    assert "1 archived" in items["tests"]["detail"]
    assert "alooba-gh test create --org" in items["tests"]["fix"]


async def test_a_webhook_never_seen_nor_pinged_fails_with_how_to_create_it(
    world: HarvestWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = await new_tenant(world.system)
    assert (await list_tests(world.system, tenant.key)).status == 200
    await webhooks_configured(world.system, tenant, skip="unhire_candidate")

    code, items = await checks(world, capsys, tenant.organization)

    assert code == 1
    assert failed(items) == {"webhook unhire_candidate"}
    check = items["webhook unhire_candidate"]
    assert check["detail"] == "never received, never pinged"
    assert "Create New Webhook" in check["fix"]
    assert f"X-Organisation: {tenant.organization.name}" in check["fix"]
    assert items["webhook hire_candidate"]["detail"].startswith("last received ")
    assert items["webhook reject_candidate"]["detail"].startswith("pinged ")


async def test_a_signature_failure_after_the_last_success_fails(
    world: HarvestWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = await in_use(world)
    name = tenant.organization.name
    hired = webhooks.hire_candidate(7, 8, resolved_at=utcnow())
    assert (await deliver(world.system, name, hired, "agh_an-old-secret")).status == 401
    # A failure followed by a success is history, not a fault.
    rejected = webhooks.reject_candidate(7, 8, rejected_at=utcnow())
    assert (await deliver(world.system, name, rejected, "agh_an-old-secret")).status == 401
    assert (await deliver(world.system, name, rejected, tenant.key)).status == 200

    code, items = await checks(world, capsys, tenant.organization)

    assert code == 1
    assert failed(items) == {"webhook hire_candidate"}
    check = items["webhook hire_candidate"]
    assert "signature refused once" in check["detail"]
    assert "not the partner key" in check["detail"]
    assert 'the "Candidate has been hired" webhook → Secret Key' in check["fix"]
    assert "last signature failure" in items["webhook reject_candidate"]["detail"]


# --- callbacks and dead letters -----------------------------------------------------------


async def test_a_dead_callback_fails_with_outbox_replay(
    world: HarvestWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = await in_use(world)
    invitation_id = await invite(world.system, tenant)
    await settle(world.system)
    # The callback dies at once while the organization has no key to sign it with; then
    # a new key is issued, so only the callback is wrong.
    await revoke_all(world.system, tenant.organization.id)
    await submit(world.system, invitation_id)

    async def dead() -> bool:
        health = await world.system.admin.GetIntegrationHealth(
            apb.GetIntegrationHealthRequest(organization_id=tenant.organization.id)
        )
        return health.callbacks.dead == 1

    await eventually(dead, what="the callback dead")
    issued = await world.system.admin.IssueApiKey(
        apb.IssueApiKeyRequest(organization_id=tenant.organization.id)
    )
    assert (await list_tests(world.system, issued.secret)).status == 200

    code, items = await checks(world, capsys, tenant.organization)

    assert code == 1
    assert failed(items) == {"callbacks"}
    assert "1 dead" in items["callbacks"]["detail"]
    assert "alooba-gh outbox replay" in items["callbacks"]["fix"]
    assert "--kind greenhouse.callback" in items["callbacks"]["fix"]


# --- Harvest ------------------------------------------------------------------------------


async def test_harvest_not_connected_is_only_a_warning(
    world: HarvestWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = await in_use(world)
    code, items = await checks(world, capsys, tenant.organization)
    assert code == 0
    assert items["harvest"]["status"] == "warn"
    assert "alooba-gh harvest connect --org" in items["harvest"]["fix"]
    assert "harvest permissions" not in items


async def test_a_missing_harvest_permission_is_named(
    world: HarvestWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = await in_use(world)
    permissions = [p for p in ALL_PERMISSIONS if p != CREATE_CUSTOM_FIELD]
    await connect(world, tenant.organization.id, permissions, mode="v1")

    code, items = await checks(world, capsys, tenant.organization)

    assert code == 1
    assert failed(items) == {"harvest permissions"}
    assert items["harvest permissions"]["detail"] == f"missing: {CREATE_CUSTOM_FIELD}"
    assert "Manage Permissions" in items["harvest permissions"]["fix"]
    assert CREATE_CUSTOM_FIELD in items["harvest permissions"]["fix"]


async def test_a_missing_harvest_v3_scope_is_named_with_where_to_grant_it(
    world: HarvestWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = await in_use(world)
    scopes = [s for s in ALL_SCOPES if s != CUSTOM_FIELDS_CREATE]
    await connect(world, tenant.organization.id, scopes, mode="v3")

    code, items = await checks(world, capsys, tenant.organization)

    assert code == 1
    assert failed(items) == {"harvest permissions"}
    check = items["harvest permissions"]
    assert check["detail"] == f"missing scopes: {CUSTOM_FIELDS_CREATE}"
    assert 'the "Harvest V3 (OAuth)" credential → Manage Scopes' in check["fix"]
    assert CUSTOM_FIELDS_CREATE in check["fix"]
    # Greenhouse's 403 does not say which (harvest-v3-facts.md rows 34-35).
    assert "is not a Site Admin" in check["fix"]


async def test_a_v3_connection_without_a_site_admin_to_act_as_says_to_name_one(
    world: HarvestWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = await in_use(world)
    await connect(world, tenant.organization.id, mode="v3", acting_user_id=0, promote=False)

    code, items = await checks(world, capsys, tenant.organization)

    assert code == 1
    assert failed(items) == {"harvest integration user"}
    assert "--v3 --client-id ID --acting-user USER_ID" in items["harvest integration user"]["fix"]


async def test_an_integration_user_not_site_admin_fails(
    world: HarvestWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = await in_use(world)
    await connect(world, tenant.organization.id, mode="v3", promote=False)

    code, items = await checks(world, capsys, tenant.organization)

    assert code == 1
    assert failed(items) == {"harvest integration user"}
    check = items["harvest integration user"]
    assert "is not a Site Admin" in check["detail"]
    assert "must make" in check["fix"]
    assert "Site Admin" in check["fix"]
    assert items["harvest custom fields"]["status"] == "warn"


async def test_a_harvest_sync_dead_letter_fails(
    world: HarvestWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    tenant = await in_use(world)
    await connect(world, tenant.organization.id, mode="v1")
    application_id = world.greenhouse.add_application()
    world.greenhouse.delete_application(application_id)
    assert await queue_scores(world, tenant.organization.id, application_id, uuid.uuid4().hex, 5)

    async def dead() -> dict[str, dict[str, str]] | None:
        _, items = await checks(world, capsys, tenant.organization)
        return items if "harvest dead letters" in failed(items) else None

    items = await eventually(dead, within=20, what="the harvest dead letter")
    assert failed(items) == {"harvest dead letters"}
    assert "1 dead" in items["harvest dead letters"]["detail"]
    fix = items["harvest dead letters"]["fix"]
    assert f"--service-addr {world.system.addresses['harvest-sync']}" in fix
    assert "outbox replay" in fix


async def test_harvest_sync_unreachable_fails_and_the_rest_is_still_checked(
    shared_databases: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # The assessments service asks harvest-sync; here it is pointed where nothing answers.
    with structlog.testing.capture_logs():
        async with running_system(
            shared_databases, harvest_sync_addr="127.0.0.1:9", rpc_timeout_seconds=1.0
        ) as system:
            world = HarvestWorld(system, None, 0)  # type: ignore[arg-type]
            tenant = await in_use(world)
            result = await doctor(world, capsys, tenant.organization, "--json")
    items = result.items()
    assert result.code == 1
    assert failed(items) == {"harvest"}
    assert "127.0.0.1:9" in items["harvest"]["detail"]
    assert items["callbacks"]["status"] == "ok"
    assert len(items) > 10


async def test_invitations_whose_scores_skip_harvest_are_a_warning_with_the_reasons(
    world: HarvestWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    # Item 5b: send_test succeeded without Greenhouse's ids; only Harvest is skipped.
    tenant = await in_use(world)
    for profile_url in (None, "https://app.greenhouse.io/people/17681532"):
        body = send_test_body(tenant.test.id)
        body["candidate"]["greenhouse_profile_url"] = profile_url
        body["url"] = callback_receiver().url()
        assert (await send_test(world.system, tenant.key, body)).status == 200

    code, items = await checks(world, capsys, tenant.organization)

    assert code == 0
    check = items["harvest ids"]
    assert check["status"] == "warn"
    assert "2 invitation(s)" in check["detail"]
    assert "1 with no greenhouse_profile_url" in check["detail"]
    assert "1 with no application_id" in check["detail"]
    assert "test_status" in check["fix"]
