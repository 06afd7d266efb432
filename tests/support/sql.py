"""Reading a whole database back, for tests that prove where data is (and is not)."""

from __future__ import annotations

from sqlalchemy import MetaData, select
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from alooba_common.db import async_url


async def dump_text(database_url: str) -> str:
    """Every value of every row of every table, as one string."""
    engine = create_async_engine(async_url(database_url), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            metadata = MetaData()
            await connection.run_sync(metadata.reflect)
            parts: list[str] = []
            for table in metadata.sorted_tables:
                for row in await connection.execute(select(table)):
                    parts.extend(str(value) for value in row)
            return "\n".join(parts)
    finally:
        await engine.dispose()


async def count_rows(database_url: str, table: str) -> int:
    engine = create_async_engine(async_url(database_url), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            metadata = MetaData()
            await connection.run_sync(metadata.reflect, only=[table])
            rows = await connection.execute(select(metadata.tables[table]))
            return len(rows.all())
    finally:
        await engine.dispose()
