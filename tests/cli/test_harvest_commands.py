"""`alooba-gh harvest ...` and the harvest-sync dead letters, against the real services
in-process and the emulated Harvest API. Secrets come from the environment or stdin and
never appear in the output."""

from __future__ import annotations

import asyncio
import io
import json
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import structlog
from integration.harvest_helpers import HarvestWorld, harvest_world, queue_scores
from integration.helpers import Tenant, new_tenant
from integration.lifecycle_helpers import eventually

from alooba_cli.main import main
from greenhouse_emulator.harvest import (
    ALL_PERMISSIONS,
    ALL_SCOPES,
    APPLICATIONS_LIST,
    CREATE_CUSTOM_FIELD,
)


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
async def world(shared_databases: dict[str, str]) -> AsyncIterator[HarvestWorld]:
    with structlog.testing.capture_logs():
        async with harvest_world(shared_databases) as running:
            yield running


async def run(
    world: HarvestWorld,
    capsys: pytest.CaptureFixture[str],
    *argv: str,
    stdin: str = "",
) -> Result:
    capsys.readouterr()
    addresses = world.system.addresses

    def call() -> int:
        saved = sys.stdin
        sys.stdin = io.StringIO(stdin)
        try:
            harvest = ("--harvest-addr", addresses["harvest-sync"]) if argv[0] == "harvest" else ()
            return main(
                [
                    *("--assessments-addr", addresses["assessments"]),
                    *("--timeout", "10", *argv, *harvest),
                ]
            )
        finally:
            sys.stdin = saved

    code = await asyncio.to_thread(call)
    out, err = capsys.readouterr()
    return Result(code, out, err)


async def tenant(world: HarvestWorld) -> Tenant:
    return await new_tenant(world.system)


async def test_connect_with_a_v1_key_from_the_environment_reports_what_is_missing(
    world: HarvestWorld, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    org = await tenant(world)
    key = world.greenhouse.issue_v1_key([p for p in ALL_PERMISSIONS if p != CREATE_CUSTOM_FIELD])
    monkeypatch.setenv("HARVEST_API_KEY", key)

    result = await run(world, capsys, "harvest", "connect", "--org", org.organization.name)

    assert result.code == 0, result.err
    assert f"missing permissions: {CREATE_CUSTOM_FIELD}" in result.out
    assert "Site Admin: no" in result.out
    assert "To do:" in result.out
    assert key not in result.out + result.err

    as_json = await run(
        world, capsys, "harvest", "status", "--org", org.organization.name, "--json"
    )
    assert as_json.json()["missing_permissions"] == [CREATE_CUSTOM_FIELD]
    assert as_json.json()["mode"] == "CONNECTION_MODE_V1"


async def test_connect_v3_reads_the_secret_from_stdin_and_status_refresh_sees_the_grant(
    world: HarvestWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    org = await tenant(world)
    client_id, secret = world.greenhouse.issue_v3_client()

    connected = await run(
        world,
        capsys,
        *("harvest", "connect", "--org", org.organization.name, "--v3"),
        *("--client-id", client_id, "--secret-stdin", "--json"),
        *("--acting-user", str(world.admin_id)),
        stdin=secret + "\n",
    )
    assert connected.code == 0, connected.err
    assert secret not in connected.out
    user_id = int(connected.json()["integration_user"]["id"])

    world.greenhouse.set_site_admin(user_id)
    status = await run(
        world, capsys, "harvest", "status", "--org", org.organization.name, "--refresh"
    )
    assert status.code == 0, status.err
    assert "Harvest v3" in status.out
    assert re.search(r"missing scopes: +none", status.out)
    assert "Site Admin: yes" in status.out
    assert "To do:" not in status.out


async def test_a_v3_status_names_the_missing_scope_and_where_to_grant_it(
    world: HarvestWorld, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    org = await tenant(world)
    client_id, secret = world.greenhouse.issue_v3_client(
        [s for s in ALL_SCOPES if s != APPLICATIONS_LIST]
    )
    monkeypatch.setenv("HARVEST_CLIENT_SECRET", secret)

    result = await run(
        world,
        capsys,
        *("harvest", "connect", "--org", org.organization.name, "--v3"),
        *("--client-id", client_id, "--acting-user", str(world.admin_id)),
    )

    assert result.code == 0, result.err
    assert re.search(f"missing scopes: +{APPLICATIONS_LIST}", result.out)
    assert 'the "Harvest V3 (OAuth)" credential → Manage Scopes' in result.out
    assert "or the acting user (user " in result.out
    assert secret not in result.out + result.err


async def test_a_v3_connection_without_a_site_admin_named_says_to_name_one(
    world: HarvestWorld, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    org = await tenant(world)
    client_id, secret = world.greenhouse.issue_v3_client()
    monkeypatch.setenv("HARVEST_CLIENT_SECRET", secret)
    result = await run(
        world,
        capsys,
        *("harvest", "connect", "--org", org.organization.name, "--v3", "--client-id", client_id),
    )
    assert result.code == 0, result.err
    assert re.search(r"integration user: +-", result.out)
    assert "--acting-user USER_ID" in result.out


async def test_a_refused_key_fails_and_usage_errors_are_status_2(
    world: HarvestWorld, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    org = await tenant(world)
    monkeypatch.setenv("HARVEST_API_KEY", "wrong")
    refused = await run(world, capsys, "harvest", "connect", "--org", org.organization.name)
    assert refused.code == 1
    assert "INVALID_ARGUMENT" in refused.err
    assert "refused" in refused.err

    monkeypatch.delenv("HARVEST_API_KEY")
    missing = await run(world, capsys, "harvest", "connect", "--org", org.organization.name)
    assert missing.code == 2
    assert "HARVEST_API_KEY" in missing.err
    no_client = await run(
        world, capsys, "harvest", "connect", "--org", org.organization.name, "--v3"
    )
    assert no_client.code == 2

    status = await run(world, capsys, "harvest", "status", "--org", org.organization.name)
    assert status.code == 0
    assert "not connected" in status.out


async def test_dead_letters_of_harvest_sync_are_listed_and_replayed(
    world: HarvestWorld, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    org = await tenant(world)
    monkeypatch.setenv("HARVEST_API_KEY", world.greenhouse.issue_v1_key())
    assert (
        await run(world, capsys, "harvest", "connect", "--org", org.organization.name)
    ).code == 0
    user = world.greenhouse.users_by_email("greenhouse-integration@alooba.com")[0]
    world.greenhouse.set_site_admin(user["id"])
    application_id = world.greenhouse.add_application()
    world.greenhouse.delete_application(application_id)
    assert await queue_scores(world, org.organization.id, application_id, "cli-dead", 50)
    harvest_addr = world.system.addresses["harvest-sync"]

    async def listed() -> Result | None:
        result = await run(
            world, capsys, "outbox", "dead-letters", "--service-addr", harvest_addr, "--json"
        )
        mine = [d for d in result.json()["dead_letters"] if d["payload"]["result_id"] == "cli-dead"]
        return result if mine else None

    result = await eventually(listed, within=20, what="the dead letter")
    [letter] = [d for d in result.json()["dead_letters"] if d["payload"]["result_id"] == "cli-dead"]
    assert "has been deleted" in letter["last_error"]

    table = await run(world, capsys, "outbox", "dead-letters", "--service-addr", harvest_addr)
    assert "cli-dead" in table.out
    assert "harvest.push" in table.out

    replayed = await run(
        world, capsys, "outbox", "replay", letter["id"], "--service-addr", harvest_addr
    )
    assert replayed.code == 0
    assert "1 dead letter queued again." in replayed.out
