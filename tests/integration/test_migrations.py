"""Every service's migrations bring an empty database to head, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import importlib
from pathlib import Path

import pytest
from sqlalchemy import inspect
from support.databases import SERVICES, DatabaseServer

from alooba_common.config import DatabaseSettings
from alooba_common.db import create_engine
from alooba_common.migrations import current_revision, head_revision, upgrade_to_head

EXPECTED_TABLES = {
    "assessments": {
        "organization",
        "api_key",
        "test",
        "invitation",
        "invitation_event",
        "response_error_report",
    },
    "candidates": {"candidate", "application"},
    "harvest-sync": set(),
    "console": {
        "console_user",
        "membership",
        "console_session",
        "console_link",
        "audit_entry",
        "login_failure",
        "outbox_message",
    },
}


def migrations_of(service: str) -> Path:
    path: Path = importlib.import_module(f"{service.replace('-', '_')}.server").MIGRATIONS
    return path


async def schema_of(url: str) -> tuple[str | None, set[str]]:
    engine = create_engine(DatabaseSettings(url=url))
    try:
        revision = await current_revision(engine)
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        return revision, tables
    finally:
        await engine.dispose()


def assert_at_head(service: str, url: str) -> None:
    revision, tables = asyncio.run(schema_of(url))
    assert revision == head_revision(migrations_of(service))
    assert revision is not None
    assert EXPECTED_TABLES[service] <= tables


@pytest.mark.parametrize("service", SERVICES)
def test_upgrade_to_head_on_a_fresh_sqlite_file(service: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgrade_to_head(migrations_of(service), url)
    assert_at_head(service, url)


@pytest.mark.parametrize("service", SERVICES)
def test_upgrade_to_head_on_a_fresh_database_of_the_test_server(
    service: str, database_server: DatabaseServer
) -> None:
    """PostgreSQL when the suite runs against one (TEST_DATABASE_URL or Docker)."""
    url = database_server.create_database(f"migrate_{service}")
    upgrade_to_head(migrations_of(service), url)
    assert_at_head(service, url)


@pytest.mark.parametrize("service", SERVICES)
def test_upgrade_to_head_twice_changes_nothing(service: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    upgrade_to_head(migrations_of(service), url)
    upgrade_to_head(migrations_of(service), url)
    assert_at_head(service, url)
