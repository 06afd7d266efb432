"""alooba-gh against a real assessments gRPC server (in-process, SQLite, port 0)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import structlog
from prometheus_client import CollectorRegistry

from alooba.assessments.v1 import assessments_pb2 as pb
from alooba.assessments.v1 import assessments_pb2_grpc as pb_grpc
from alooba_cli.main import main
from alooba_common.config import DatabaseSettings
from alooba_common.db import create_engine, session_factory
from alooba_common.grpc_metrics import GrpcServerMetrics
from alooba_common.grpc_server import ServerInterceptor
from alooba_common.migrations import upgrade_to_head
from alooba_common.secrets import SecretBox, generate_kek
from assessments.server import MIGRATIONS
from assessments.service import Administration, ApplicationRefs, PartnerApi
from assessments.servicer import AdminServicer, PartnerServicer

GRACE_DEFAULT_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Cli = Callable[..., Awaitable[Result]]


class FakeCandidates:
    """Stands in for the candidates service: admin calls never reach it, and send_test
    only needs references back."""

    async def register_application(self, **_: Any) -> ApplicationRefs:
        return ApplicationRefs(candidate_id="cand-1", application_id="app-1")


@pytest.fixture(scope="session")
def migrated_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Migrating once and copying the file keeps each test isolated and the suite fast.
    path = tmp_path_factory.mktemp("assessments") / "template.db"
    upgrade_to_head(MIGRATIONS, f"sqlite:///{path}")
    return path


@pytest.fixture
async def assessments_addr(migrated_database: Path, tmp_path: Path) -> AsyncIterator[str]:
    database = tmp_path / "a.db"
    shutil.copyfile(migrated_database, database)
    engine = create_engine(DatabaseSettings(url=f"sqlite:///{database}"))
    sessions = session_factory(engine)
    box = SecretBox.from_base64(generate_kek())
    partner = PartnerApi(
        sessions, box, FakeCandidates(), callback_host_allowlist=("*.greenhouse.io",)
    )
    admin = Administration(
        sessions,
        box,
        default_expiry_days=7,
        key_rotation_grace_seconds=GRACE_DEFAULT_SECONDS,
    )
    server = grpc.aio.server(
        interceptors=[ServerInterceptor(GrpcServerMetrics.create(CollectorRegistry()))]
    )
    pb_grpc.add_PartnerServiceServicer_to_server(PartnerServicer(partner), server)
    pb_grpc.add_AdminServiceServicer_to_server(AdminServicer(admin), server)
    port = server.add_insecure_port("127.0.0.1:0")
    # The service's log lines would otherwise land in the captured stdout the tests read.
    with structlog.testing.capture_logs():
        await server.start()
        try:
            yield f"127.0.0.1:{port}"
        finally:
            await server.stop(None)
            await engine.dispose()


@pytest.fixture
def cli(assessments_addr: str, capsys: pytest.CaptureFixture[str]) -> Cli:
    """Runs alooba-gh against the test server and returns its status and output."""

    async def run(*argv: str) -> Result:
        capsys.readouterr()
        # main() runs its own event loop, so it cannot share the server's: give it a thread.
        code = await asyncio.to_thread(
            main, ["--assessments-addr", assessments_addr, "--timeout", "5", *argv]
        )
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


async def _ok(cli: Cli, *argv: str) -> Result:
    result = await cli(*argv)
    assert result.code == 0, result.err
    return result


def _field(out: str, key: str) -> str:
    """The value of `key:` in a key-value block."""
    for line in out.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() == key:
            return value.strip()
    raise AssertionError(f"no {key!r} in {out!r}")


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- organizations -----------------------------------------------------------------


async def test_org_create_prints_the_new_organization(cli: Cli) -> None:
    result = await _ok(cli, "org", "create", "Acme Corp")

    assert _field(result.out, "name") == "Acme Corp"
    assert len(_field(result.out, "id")) == 32
    created = _utc(_field(result.out, "created"))
    assert abs(created - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)


async def test_org_list_shows_every_organization_in_a_table(cli: Cli) -> None:
    await _ok(cli, "org", "create", "Beta")
    await _ok(cli, "org", "create", "Alpha")

    lines = (await _ok(cli, "org", "list")).out.splitlines()

    assert lines[0].split() == ["ID", "NAME", "CREATED"]
    assert [line.split()[1] for line in lines[1:]] == ["Alpha", "Beta"]


async def test_org_show_finds_by_exact_name_or_by_id(cli: Cli) -> None:
    created = (await _ok(cli, "--json", "org", "create", "Acme")).json()["organization"]

    by_name = await _ok(cli, "org", "show", "Acme")
    by_id = await _ok(cli, "org", "show", "--id", created["id"])
    other_case = await cli("org", "show", "acme")

    assert _field(by_name.out, "id") == created["id"]
    assert by_id.out == by_name.out
    assert other_case.code == 1
    assert "NOT_FOUND" in other_case.err


# --- partner API keys ----------------------------------------------------------------


async def test_key_issue_shows_the_secret_once_and_key_list_never_does(cli: Cli) -> None:
    await _ok(cli, "org", "create", "Acme")

    issued = await _ok(cli, "key", "issue", "--org", "Acme")
    secret = _field(issued.out, "secret")
    listed = await _ok(cli, "key", "list", "--org", "Acme")
    listed_json = await _ok(cli, "--json", "key", "list", "--org", "Acme")

    assert secret.startswith("agh_")
    assert issued.out.count(secret) == 1
    assert "will not be shown again" in issued.out
    assert _field(issued.out, "state") == "active"
    assert secret not in listed.out
    assert secret not in listed_json.out
    assert _field(issued.out, "prefix") in listed.out


async def test_key_rotate_leaves_the_old_key_retiring_until_the_grace_end(cli: Cli) -> None:
    await _ok(cli, "org", "create", "Acme")
    old_id = _field((await _ok(cli, "key", "issue", "--org", "Acme")).out, "id")

    rotated = await _ok(cli, "key", "rotate", "--org", "Acme", "--grace", "2h")
    keys = (await _ok(cli, "--json", "key", "list", "--org", "Acme")).json()["api_keys"]

    assert _field(rotated.out, "secret").startswith("agh_")
    assert "will not be shown again" in rotated.out
    assert f"previous key {old_id}" in rotated.out
    states = {key["id"]: key["state"] for key in keys}
    assert states[old_id] == "API_KEY_STATE_RETIRING"
    assert states[_field(rotated.out, "id")] == "API_KEY_STATE_ACTIVE"
    grace_end = _utc(next(key for key in keys if key["id"] == old_id)["expire_time"])
    expected = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    assert abs(grace_end - expected) < dt.timedelta(minutes=1)
    assert grace_end.strftime("%Y-%m-%dT%H:%M:%SZ") in rotated.out


async def test_key_rotate_without_grace_uses_the_service_default(cli: Cli) -> None:
    await _ok(cli, "org", "create", "Acme")
    await _ok(cli, "key", "issue", "--org", "Acme")

    rotated = (await _ok(cli, "--json", "key", "rotate", "--org", "Acme")).json()

    grace_end = _utc(rotated["previous"]["expire_time"])
    expected = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=GRACE_DEFAULT_SECONDS)
    assert abs(grace_end - expected) < dt.timedelta(minutes=1)
    assert rotated["secret"].startswith("agh_")


async def test_key_revoke_makes_the_key_revoked(cli: Cli) -> None:
    await _ok(cli, "org", "create", "Acme")
    key_id = _field((await _ok(cli, "key", "issue", "--org", "Acme")).out, "id")

    revoked = await _ok(cli, "key", "revoke", "--org", "Acme", key_id)
    listed = (await _ok(cli, "key", "list", "--org", "Acme")).out.splitlines()

    assert _field(revoked.out, "state") == "revoked"
    assert _utc(_field(revoked.out, "revoked")) <= dt.datetime.now(dt.UTC)
    assert listed[1].split()[2] == "revoked"


# --- the test catalog ----------------------------------------------------------------


async def test_test_create_adds_a_test_with_its_skills_and_settings(cli: Cli) -> None:
    await _ok(cli, "org", "create", "Acme")

    created = await _ok(
        cli,
        *("test", "create", "--org", "Acme", "--name", "Python"),
        *("--skill", "Python", "--skill", "SQL", "--manual-evaluation", "--expiry-days", "14"),
    )

    assert _field(created.out, "name") == "Python"
    assert _field(created.out, "skills") == "Python, SQL"
    assert _field(created.out, "manual evaluation") == "yes"
    assert _field(created.out, "expiry days") == "14"
    assert _field(created.out, "archived") == "no"


async def test_test_update_changes_only_the_fields_given(cli: Cli) -> None:
    await _ok(cli, "org", "create", "Acme")
    created = await _ok(
        cli, "test", "create", "--org", "Acme", "--name", "Python", "--skill", "SQL"
    )
    test_id = _field(created.out, "id")

    renamed = await _ok(cli, "test", "update", "--org", "Acme", test_id, "--name", "Python 3")
    cleared = await _ok(
        cli,
        *("test", "update", "--org", "Acme", test_id),
        *("--clear-skills", "--manual-evaluation", "--expiry-days", "3"),
    )

    assert _field(renamed.out, "name") == "Python 3"
    assert _field(renamed.out, "skills") == "SQL"
    assert _field(renamed.out, "expiry days") == "7"
    assert _field(cleared.out, "name") == "Python 3"
    assert _field(cleared.out, "skills") == "-"
    assert _field(cleared.out, "manual evaluation") == "yes"
    assert _field(cleared.out, "expiry days") == "3"


async def test_test_update_with_nothing_to_change_is_a_usage_error(cli: Cli) -> None:
    result = await cli("test", "update", "--org", "Acme", "some-test-id")

    assert result.code == 2
    assert "nothing to change" in result.err


async def test_test_archive_hides_the_test_from_list_unless_all(cli: Cli) -> None:
    await _ok(cli, "org", "create", "Acme")
    kept = _field((await _ok(cli, "test", "create", "--org", "Acme", "--name", "Kept")).out, "id")
    gone = _field((await _ok(cli, "test", "create", "--org", "Acme", "--name", "Gone")).out, "id")

    archived = await _ok(cli, "test", "archive", "--org", "Acme", gone)
    active = (await _ok(cli, "test", "list", "--org", "Acme")).out
    everything = (await _ok(cli, "test", "list", "--org", "Acme", "--all")).out

    assert _field(archived.out, "archived") == "yes"
    assert kept in active
    assert gone not in active
    assert kept in everything
    assert gone in everything


# --- invitations ---------------------------------------------------------------------


async def test_invitation_list_on_an_empty_org_says_there_are_none(cli: Cli) -> None:
    await _ok(cli, "org", "create", "Acme")

    result = await _ok(cli, "invitation", "list", "--org", "Acme")
    as_json = (await _ok(cli, "invitation", "list", "--org", "Acme", "--json")).json()

    assert result.out.strip() == "No invitations."
    assert as_json == {"invitations": [], "next_page_token": ""}


async def _send_test(addr: str, partner_key: str, test_id: str, n: int) -> None:
    """Greenhouse's send_test, over the partner API, so there is an invitation to see."""
    async with grpc.aio.insecure_channel(addr) as channel:
        await pb_grpc.PartnerServiceStub(channel).SendTest(
            pb.SendTestRequest(
                partner_key=partner_key,
                partner_test_id=test_id,
                candidate=pb.SendTestCandidate(
                    first_name="Ada",
                    last_name="Lovelace",
                    email="ada@example.com",
                    greenhouse_profile_url=f"https://app.greenhouse.io/people/{n}",
                ),
                url=f"https://app.greenhouse.io/callback/{n}",
            ),
            timeout=5,
        )


async def test_invitation_list_pages_and_show_prints_the_event_history(
    cli: Cli, assessments_addr: str
) -> None:
    await _ok(cli, "org", "create", "Acme")
    secret = (await _ok(cli, "--json", "key", "issue", "--org", "Acme")).json()["secret"]
    created = await _ok(cli, "--json", "test", "create", "--org", "Acme", "--name", "Python")
    test_id = created.json()["test"]["id"]
    await _send_test(assessments_addr, secret, test_id, 1)
    await _send_test(assessments_addr, secret, test_id, 2)

    first = await _ok(cli, "invitation", "list", "--org", "Acme", "--limit", "1")
    token = first.out.split("--page-token ")[1].strip()
    second = await _ok(
        cli, "invitation", "list", "--org", "Acme", "--limit", "1", "--page-token", token
    )
    invitation_id = second.out.splitlines()[1].split()[0]
    shown = await _ok(cli, "invitation", "show", "--org", "Acme", invitation_id)

    assert first.out.splitlines()[1].split()[1:3] == ["sent", "Python"]
    assert "--page-token" not in second.out
    assert invitation_id not in first.out
    assert _field(shown.out, "status") == "sent"
    assert _field(shown.out, "test") == f"Python ({test_id})"
    assert _field(shown.out, "callback url").startswith("https://app.greenhouse.io/callback/")
    assert shown.out.splitlines()[-1].split()[1] == "sent"


# --- output and errors ---------------------------------------------------------------


async def test_json_flag_works_before_and_after_the_command(cli: Cli) -> None:
    await _ok(cli, "org", "create", "Acme")

    before = (await _ok(cli, "--json", "org", "list")).json()
    after = (await _ok(cli, "org", "list", "--json")).json()

    assert before == after
    assert [org["name"] for org in before["organizations"]] == ["Acme"]
    assert _utc(before["organizations"][0]["create_time"]).tzinfo == dt.UTC


async def test_unknown_org_exits_1_with_not_found(cli: Cli) -> None:
    result = await cli("test", "list", "--org", "Nobody")

    assert result.code == 1
    assert result.out == ""
    assert result.err == "alooba-gh: NOT_FOUND: no organization named 'Nobody'\n"


async def test_service_errors_print_their_status_and_details(cli: Cli) -> None:
    await _ok(cli, "org", "create", "Acme")

    result = await cli("org", "create", "Acme")

    assert result.code == 1
    assert result.err.startswith("alooba-gh: FAILED_PRECONDITION: ")
    assert "already exists" in result.err
    assert "Traceback" not in result.err


def test_unreachable_service_exits_1_naming_the_address(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        addr = f"127.0.0.1:{probe.getsockname()[1]}"
    # The port is closed now: nothing listens on it.

    code = main(["--assessments-addr", addr, "--timeout", "3", "org", "list"])

    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"alooba-gh: UNAVAILABLE: the assessments service at {addr} ")
    assert "could not be reached" in err
    assert "Traceback" not in err


def test_bad_grace_duration_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["key", "rotate", "--org", "Acme", "--grace", "soon"])

    assert code == 2
    assert "is not a duration" in capsys.readouterr().err
