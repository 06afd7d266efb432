"""Finding 4e: an unknown X-Organisation must cost what a known one costs.

An unknown organization cost a database query every time, a known one a cache hit
(median 2.3 against 1.4 ms), which told an attacker which organizations exist. Negative
look-ups are cached like positive ones, and a signature is computed either way. Counted
here as SQL statements per check on the assessments service's real database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import event

from alooba_common.config import DatabaseSettings
from alooba_common.db import create_engine, session_factory
from alooba_common.errors import Unauthenticated
from alooba_common.secrets import SecretBox, generate_kek
from assessments.app.administration import Administration
from assessments.app.key_cache import KeyCache
from assessments.app.receipts import ReceiptTally
from assessments.app.webhooks import Webhooks

BODY = b'{"action":"reject_candidate","payload":{}}'
WRONG = "sha256 " + "00" * 32


@dataclass
class Counted:
    webhooks: Webhooks
    admin: Administration
    statements: list[str]


@pytest.fixture
async def counted(shared_databases: dict[str, str]) -> AsyncIterator[Counted]:
    engine = create_engine(DatabaseSettings(url=shared_databases["assessments"]))
    statements: list[str] = []

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE")):
            statements.append(statement)

    sessions = session_factory(engine)
    box = SecretBox.from_base64(generate_kek())
    cache = KeyCache()
    admin = Administration(
        sessions, box, default_expiry_days=7, key_rotation_grace_seconds=3600, key_cache=cache
    )
    try:
        # Receipts are tallied in memory (and written later, off the path), as in the service.
        webhooks = Webhooks(sessions, box, key_cache=cache, receipts=ReceiptTally(sessions))
        yield Counted(webhooks, admin, statements)
    finally:
        await engine.dispose()


async def _statements_per_check(counted: Counted, organization: str) -> list[int]:
    per_check = []
    for _ in range(3):
        before = len(counted.statements)
        with pytest.raises(Unauthenticated):
            await counted.webhooks.verify_signature(organization, WRONG, BODY)
        per_check.append(len(counted.statements) - before)
    return per_check


async def test_an_unknown_organization_is_looked_up_once_then_cached_like_a_known_one(
    counted: Counted,
) -> None:
    organization = await counted.admin.create_organization(f"Known {uuid.uuid4().hex}")
    await counted.admin.issue_key(organization.id)

    known = await _statements_per_check(counted, organization.name)
    unknown = await _statements_per_check(counted, f"Unknown {uuid.uuid4().hex}")

    assert known[1:] == [0, 0]
    assert unknown[1:] == [0, 0]
    assert unknown[0] >= 1


async def test_an_organization_created_after_a_miss_is_found_at_once(counted: Counted) -> None:
    name = f"Late {uuid.uuid4().hex}"
    assert not await counted.webhooks.organization_known(name)

    organization = await counted.admin.create_organization(name)
    await counted.admin.issue_key(organization.id)

    assert await counted.webhooks.organization_known(name)
