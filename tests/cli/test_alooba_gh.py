"""alooba-gh against a real assessments gRPC server (in-process, SQLite, port 0), which
also serves the platform's calls and the OutboxService, as the deployed one does."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import grpc
import pytest
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from support.inprocess import serving
from support.tls import certificate, channel

from alooba.assessments.v1 import assessments_pb2 as pb
from alooba.assessments.v1 import assessments_pb2_grpc as pb_grpc
from alooba_cli.main import main
from alooba_common.config import DatabaseSettings
from alooba_common.db import create_engine, session_factory
from alooba_common.grpc_server import GrpcService
from alooba_common.migrations import upgrade_to_head
from alooba_common.outbox import DeadLetters, enqueue
from alooba_common.outbox_servicer import outbox_registration
from alooba_common.secrets import SecretBox, generate_kek
from alooba_common.tls import Identity, server_credentials
from assessments.api.access import ACCESS
from assessments.api.servicer import AdminServicer, PartnerServicer, PlatformServicer
from assessments.app.administration import Administration
from assessments.app.candidate_directory import ApplicationRefs
from assessments.app.key_cache import KeyCache
from assessments.app.lifecycle import PlatformApi
from assessments.app.partner import PartnerApi
from assessments.app.setup_check import DEFAULT_RECENT_DAYS, HarvestStatusSource
from assessments.outbound.harvest_status import GrpcHarvestStatus
from assessments.server import ADMIN_SERVICE, MIGRATIONS, PARTNER_SERVICE, PLATFORM_SERVICE
from assessments.store.models import OUTBOX

GRACE_DEFAULT_SECONDS = 7 * 24 * 3600
add_partner = pb_grpc.add_PartnerServiceServicer_to_server
add_platform = pb_grpc.add_PlatformServiceServicer_to_server
add_admin = pb_grpc.add_AdminServiceServicer_to_server


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


@dataclass(frozen=True)
class Service:
    addr: str
    # The service's database, for what no RPC can set up (dead letters) or show.
    sessions: async_sessionmaker[AsyncSession]


@pytest.fixture
async def service(migrated_database: Path, tmp_path: Path) -> AsyncIterator[Service]:
    database = tmp_path / "a.db"
    shutil.copyfile(migrated_database, database)
    engine = create_engine(DatabaseSettings(url=f"sqlite:///{database}"))
    sessions = session_factory(engine)
    box = SecretBox.from_base64(generate_kek())
    # No relay runs: queued messages stay in the outbox, where the tests can see them.
    cache = KeyCache()  # shared, as in assessments.server
    partner = PartnerApi(
        sessions,
        box,
        FakeCandidates(),
        callback_host_allowlist=("*.greenhouse.io",),
        key_cache=cache,
    )
    platform = PlatformApi(sessions, box, outbox_committed=lambda: None)
    admin = Administration(
        sessions,
        box,
        default_expiry_days=7,
        key_rotation_grace_seconds=GRACE_DEFAULT_SECONDS,
        key_cache=cache,
    )
    # No harvest-sync here: `doctor` is tested against the whole system (test_doctor.py).
    nowhere = grpc.aio.insecure_channel("127.0.0.1:9")
    harvest = HarvestStatusSource(GrpcHarvestStatus(nowhere, "127.0.0.1:9", timeout=1))
    service = GrpcService(
        name="assessments",
        # The deployed service's APIs but WebhookService, on these fakes.
        registrations=[
            (partial(add_partner, PartnerServicer(partner)), PARTNER_SERVICE),
            (partial(add_platform, PlatformServicer(platform, admin)), PLATFORM_SERVICE),
            (
                partial(
                    add_admin,
                    AdminServicer(admin, harvest, recent_days_default=DEFAULT_RECENT_DAYS),
                ),
                ADMIN_SERVICE,
            ),
            outbox_registration(DeadLetters(sessions, OUTBOX)),
        ],
        readiness_check=lambda: _ready(),
        access=ACCESS,
        cleanups=[engine.dispose],
    )
    # The service's log lines would otherwise land in the captured stdout the tests read.
    with structlog.testing.capture_logs():
        async with serving(service) as addr:
            yield Service(addr=addr, sessions=sessions)
    await nowhere.close(None)


async def _ready() -> bool:
    return True


@pytest.fixture
def assessments_addr(service: Service) -> str:
    return service.addr


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


async def _send_test(addr: str, partner_key: str, test_id: str, n: int) -> str:
    """Greenhouse's send_test, over the partner API, so there is an invitation to see;
    returns its id."""
    async with channel(addr, Identity.GATEWAY) as gateway:
        response = await pb_grpc.PartnerServiceStub(gateway).SendTest(
            pb.SendTestRequest(
                partner_key=partner_key,
                partner_test_id=test_id,
                candidate=pb.SendTestCandidate(
                    first_name="Ada",
                    last_name="Lovelace",
                    email="ada@example.com",
                    greenhouse_profile_url=(
                        f"https://app.greenhouse.io/people/{n}?application_id={n + 1}"
                    ),
                ),
                url=f"https://app.greenhouse.io/callback/{n}",
            ),
            timeout=5,
        )
    return str(response.partner_interview_id)


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

    assert first.out.splitlines()[0].split() == [
        *("ID", "STATUS", "TEST", "SCORE", "CREATED", "EXPIRES"),
    ]
    assert first.out.splitlines()[1].split()[1:4] == ["sent", "Python", "-"]
    assert "--page-token" not in second.out
    assert invitation_id not in first.out
    assert _field(shown.out, "status") == "sent"
    assert _field(shown.out, "test") == f"Python ({test_id})"
    assert _field(shown.out, "callback url").startswith("https://app.greenhouse.io/callback/")
    assert _field(shown.out, "manual evaluation") == "no"
    for unset in ("started", "submitted", "completed", "score", "skill scores", "evaluator"):
        assert f"{unset}:" not in shown.out
    assert shown.out.splitlines()[-1].split()[1] == "sent"


async def _platform(addr: str, rpc: str, request: Any) -> None:
    """One of the assessment platform's calls, as the platform makes it."""
    async with channel(addr, Identity.PLATFORM) as platform:
        await getattr(pb_grpc.PlatformServiceStub(platform), rpc)(request, timeout=5)


async def test_invitation_show_and_list_display_progress_and_results(
    cli: Cli, assessments_addr: str
) -> None:
    await _ok(cli, "org", "create", "Acme")
    secret = (await _ok(cli, "--json", "key", "issue", "--org", "Acme")).json()["secret"]
    created = await _ok(
        cli, "--json", "test", "create", "--org", "Acme", "--name", "Data", "--manual-evaluation"
    )
    invitation_id = await _send_test(assessments_addr, secret, created.json()["test"]["id"], 1)
    skills = [pb.SkillScore(skill="SQL", score=90), pb.SkillScore(skill="Python", score=72.5)]
    await _platform(
        assessments_addr,
        "SubmitAssessment",
        pb.SubmitAssessmentRequest(
            idempotency_key="submit-1",
            invitation_id=invitation_id,
            score=81.25,
            skill_scores=skills,
        ),
    )
    show = ("invitation", "show", "--org", "Acme", invitation_id)

    submitted = await _ok(cli, *show)
    await _platform(
        assessments_addr,
        "RecordEvaluation",
        pb.RecordEvaluationRequest(
            idempotency_key="evaluate-1",
            invitation_id=invitation_id,
            score=84,
            evaluator="Grace Hopper",
        ),
    )
    completed = await _ok(cli, *show)
    as_json = (await _ok(cli, "--json", *show)).json()["invitation"]
    listed = await _ok(cli, "invitation", "list", "--org", "Acme")

    assert _field(submitted.out, "status") == "awaiting_evaluation"
    assert _field(submitted.out, "manual evaluation") == "yes"
    assert _field(submitted.out, "score") == "81.25"
    assert _field(submitted.out, "skill scores") == "SQL 90, Python 72.5"
    submit_time = _utc(_field(submitted.out, "submitted"))
    assert abs(submit_time - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    # Submitting without starting first counts as starting then.
    assert _field(submitted.out, "started") == _field(submitted.out, "submitted")
    assert "completed:" not in submitted.out
    assert "evaluator:" not in submitted.out

    assert _field(completed.out, "status") == "complete"
    assert _field(completed.out, "score") == "84"
    assert _field(completed.out, "skill scores") == "SQL 90, Python 72.5"
    assert _field(completed.out, "evaluator") == "Grace Hopper"
    assert _utc(_field(completed.out, "completed")) >= submit_time
    events = completed.out.split("Events:\n")[1].splitlines()
    assert [event.split()[1] for event in events] == ["sent", "submitted", "evaluated", "completed"]

    assert as_json["score"] == 84
    assert as_json["skill_scores"] == [
        {"skill": "SQL", "score": 90},
        {"skill": "Python", "score": 72.5},
    ]
    assert as_json["evaluator"] == "Grace Hopper"
    assert as_json["needs_manual_evaluation"] is True
    assert as_json["status"] == "INVITATION_STATUS_COMPLETE"
    assert listed.out.splitlines()[1].split()[1:4] == ["complete", "Data", "84"]


# --- the outbox ----------------------------------------------------------------------

CALLBACK = "greenhouse.callback"
EMAIL = "invitation.email"


async def _dead_letter(
    service: Service, kind: str, payload: dict[str, Any], error: str = "Greenhouse answered 404"
) -> str:
    """Queues a message and makes it a dead letter, as the relay does when it gives up;
    returns its id."""
    async with service.sessions.begin() as session:
        await enqueue(session, OUTBOX, kind, payload)
        message_id = (
            await session.execute(
                text("SELECT id FROM outbox_message ORDER BY created_at DESC, rowid DESC LIMIT 1")
            )
        ).scalar_one()
        await session.execute(
            text(
                "UPDATE outbox_message SET status = 'dead', attempts = 10, last_error = :error"
                " WHERE id = :id"
            ),
            {"error": error, "id": message_id},
        )
    return str(message_id)


async def _status_of(service: Service, message_id: str) -> tuple[str, int]:
    async with service.sessions.begin() as session:
        row = (
            await session.execute(
                text("SELECT status, attempts FROM outbox_message WHERE id = :id"),
                {"id": message_id},
            )
        ).one()
    return str(row.status), int(row.attempts)


async def test_outbox_dead_letters_lists_them_with_their_invitation_and_error(
    cli: Cli, service: Service
) -> None:
    callback = await _dead_letter(service, CALLBACK, {"invitation_id": "abc"})
    long_error = "SMTP said: " + "mailbox unavailable " * 10
    email = await _dead_letter(service, EMAIL, {"purpose": "invitation"}, error=long_error)

    lines = (await _ok(cli, "outbox", "dead-letters")).out.splitlines()
    as_json = (await _ok(cli, "outbox", "dead-letters", "--json")).json()["dead_letters"]

    assert lines[0].split() == [
        *("ID", "KIND", "ATTEMPTS", "UPDATED", "INVITATION", "LAST", "ERROR"),
    ]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert set(rows) == {callback, email}
    assert rows[callback].split()[1:3] == [CALLBACK, "10"]
    assert rows[callback].split()[4] == "abc"
    assert rows[callback].endswith("Greenhouse answered 404")
    assert rows[email].split()[4] == "-"
    assert rows[email].endswith("...")
    assert long_error.strip() not in rows[email]
    updated = _utc(rows[callback].split()[3])
    assert abs(updated - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)

    by_id = {letter["id"]: letter for letter in as_json}
    assert by_id[callback]["kind"] == CALLBACK
    assert by_id[callback]["payload"] == {"invitation_id": "abc"}
    assert by_id[callback]["attempts"] == 10
    assert by_id[callback]["last_error"] == "Greenhouse answered 404"
    assert by_id[email]["last_error"] == long_error


async def test_outbox_dead_letters_filters_by_kind_and_says_when_there_are_none(
    cli: Cli, service: Service
) -> None:
    empty = await _ok(cli, "outbox", "dead-letters")
    callback = await _dead_letter(service, CALLBACK, {"invitation_id": "abc"})
    email = await _dead_letter(service, EMAIL, {"invitation_id": "abc"})

    callbacks = (await _ok(cli, "outbox", "dead-letters", "--kind", CALLBACK)).out
    other = await _ok(cli, "outbox", "dead-letters", "--kind", "harvest.write")
    limited = (await _ok(cli, "outbox", "dead-letters", "--limit", "1")).out

    assert empty.out == "No dead letters.\n"
    assert callback in callbacks
    assert email not in callbacks
    assert other.out == "No dead letters of kind 'harvest.write'.\n"
    assert len([line for line in limited.splitlines() if line.startswith((callback, email))]) == 1
    assert "--limit" in limited


async def test_outbox_replay_queues_the_dead_letter_again(cli: Cli, service: Service) -> None:
    replayed_id = await _dead_letter(service, CALLBACK, {"invitation_id": "abc"})
    kept_id = await _dead_letter(service, CALLBACK, {"invitation_id": "def"})

    result = await _ok(cli, "outbox", "replay", replayed_id)
    listed = (await _ok(cli, "outbox", "dead-letters")).out

    assert result.out == "1 dead letter queued again.\n"
    assert await _status_of(service, replayed_id) == ("pending", 0)
    assert await _status_of(service, kept_id) == ("dead", 10)
    assert replayed_id not in listed
    assert kept_id in listed


async def test_outbox_replay_says_which_ids_were_not_dead_letters(
    cli: Cli, service: Service
) -> None:
    dead = await _dead_letter(service, CALLBACK, {"invitation_id": "abc"})

    partly = await _ok(cli, "outbox", "replay", dead, "no-such-id")
    again = await cli("outbox", "replay", dead)
    unknown = await cli("outbox", "replay", "no-such-id", "--json")

    assert partly.out.splitlines() == [
        "1 dead letter queued again.",
        "1 of the 2 ids were not dead letters (unknown, or already replayed).",
    ]
    for failed in (again, unknown):
        assert failed.code == 1
        assert failed.out == ""
    assert again.err.startswith("alooba-gh: none of the ids is a dead letter")
    # With --json the error is JSON too.
    assert json.loads(unknown.err)["error"]["message"].startswith(
        "none of the ids is a dead letter"
    )


async def test_outbox_replay_all_replays_every_dead_letter_or_every_one_of_a_kind(
    cli: Cli, service: Service
) -> None:
    callbacks = [await _dead_letter(service, CALLBACK, {"invitation_id": n}) for n in "ab"]
    email = await _dead_letter(service, EMAIL, {"invitation_id": "c"})

    of_kind = await _ok(cli, "outbox", "replay", "--all", "--kind", CALLBACK)
    after_kind = [await _status_of(service, message_id) for message_id in (*callbacks, email)]
    rest = (await _ok(cli, "outbox", "replay", "--all", "--json")).json()
    nothing_left = await _ok(cli, "outbox", "replay", "--all")

    assert of_kind.out == f"2 dead letters queued again ({CALLBACK} 2).\n"
    assert after_kind == [("pending", 0), ("pending", 0), ("dead", 10)]
    assert rest == {"replayed": 1}
    assert await _status_of(service, email) == ("pending", 0)
    assert nothing_left.out == "No dead letters.\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["outbox", "replay"], "give the IDs of the dead letters to replay, or --all"),
        (["outbox", "replay", "--all", "some-id"], "give either IDs or --all, not both"),
        (["outbox", "replay", "--kind", CALLBACK, "some-id"], "--kind goes with --all"),
        (["outbox", "dead-letters", "--limit", "1001"], "--limit is at most 1000"),
    ],
)
def test_outbox_arguments_that_do_not_fit_together_are_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(argv)

    assert code == 2
    assert message in capsys.readouterr().err


async def test_outbox_commands_use_service_addr_then_outbox_addr_then_assessments_addr(
    service: Service, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    await _dead_letter(service, CALLBACK, {"invitation_id": "abc"})
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"127.0.0.1:{probe.getsockname()[1]}"

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["--timeout", "3", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    monkeypatch.delenv("OUTBOX_ADDR", raising=False)
    by_option = await asyncio.to_thread(
        run, "--assessments-addr", closed, "outbox", "dead-letters", "--service-addr", service.addr
    )
    by_assessments = await asyncio.to_thread(
        run, "--assessments-addr", service.addr, "outbox", "dead-letters"
    )
    monkeypatch.setenv("OUTBOX_ADDR", closed)
    by_environment = await asyncio.to_thread(
        run, "--assessments-addr", service.addr, "outbox", "dead-letters"
    )

    assert by_option[0] == 0, by_option[2]
    assert CALLBACK in by_option[1]
    assert by_assessments[0] == 0, by_assessments[2]
    assert CALLBACK in by_assessments[1]
    assert by_environment[0] == 1
    assert by_environment[2].startswith(f"alooba-gh: UNAVAILABLE: the service at {closed} ")


async def test_outbox_against_a_service_without_an_outbox_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    server = grpc.aio.server()
    port = server.add_secure_port(
        "127.0.0.1:0", server_credentials(certificate(Identity.CANDIDATES))
    )
    await server.start()
    try:
        code = await asyncio.to_thread(
            main,
            ["--timeout", "3", "outbox", "dead-letters", "--service-addr", f"127.0.0.1:{port}"],
        )
    finally:
        await server.stop(None)

    assert code == 1
    assert capsys.readouterr().err.startswith(
        f"alooba-gh: UNIMPLEMENTED: the service at 127.0.0.1:{port} does not serve this API"
    )


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
    assert result.err.startswith("alooba-gh: ALREADY_EXISTS: ")
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


async def test_an_out_of_range_grace_is_invalid_argument_never_internal(cli: Cli) -> None:
    # Finding 4g: `--grace 99999999999999d` gave INTERNAL.
    await _ok(cli, "org", "create", "Acme")
    await _ok(cli, "key", "issue", "--org", "Acme")

    for grace in ("99999999999999d", "31d"):
        result = await cli("key", "rotate", "--org", "Acme", "--grace", grace)

        assert result.code == 1, result
        assert result.err.startswith("alooba-gh: INVALID_ARGUMENT: ")
        assert "30 days" in result.err


async def test_a_grace_too_long_to_send_is_a_usage_error(cli: Cli) -> None:
    result = await cli("key", "rotate", "--org", "Acme", "--grace", "99999999999999999999d")

    assert result.code == 2
    assert "is too long" in result.err
    assert "Traceback" not in result.err


# --- terminal safety (finding 4h) ----------------------------------------------------

# What an organization created before names were checked (or any other stored text)
# might hold: ANSI colour and screen-clearing sequences, a C1 CSI, a carriage return that
# overwrites the line, and a right-to-left override that reorders what follows.
HOSTILE_NAME = "Acme\x1b[31m Red\x1b[2J\x9b0m\rEvil\u202eCorp"
TERMINAL_CONTROLS = ("\x1b", "\x9b", "\r", "\u202e")


async def _hostile_organization(service: Service) -> str:
    from assessments.store.models import Organization

    organization = Organization(id="f" * 32, name=HOSTILE_NAME, created_at=dt.datetime.now(dt.UTC))
    async with service.sessions.begin() as session:
        session.add(organization)
    return organization.id


@pytest.mark.parametrize("command", [("org", "list"), ("org", "show", "--id", "f" * 32)])
async def test_terminal_control_characters_in_names_are_printed_escaped(
    cli: Cli, service: Service, command: tuple[str, ...]
) -> None:
    await _hostile_organization(service)

    result = await _ok(cli, *command)

    assert not any(control in result.out for control in TERMINAL_CONTROLS)
    assert "Acme\\u001b[31m Red" in result.out


async def test_json_output_stays_valid_json_with_the_name_intact(
    cli: Cli, service: Service
) -> None:
    await _hostile_organization(service)

    result = await _ok(cli, "--json", "org", "show", "--id", "f" * 32)

    assert not any(control in result.out for control in TERMINAL_CONTROLS)
    assert result.json()["organization"]["name"] == HOSTILE_NAME


# --- what a newcomer reaches for first: --version, completion, JSON errors ---------

ALOOBA_GH = str(Path(sys.executable).with_name("alooba-gh"))


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == "alooba-gh 0.1.0\n"


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@pytest.mark.parametrize(
    ("typed", "offered"),
    [
        (["o"], ["org", "outbox"]),
        (["org", ""], ["--help", "create", "list", "show"]),
        (["--json", "invitation", "sh"], ["show"]),
        (["org", "create", "--js"], ["--json"]),
        (["candidate", "show", "--show"], ["--show-pii"]),
    ],
)
def test_bash_completion_offers_the_commands_and_options(
    typed: list[str], offered: list[str]
) -> None:
    words = " ".join(f"'{word}'" for word in ["alooba-gh", *typed])
    program = (
        f'eval "$("{ALOOBA_GH}" completion bash)"\n'
        f"COMP_WORDS=({words}); COMP_CWORD={len(typed)}; _alooba_gh\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    result = subprocess.run(
        ["bash", "-c", program], capture_output=True, text=True, timeout=30, check=True
    )
    assert result.stdout.split() == offered


def test_completion_needs_no_certificate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--tls-dir", "/nonexistent", "completion", "bash"]) == 0
    assert "complete -F _alooba_gh alooba-gh" in capsys.readouterr().out


async def test_with_json_a_service_error_is_json_naming_its_status(cli: Cli) -> None:
    await _ok(cli, "org", "create", "Acme")

    result = await cli("--json", "org", "create", "Acme")

    assert result.code == 1
    assert result.out == ""
    error = json.loads(result.err)["error"]
    assert error["code"] == "ALREADY_EXISTS"
    assert "already exists" in error["message"]


async def test_with_json_a_command_error_is_json(cli: Cli) -> None:
    result = await cli("test", "list", "--org", "Nobody", "--json")

    assert result.code == 1
    assert json.loads(result.err) == {
        "error": {"code": "NOT_FOUND", "message": "no organization named 'Nobody'"}
    }


def test_with_json_a_usage_error_is_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "org", "bogus"]) == 2
    error = json.loads(capsys.readouterr().err)["error"]
    assert error["code"] == "USAGE"
    assert "invalid choice: 'bogus'" in error["message"]


def test_with_json_a_missing_certificate_is_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "--tls-dir", "/nonexistent", "org", "list"]) == 2
    error = json.loads(capsys.readouterr().err)["error"]
    assert error["code"] == "NO_CERTIFICATE"
