"""Fresh databases on a PostgreSQL server for one run (one per service), dropped after."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url

SERVICES = ("assessments", "candidates", "harvest-sync")


async def _admin(admin_url: str, *statements: str) -> None:
    url = make_url(admin_url).set(drivername="postgresql")
    connection = await asyncpg.connect(url.render_as_string(False), timeout=10)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def fresh_databases(
    admin_url: str, prefix: str, services: Sequence[str] = SERVICES
) -> Iterator[dict[str, str]]:
    """{service: DATABASE_URL} of new, empty databases; dropped on exit (WITH (FORCE):
    a service killed mid-run may still hold a connection)."""
    run = uuid.uuid4().hex[:8]
    names = {service: f"{prefix}_{run}_{service.replace('-', '_')}" for service in services}
    created: list[str] = []
    try:
        for name in names.values():
            asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
            created.append(name)
        yield {
            service: make_url(admin_url).set(database=name).render_as_string(False)
            for service, name in names.items()
        }
    finally:
        for name in created:
            asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
