"""`alooba-gh candidate ...` against the real assessments service (which resolves --org)
and the real candidates service, both in-process on migrated SQLite databases.

Personal data must never reach the output unless --show-pii asks for it: every test of
`candidate show` checks each value the candidate was registered with."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import structlog
from google.protobuf import timestamp_pb2
from prometheus_client import CollectorRegistry
from support.inprocess import server_settings, serving
from support.tls import AsAllowedCaller, Channels

import assessments.config
import assessments.server
import candidates.api.access
import candidates.config
import candidates.server
from alooba.candidates.v1 import candidates_pb2 as pb
from alooba.candidates.v1 import candidates_pb2_grpc as pb_grpc
from alooba_cli.main import main
from alooba_common.config import DatabaseSettings, LoggingSettings
from alooba_common.migrations import upgrade_to_head
from alooba_common.outbox_metrics import OutboxMetrics
from alooba_common.secrets import generate_kek
from alooba_common.tls import Identity

# --- the services ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each service's database, migrated once; every test works on copies."""
    folder = tmp_path_factory.mktemp("candidate-cli")
    paths = {"assessments": folder / "assessments.db", "candidates": folder / "candidates.db"}
    upgrade_to_head(assessments.server.MIGRATIONS, f"sqlite:///{paths['assessments']}")
    upgrade_to_head(candidates.server.MIGRATIONS, f"sqlite:///{paths['candidates']}")
    return paths


@dataclass(frozen=True)
class Services:
    assessments_addr: str
    candidates_addr: str
    # For what a test sets up as Greenhouse and the assessment app would.
    candidates: pb_grpc.CandidatesServiceStub


@pytest.fixture
async def services(templates: dict[str, Path], tmp_path: Path) -> AsyncIterator[Services]:
    urls = {}
    for name, template in templates.items():
        copy = tmp_path / f"{name}.db"
        shutil.copyfile(template, copy)
        urls[name] = f"sqlite:///{copy}"
    logs = LoggingSettings(level="info", format="json")
    candidates_service = candidates.server.build_service(
        candidates.config.Settings(
            server=server_settings(Identity.CANDIDATES),
            database=DatabaseSettings(url=urls["candidates"]),
            logging=logs,
            # The assessments built below is not told of erasures here.
            relay_enabled=False,
        ),
        outbox_metrics=OutboxMetrics.create(CollectorRegistry()),
    )
    # The services' log lines would otherwise land in the captured stdout the tests read.
    with structlog.testing.capture_logs():
        async with serving(candidates_service) as candidates_addr:
            assessments_service = assessments.server.build_service(
                assessments.config.Settings(
                    server=server_settings(Identity.ASSESSMENTS),
                    database=DatabaseSettings(url=urls["assessments"]),
                    logging=logs,
                    key_encryption_key=generate_kek(),
                    candidates_addr=candidates_addr,
                    mail_dir=tempfile.mkdtemp(prefix="mail", dir=tmp_path),
                    relay_enabled=False,
                ),
                outbox_metrics=OutboxMetrics.create(CollectorRegistry()),
            )
            channels = Channels()
            try:
                async with serving(assessments_service) as assessments_addr:
                    yield Services(
                        assessments_addr=assessments_addr,
                        candidates_addr=candidates_addr,
                        candidates=AsAllowedCaller(  # type: ignore[arg-type]
                            pb_grpc.CandidatesServiceStub,
                            candidates.server.CANDIDATES_SERVICE,
                            candidates_addr,
                            candidates.api.access.ACCESS,
                            channels,
                        ),
                    )
            finally:
                await channels.close()


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


Cli = Callable[..., Awaitable[Result]]


@pytest.fixture
def cli(services: Services, capsys: pytest.CaptureFixture[str]) -> Cli:
    """Runs alooba-gh against the test services and returns its status and output."""

    async def run(*argv: str) -> Result:
        capsys.readouterr()
        # main() runs its own event loop, so it cannot share the servers': give it a thread.
        code = await asyncio.to_thread(
            main,
            [
                *("--assessments-addr", services.assessments_addr),
                *("--candidates-addr", services.candidates_addr),
                *("--timeout", "5", *argv),
            ],
        )
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


async def _ok(cli: Cli, *argv: str) -> Result:
    result = await cli(*argv)
    assert result.code == 0, result.err
    return result


def _field(out: str, key: str) -> str:
    """The value of the first `key:` in a key-value block."""
    for line in out.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() == key:
            return value.strip()
    raise AssertionError(f"no {key!r} in {out!r}")


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _closed_address() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


# --- a candidate, as Greenhouse's send_test and the assessment app leave one -------------

GREENHOUSE_ID = 4201
GREENHOUSE_APPLICATION_ID = 9001
CONTACT = pb.ContactDetails(
    first_name="Hermione",
    last_name="Granger",
    preferred_name="Mione",
    email="hermione@hogwarts.edu",
    phone_number="+44 20 7946 0958",
)
RESUME_URL = "https://files.example.org/resumes/granger-cv.pdf?signature=s3cr3t"
PROFILE_URL = (
    f"https://app.greenhouse.io/people/{GREENHOUSE_ID}?application_id={GREENHOUSE_APPLICATION_ID}"
)
SENT_BY = "minerva.mcgonagall@hogwarts.edu"
IP_ADDRESS = "203.0.113.77"
ANSWER = "Wingardium Leviosa, with a swish and a flick"
# Every personal value the candidate below is registered with.
PII = [
    CONTACT.first_name,
    CONTACT.last_name,
    CONTACT.preferred_name,
    CONTACT.email,
    "hogwarts",  # the email's domain, and sent_by's
    CONTACT.phone_number,
    "20 7946",  # part of the phone number (digits alone could occur in a random id)
    RESUME_URL,
    "files.example.org",
    PROFILE_URL,
    SENT_BY,
    "minerva",
    IP_ADDRESS,
    ANSWER,
    "Leviosa",
]


async def _organization(cli: Cli, name: str) -> str:
    return str((await _ok(cli, "--json", "org", "create", name)).json()["organization"]["id"])


async def _register(
    services: Services, organization_id: str, greenhouse_id: int = GREENHOUSE_ID
) -> str:
    """Registers the candidate with one application and two assessment data; their id."""
    registered = await services.candidates.RegisterApplication(
        pb.RegisterApplicationRequest(
            organization_id=organization_id,
            greenhouse_candidate_id=greenhouse_id,
            greenhouse_application_id=GREENHOUSE_APPLICATION_ID,
            contact=CONTACT,
            resume_url=RESUME_URL,
            profile_url=PROFILE_URL,
            sent_by=SENT_BY,
        ),
        timeout=5,
    )
    for n, (kind, value) in enumerate([("ip_address", IP_ADDRESS), ("answer", ANSWER)]):
        await services.candidates.RecordAssessmentData(
            pb.RecordAssessmentDataRequest(
                organization_id=organization_id,
                candidate_id=registered.candidate_id,
                invitation_id="inv-1",
                kind=kind,
                value=value,
                idempotency_key=f"datum-{n}",
            ),
            timeout=5,
        )
    return str(registered.candidate_id)


def _assert_no_pii(out: str) -> None:
    for value in PII:
        assert value not in out, f"{value!r} disclosed"


# --- candidate show ------------------------------------------------------------------


async def test_candidate_show_redacts_personal_data_by_default(
    cli: Cli, services: Services
) -> None:
    organization_id = await _organization(cli, "Acme")
    candidate_id = await _register(services, organization_id)

    shown = await _ok(cli, "candidate", "show", "--org", "Acme", candidate_id)

    _assert_no_pii(shown.out)
    assert _field(shown.out, "id") == candidate_id
    assert _field(shown.out, "organization") == organization_id
    assert _field(shown.out, "greenhouse candidate id") == str(GREENHOUSE_ID)
    assert _field(shown.out, "name") == "H******* G******"
    assert _field(shown.out, "preferred name") == "M****"
    assert _field(shown.out, "email") == "h*******@h*******.edu"
    assert _field(shown.out, "phone") == "+** ** **** *958"
    assert _field(shown.out, "status") == "active"
    assert _field(shown.out, "assessment data") == "2 (answer 1, ip_address 1)"
    assert "erased:" not in shown.out
    applications = shown.out.split("Applications:\n")[1]
    assert _field(applications, "greenhouse application id") == str(GREENHOUSE_APPLICATION_ID)
    assert _field(applications, "status") == "active"
    assert _field(applications, "status changed") == "-"
    assert _field(applications, "sent by") == "m*****************@h*******.edu"
    assert _field(applications, "resume url") == "[redacted]"
    assert _field(applications, "profile url") == "[redacted]"
    data = shown.out.split("Assessment data:\n")[1].splitlines()
    assert data[0].split() == ["CREATED", "KIND", "INVITATION", "VALUE"]
    assert sorted(line.split()[1:] for line in data[1:3]) == [
        ["answer", "inv-1", "[redacted]"],
        ["ip_address", "inv-1", "[redacted]"],
    ]
    assert shown.out.rstrip().endswith("Personal data is redacted: --show-pii shows it.")


async def test_candidate_show_json_redacts_personal_data_by_default(
    cli: Cli, services: Services
) -> None:
    organization_id = await _organization(cli, "Acme")
    candidate_id = await _register(services, organization_id)

    shown = await _ok(cli, "--json", "candidate", "show", "--org", "Acme", candidate_id)

    _assert_no_pii(shown.out)
    candidate = shown.json()["candidate"]
    assert candidate["id"] == candidate_id
    assert candidate["organization_id"] == organization_id
    assert candidate["greenhouse_candidate_id"] == str(GREENHOUSE_ID)  # int64: a string
    assert candidate["contact"] == {
        "first_name": "[redacted]",
        "last_name": "[redacted]",
        "preferred_name": "[redacted]",
        "email": "[redacted]",
        "phone_number": "[redacted]",
    }
    assert candidate["status"] == "HIRING_STATUS_ACTIVE"
    [application] = candidate["applications"]
    assert application["greenhouse_application_id"] == str(GREENHOUSE_APPLICATION_ID)
    assert application["resume_url"] == "[redacted]"
    assert application["profile_url"] == "[redacted]"
    assert application["sent_by"] == "[redacted]"
    assert application["status"] == "HIRING_STATUS_ACTIVE"
    data = sorted(candidate["assessment_data"], key=lambda datum: datum["kind"])
    assert [(d["kind"], d["invitation_id"], d["value"]) for d in data] == [
        ("answer", "inv-1", "[redacted]"),
        ("ip_address", "inv-1", "[redacted]"),
    ]


async def test_candidate_show_pii_shows_the_personal_data(cli: Cli, services: Services) -> None:
    organization_id = await _organization(cli, "Acme")
    candidate_id = await _register(services, organization_id)
    show = ("candidate", "show", "--org", "Acme", candidate_id, "--show-pii")

    text = await _ok(cli, *show)
    as_json = (await _ok(cli, "--json", *show)).json()["candidate"]

    assert _field(text.out, "name") == "Hermione Granger"
    assert _field(text.out, "preferred name") == "Mione"
    assert _field(text.out, "email") == CONTACT.email
    assert _field(text.out, "phone") == CONTACT.phone_number
    applications = text.out.split("Applications:\n")[1]
    assert _field(applications, "sent by") == SENT_BY
    assert _field(applications, "resume url") == RESUME_URL
    assert _field(applications, "profile url") == PROFILE_URL
    data = text.out.split("Assessment data:\n")[1]
    assert IP_ADDRESS in data
    assert ANSWER in data
    assert "redacted" not in text.out

    assert as_json["contact"]["first_name"] == "Hermione"
    assert as_json["contact"]["email"] == CONTACT.email
    assert as_json["applications"][0]["resume_url"] == RESUME_URL
    assert {d["value"] for d in as_json["assessment_data"]} == {IP_ADDRESS, ANSWER}


async def test_candidate_show_by_greenhouse_id_finds_the_same_candidate(
    cli: Cli, services: Services
) -> None:
    organization_id = await _organization(cli, "Acme")
    candidate_id = await _register(services, organization_id)

    by_id = await _ok(cli, "candidate", "show", "--org", "Acme", candidate_id)
    by_greenhouse = await _ok(
        cli, "candidate", "show", "--org", "Acme", "--greenhouse-id", str(GREENHOUSE_ID)
    )
    by_org_id = await _ok(
        cli, "candidate", "show", "--org-id", organization_id, "--greenhouse-id", "4201"
    )
    unknown = await cli("candidate", "show", "--org", "Acme", "--greenhouse-id", "999")

    _assert_no_pii(by_greenhouse.out)
    assert by_greenhouse.out == by_id.out
    assert by_org_id.out == by_id.out
    assert unknown.code == 1
    assert unknown.out == ""
    assert unknown.err == (
        "alooba-gh: NOT_FOUND: organization 'Acme' has no candidate "
        "with Greenhouse candidate id 999\n"
    )


async def test_another_organizations_candidate_is_not_found(cli: Cli, services: Services) -> None:
    await _organization(cli, "Acme")
    other = await _organization(cli, "Beta")
    candidate_id = await _register(services, other)

    by_id = await cli("candidate", "show", "--org", "Acme", candidate_id, "--show-pii")
    by_greenhouse = await cli(
        "--json", "candidate", "show", "--org", "Acme", "--greenhouse-id", str(GREENHOUSE_ID)
    )
    own = await _ok(cli, "candidate", "show", "--org", "Beta", candidate_id)

    assert by_id.code == 1
    assert by_id.out == ""
    assert by_id.err == (
        f"alooba-gh: NOT_FOUND: organization 'Acme' has no candidate {candidate_id!r}\n"
    )
    _assert_no_pii(by_id.err)
    assert by_greenhouse.code == 1
    assert by_greenhouse.out == ""
    assert "NOT_FOUND" in by_greenhouse.err
    assert _field(own.out, "id") == candidate_id


async def test_candidate_show_shows_each_applications_status_change(
    cli: Cli, services: Services
) -> None:
    organization_id = await _organization(cli, "Acme")
    candidate_id = await _register(services, organization_id)
    rejected_at = dt.datetime(2026, 11, 28, 20, 13, 12, tzinfo=dt.UTC)
    occur_time = timestamp_pb2.Timestamp()
    occur_time.FromDatetime(rejected_at)
    await services.candidates.ApplyStatusEvent(
        pb.ApplyStatusEventRequest(
            organization_id=organization_id,
            event_id="reject-1",
            action=pb.STATUS_ACTION_REJECT,
            greenhouse_candidate_id=GREENHOUSE_ID,
            greenhouse_application_id=GREENHOUSE_APPLICATION_ID,
            occur_time=occur_time,
        ),
        timeout=5,
    )

    shown = await _ok(cli, "candidate", "show", "--org", "Acme", candidate_id)

    assert _field(shown.out, "status") == "rejected"
    applications = shown.out.split("Applications:\n")[1]
    assert _field(applications, "status") == "rejected"
    assert _field(applications, "status changed") == "2026-11-28T20:13:12Z"


# --- erasures ------------------------------------------------------------------------


async def test_candidate_erasures_on_an_organization_with_none(cli: Cli) -> None:
    await _organization(cli, "Acme")

    text = await _ok(cli, "candidate", "erasures", "--org", "Acme")
    as_json = (await _ok(cli, "candidate", "erasures", "--org", "Acme", "--json")).json()

    assert text.out == "No erasure receipts.\n"
    assert as_json == {"receipts": []}


async def test_an_erased_candidate_has_a_receipt_and_no_personal_data(
    cli: Cli, services: Services
) -> None:
    organization_id = await _organization(cli, "Acme")
    await _organization(cli, "Beta")
    candidate_id = await _register(services, organization_id)
    await services.candidates.EraseCandidate(
        pb.EraseCandidateRequest(
            organization_id=organization_id,
            event_id="gh-event-1",
            greenhouse_candidate_id=GREENHOUSE_ID,
            reason="candidate_anonymized",
            requested_fields=["full_name", "email_addresses"],
        ),
        timeout=5,
    )

    listed = await _ok(cli, "candidate", "erasures", "--org", "Acme")
    as_json = (await _ok(cli, "--json", "candidate", "erasures", "--org", "Acme")).json()
    limited = await _ok(cli, "candidate", "erasures", "--org", "Acme", "--limit", "1")
    others = await _ok(cli, "candidate", "erasures", "--org", "Beta")
    shown = await _ok(cli, "candidate", "show", "--org", "Acme", candidate_id, "--show-pii")

    lines = listed.out.splitlines()
    assert lines[0].split() == [
        *("ID", "CANDIDATE", "EVENT", "REASON", "ERASED", "APPLICATIONS", "DATA", "ITEMS"),
        "TIME",
    ]
    [row] = [line.split() for line in lines[1:]]
    assert row[1:7] == [
        candidate_id,
        "gh-event-1",
        "candidate_anonymized",
        "name,email,phone_number,resume_url,profile_url,sent_by,assessment_data",
        "1",
        "2",
    ]
    assert abs(_utc(row[7]) - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    _assert_no_pii(listed.out)

    [receipt] = as_json["receipts"]
    assert receipt["id"] == row[0]
    assert receipt["organization_id"] == organization_id
    assert receipt["candidate_id"] == candidate_id
    assert receipt["event_id"] == "gh-event-1"
    assert receipt["requested_fields"] == ["full_name", "email_addresses"]
    assert receipt["applications"] == 1
    assert receipt["assessment_data_items"] == 2
    assert _utc(receipt["erase_time"]).replace(microsecond=0) == _utc(row[7])

    assert "Only the 1 most recent are shown: --limit N shows more." in limited.out
    assert others.out == "No erasure receipts.\n"

    # Even --show-pii has nothing left to show.
    _assert_no_pii(shown.out)
    assert _utc(_field(shown.out, "erased")) == _utc(row[7])
    assert _field(shown.out, "email") == "-"
    assert _field(shown.out, "assessment data") == "none"
    applications = shown.out.split("Applications:\n")[1]
    assert _field(applications, "profile url") == "-"
    assert "resume url:" not in applications
    assert "sent by:" not in applications


# --- arguments, addresses and errors -------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["candidate", "show", "--org", "Acme"], "one of the arguments CANDIDATE_ID"),
        (
            ["candidate", "show", "--org", "Acme", "c1", "--greenhouse-id", "1"],
            "not allowed with argument CANDIDATE_ID",
        ),
        (["candidate", "show", "--org", "Acme", "--greenhouse-id", "0"], "must be at least 1"),
        (["candidate", "show", "--org", "Acme", ""], "CANDIDATE_ID must not be empty"),
        (["candidate", "erasures", "--org", "Acme", "--limit", "1001"], "at most 1000"),
        (["candidate", "erasures"], "one of the arguments --org --org-id is required"),
    ],
)
def test_candidate_arguments_that_do_not_fit_are_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--assessments-addr", _closed_address(), *argv])

    assert code == 2
    assert message in capsys.readouterr().err


async def test_unknown_organization_is_not_found_by_the_assessments_service(cli: Cli) -> None:
    result = await cli("candidate", "erasures", "--org", "Nobody")

    assert result.code == 1
    assert result.err == "alooba-gh: NOT_FOUND: no organization named 'Nobody'\n"


async def test_candidates_addr_comes_from_the_option_then_candidates_addr(
    services: Services, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = _closed_address()

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["--assessments-addr", services.assessments_addr, "--timeout", "3", *argv])
        out, err = capsys.readouterr()
        return code, out, err

    await asyncio.to_thread(run, "org", "create", "Acme")
    erasures = ("candidate", "erasures", "--org", "Acme")
    monkeypatch.setenv("CANDIDATES_ADDR", services.candidates_addr)
    by_environment = await asyncio.to_thread(run, *erasures)
    by_option_after = await asyncio.to_thread(run, *erasures, "--candidates-addr", closed)
    monkeypatch.setenv("CANDIDATES_ADDR", closed)
    by_option_before = await asyncio.to_thread(
        run, "--candidates-addr", services.candidates_addr, *erasures
    )
    unreachable = await asyncio.to_thread(run, *erasures)

    assert by_environment[:2] == (0, "No erasure receipts.\n"), by_environment[2]
    assert by_option_before[:2] == (0, "No erasure receipts.\n"), by_option_before[2]
    for failed in (by_option_after, unreachable):
        assert failed[0] == 1
        assert failed[2].startswith(
            f"alooba-gh: UNAVAILABLE: the candidates service at {closed} could not be reached"
        )
        assert "Traceback" not in failed[2]


async def test_org_id_needs_no_assessments_service(
    services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    organization_id = "0123456789abcdef0123456789abcdef"
    candidate_id = await _register(services, organization_id)

    code = await asyncio.to_thread(
        main,
        [
            *("--assessments-addr", _closed_address(), "--timeout", "3"),
            *("candidate", "show", "--org-id", organization_id, candidate_id),
            *("--candidates-addr", services.candidates_addr),
        ],
    )

    out, err = capsys.readouterr()
    assert code == 0, err
    assert _field(out, "id") == candidate_id
    _assert_no_pii(out)
