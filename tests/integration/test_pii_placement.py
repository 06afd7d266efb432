"""Candidate PII is stored by the candidates service and nowhere else: not in the
assessments database, and not in any log line, even when a write fails."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from integration.helpers import Tenant, new_tenant, send_test
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from support.greenhouse import send_test_body
from support.inprocess import System, running_system
from support.sql import dump_text

from alooba_common.db import async_url


def distinctive_send_test(partner_test_id: str) -> tuple[dict[str, Any], list[str]]:
    """A send_test body whose every PII value is unique to this call, and those values."""
    marker = uuid.uuid4().hex
    body = send_test_body(
        partner_test_id,
        candidate_id=int(marker[:12], 16) % 10**15,
        first_name=f"Given{marker}",
        last_name=f"Family{marker}",
        email=f"person.{marker}@example.org",
        phone_number=f"+44 7700 {int(marker[:8], 16) % 10**6:06d} ext {marker[8:12]}",
    )
    candidate = body["candidate"]
    candidate["preferred_name"] = f"Preferred{marker}"
    candidate["resume_url"] = f"https://hogwarts.com/resumes/{marker}.pdf"
    pii = [
        candidate[field]
        for field in (
            "first_name",
            "last_name",
            "preferred_name",
            "email",
            "phone_number",
            "resume_url",
            "greenhouse_profile_url",
        )
    ]
    return body, pii


async def test_send_test_pii_is_in_candidates_and_not_in_assessments(
    system: System, tenant: Tenant
) -> None:
    body, pii = distinctive_send_test(tenant.test.id)
    reply = await send_test(system, tenant.key, body)
    assert reply.status == 200

    candidates_text = await dump_text(system.databases["candidates"])
    assessments_text = await dump_text(system.databases["assessments"])
    assert [value for value in pii if value not in candidates_text] == []
    assert [value for value in pii if value in assessments_text] == []


async def test_send_test_pii_never_reaches_the_logs(
    system: System,
    tenant: Tenant,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    body, pii = distinctive_send_test(tenant.test.id)
    assert (await send_test(system, tenant.key, body)).status == 200
    captured = capsys.readouterr()
    logged = captured.out + captured.err + caplog.text
    assert "invitation.created" in logged  # the services did log this call
    assert [value for value in pii if value in logged] == []


# An error that is not a constraint violation (which the service retries quietly): on
# SQLite, calling a function that does not exist; on PostgreSQL, a raised exception.
_REFUSE_SQLITE = (
    "CREATE TRIGGER refuse_candidates BEFORE INSERT ON candidate "
    "BEGIN SELECT refused_by_the_test(); END"
)
_REFUSE_POSTGRES = (
    "CREATE FUNCTION refuse_candidates() RETURNS trigger AS $$ "
    "BEGIN RAISE EXCEPTION 'refused_by_the_test'; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER refuse_candidates BEFORE INSERT ON candidate "
    "FOR EACH ROW EXECUTE FUNCTION refuse_candidates()",
)


async def _refuse_candidate_inserts(database_url: str) -> None:
    url = async_url(database_url)
    engine = create_async_engine(url, poolclass=NullPool)
    statements = (_REFUSE_SQLITE,) if url.get_backend_name() == "sqlite" else _REFUSE_POSTGRES
    try:
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture
def refusing_databases(new_databases: Callable[[], dict[str, str]]) -> dict[str, str]:
    """Fresh databases whose candidates database refuses every new candidate."""
    urls = new_databases()
    asyncio.run(_refuse_candidate_inserts(urls["candidates"]))
    return urls


async def test_send_test_pii_never_reaches_the_logs_when_the_database_refuses_it(
    refusing_databases: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with running_system(refusing_databases) as system:
        tenant = await new_tenant(system)
        body, pii = distinctive_send_test(tenant.test.id)
        reply = await send_test(system, tenant.key, body)
    assert reply.status == 503
    captured = capsys.readouterr()
    logged = captured.out + captured.err + caplog.text
    assert "refused_by_the_test" in logged  # the failure itself was logged
    assert [value for value in pii if value in logged] == []
