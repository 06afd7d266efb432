"""`alooba-gh user invite|list` against the console's gRPC face (in-process, with the real
services): how an organization gets its first Owner."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import grpc
import pytest
import structlog
from console_web.helpers import PASSWORD, new_organization, unique_email, web_client
from support.console import Console, running_console
from support.inprocess import System, running_system

from alooba.console.v1 import console_pb2 as cpb
from alooba_cli.main import main


@pytest.fixture
async def console(shared_databases: dict[str, str]) -> AsyncIterator[tuple[System, Console]]:
    with structlog.testing.capture_logs():
        async with (
            running_system(shared_databases) as system,
            running_console(system, shared_databases["console"]) as running,
        ):
            yield system, running


async def gh(
    system: System, console: Console, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, str, str]:
    capsys.readouterr()
    code = await asyncio.to_thread(
        main,
        [
            "--assessments-addr",
            system.addresses["assessments"],
            *argv,
            "--console-addr",
            console.address,
        ],
    )
    out, err = capsys.readouterr()
    return code, out, err


async def test_user_invite_prints_a_link_that_makes_the_first_owner(
    console: tuple[System, Console], capsys: pytest.CaptureFixture[str]
) -> None:
    system, running = console
    org = await new_organization(system)
    email = unique_email("owner")
    code, out, _ = await gh(
        system,
        running,
        capsys,
        "user",
        "invite",
        "--org",
        org.name,
        "--role",
        "owner",
        "--email",
        email,
    )
    assert code == 0
    link = next(line.split()[-1] for line in out.splitlines() if line.startswith("accept at:"))
    assert link.startswith(f"{running.url}/invite/")
    async with web_client(running) as client:
        await client.get(link.removeprefix(running.url))
        page = await client.post(
            link.removeprefix(running.url),
            {"display_name": "Olive", "password": PASSWORD, "confirm": PASSWORD},
        )
        assert page.url.endswith(f"/orgs/{org.id}/settings")

    code, out, _ = await gh(system, running, capsys, "--json", "user", "list", "--org", org.name)
    assert code == 0
    [member] = json.loads(out)["members"]
    assert member["email"] == email
    assert member["role"] == "ROLE_OWNER"


async def test_user_invite_for_an_unknown_organization_fails(
    console: tuple[System, Console], capsys: pytest.CaptureFixture[str]
) -> None:
    system, running = console
    code, _, err = await gh(
        system,
        running,
        capsys,
        "user",
        "invite",
        "--org-id",
        "f" * 32,
        "--role",
        "admin",
        "--email",
        unique_email(),
    )
    assert code == 1
    assert "NOT_FOUND" in err


async def test_an_invitation_to_a_missing_or_malformed_organization_is_refused_plainly(
    console: tuple[System, Console],
) -> None:
    _, running = console
    outcomes = {}
    for organization_id in ("", "no such id!", "f" * 32):
        request = cpb.InviteUserRequest(
            organization_id=organization_id, email=unique_email("x"), role=cpb.ROLE_OWNER
        )
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await running.users.InviteUser(request)
        outcomes[organization_id] = raised.value.code()
    assert outcomes == {
        "": grpc.StatusCode.INVALID_ARGUMENT,
        "no such id!": grpc.StatusCode.NOT_FOUND,
        "f" * 32: grpc.StatusCode.NOT_FOUND,
    }
