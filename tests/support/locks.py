"""Holding a table lock from the test, so requests pile up inside a service on purpose.

Used to keep RPCs deterministically in flight while a service receives SIGTERM.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from sqlalchemy.engine import make_url


@asynccontextmanager
async def table_locked(database_url: str, table: str) -> AsyncIterator[None]:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        # SQLite locks the whole database; the services take the write lock up front
        # (BEGIN IMMEDIATE) and wait for it, up to their busy timeout.
        connection = sqlite3.connect(url.database or "", isolation_level=None)
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            connection.execute("ROLLBACK")
            connection.close()
        return
    connection = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(False))
    transaction = connection.transaction()
    await transaction.start()
    try:
        await connection.execute(f'LOCK TABLE "{table}" IN ACCESS EXCLUSIVE MODE')
        yield
    finally:
        await transaction.rollback()
        await connection.close()
