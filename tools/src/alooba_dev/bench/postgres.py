"""Fresh databases on a PostgreSQL server for one run (one per service), dropped after."""

from __future__ import annotations

import asyncio
import concurrent.futures
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import asyncpg  # type: ignore[import-untyped]
from sqlalchemy.engine import make_url

SERVICES = ("assessments", "candidates", "harvest-sync")


def _admin_blocking(admin_url: str, statement: str) -> None:
    """Runs in a thread of its own, so it works with or without a running event loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, _admin(admin_url, statement)).result()


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
            _admin_blocking(admin_url, f'CREATE DATABASE "{name}"')
            created.append(name)
        yield {
            service: make_url(admin_url).set(database=name).render_as_string(False)
            for service, name in names.items()
        }
    finally:
        for name in created:
            _admin_blocking(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
