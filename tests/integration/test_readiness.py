"""The database readiness check: reachable and migrated to this code's head, or not ready."""

from __future__ import annotations

from pathlib import Path

from alooba_common.config import DatabaseSettings
from alooba_common.db import create_engine
from alooba_common.migrations import database_readiness
from assessments.server import MIGRATIONS


async def is_ready(url: str) -> bool:
    engine = create_engine(DatabaseSettings(url=url))
    try:
        return await database_readiness(engine, MIGRATIONS)()
    finally:
        await engine.dispose()


async def test_migrated_database_is_ready(shared_databases: dict[str, str]) -> None:
    assert await is_ready(shared_databases["assessments"])


async def test_unreachable_postgresql_is_not_ready() -> None:
    assert not await is_ready("postgresql+asyncpg://postgres@127.0.0.1:1/x")


async def test_empty_unmigrated_sqlite_file_is_not_ready(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    assert not await is_ready(f"sqlite:///{path}")
