"""Finding 4b: after candidate_anonymized, no file the system wrote still holds the
candidate's name, email or phone, and every file under var/ is its owner's alone.

The embedded defaults, exactly as `make run` has them: every database a SQLite file under
var/ (write-ahead log included) and the invitation email an `.eml` file in var/mail/. The
test reads every byte of every file under var/ before and after the erasure."""

from __future__ import annotations

import asyncio
import itertools
import stat
from pathlib import Path

import pytest
from support.processes import cli, wait_until

from alooba_dev.stack import Stack, free_ports
from greenhouse_emulator import webhooks
from greenhouse_emulator.emulator import GreenhouseEmulator
from greenhouse_emulator.models import Candidate

pytestmark = pytest.mark.e2e

_ids = itertools.count(880_000_001)


def _files_holding(var: Path, needles: list[str]) -> dict[str, list[str]]:
    """{file (relative to var/): the needles found in its bytes}."""
    found: dict[str, list[str]] = {}
    for path in sorted(var.rglob("*")):
        if not path.is_file():
            continue
        content = path.read_bytes()
        hits = [needle for needle in needles if needle.encode() in content]
        if hits:
            found[str(path.relative_to(var))] = hits
    return found


def _open_to_others(var: Path) -> list[str]:
    """Files and folders under var/ (and var/ itself) that group or others may use."""
    return [
        f"{path.relative_to(var.parent)} {stat.filemode(path.stat().st_mode)}"
        for path in [var, *sorted(var.rglob("*"))]
        if path.stat().st_mode & 0o077
    ]


async def test_no_file_under_var_holds_an_anonymized_candidates_pii(tmp_path: Path) -> None:
    var = tmp_path / "var"
    stack = Stack(var_dir=var, ports=free_ports())
    greenhouse = GreenhouseEmulator(f"{stack.gateway_url}/v1/greenhouse", "not-issued-yet")
    await greenhouse.start()
    stack.service_env = {
        "assessments": {
            "CALLBACK_HOST_ALLOWLIST": f"127.0.0.1:{greenhouse.port}",
            "OUTBOX_POLL_INTERVAL_SECONDS": "0.1",
        }
    }
    try:
        await asyncio.to_thread(stack.migrate)
        stack.start_all()
        await asyncio.to_thread(stack.wait_ready, timeout=60)
        organization = "Erasure Residue Org"
        await asyncio.to_thread(cli, stack, "org", "create", organization)
        issued = await asyncio.to_thread(cli, stack, "key", "issue", "--org", organization)
        greenhouse.api_key = issued["secret"]
        test = await asyncio.to_thread(
            cli, stack, "test", "create", "--org", organization, "--name", "Data Analyst"
        )
        number = next(_ids)
        person = Candidate(
            first_name=f"Xenophilius{number}",
            last_name=f"Lovegood{number}",
            email=f"xeno.{number}@quibbler.example",
            phone_number=f"+44 20 7946 {number % 10000:04d}",
            candidate_id=number,
            application_id=number + 1,
        )
        pii = [person.first_name, person.last_name, person.email, person.phone_number or ""]
        await greenhouse.send_test(test["test"]["id"], person)
        mail = var / "mail"
        await asyncio.to_thread(
            wait_until,
            lambda: any(person.email in p.read_text() for p in mail.glob("*.eml")),
            30,
            "the invitation email in var/mail",
        )
        before = _files_holding(var, pii)

        delivery = await greenhouse.send_webhook(
            webhooks.candidate_anonymized(person.candidate_id, ["full_name", "email_addresses"]),
            organisation=organization,
            retry=False,
        )
        assert delivery.delivered, delivery.attempts
        # The database is clean when the webhook is answered; the emails go right after,
        # when candidates' outbox has told assessments (CancelCandidateInvitations).
        assert not [name for name in _files_holding(var, pii) if name.startswith("candidates")]
        await asyncio.to_thread(
            wait_until, lambda: _files_holding(var, pii) == {}, 30, "the emails deleted"
        )
        after = _files_holding(var, pii)
        loose = _open_to_others(var)
    finally:
        await asyncio.to_thread(stack.stop_all)
        await greenhouse.stop()

    # The test can see PII where it is: the email and the candidates database held it.
    assert any(name.startswith("mail/") for name in before), before
    assert any(name.startswith("candidates.db") for name in before), before
    assert after == {}
    assert loose == []
