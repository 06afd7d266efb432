"""Alembic, shared by every service: the async env.py body and a programmatic upgrade.

Each service keeps its own `migrations/` folder (env.py calls `run_migrations`); the
services' `migrate` sub-command and the Kubernetes migration Job call `upgrade_to_head`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from alooba_common.db import UtcDateTime, async_url


def alembic_config(script_location: Path, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(script_location))
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    # Alembic's ini-style config interpolates %, which URL-encoded passwords contain.
    config.set_main_option(
        "sqlalchemy.url",
        async_url(database_url).render_as_string(hide_password=False).replace("%", "%%"),
    )
    return config


def upgrade_to_head(script_location: Path, database_url: str) -> None:
    """Applies every pending migration. Blocking: run it before the event loop starts."""
    command.upgrade(alembic_config(script_location, database_url), "head")


def head_revision(script_location: Path) -> str | None:
    return ScriptDirectory(str(script_location)).get_current_head()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


def _render_item(type_: str, obj: object, autogen_context: Any) -> str | Literal[False]:
    # Migrations must not import application code, so our column types are written out
    # as the plain SQLAlchemy types they store.
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations(config: Config, target_metadata: MetaData, *, offline: bool) -> None:
    """The body of every service's migrations/env.py."""
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("sqlalchemy.url is not set; use `python -m <service> migrate`")
    if offline:
        from alembic import context

        context.configure(url=url, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    asyncio.run(_run_online(url, target_metadata))


async def _run_online(url: str, target_metadata: MetaData) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_migrate, target_metadata)
            await connection.commit()
    finally:
        await engine.dispose()


def _migrate(connection: Connection, target_metadata: MetaData) -> None:
    from alembic import context

    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds tables where needed.
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def database_readiness(
    engine: AsyncEngine, script_location: Path, *, timeout: float = 2.0
) -> Callable[[], Awaitable[bool]]:
    """A readiness check: the database answers and its schema is at this code's head (or
    ahead of it, see schema_is_current).

    A service whose migrations have not run yet stays NOT_SERVING instead of failing
    requests one by one.
    """
    expected = head_revision(script_location)

    async def check() -> bool:
        try:
            async with asyncio.timeout(timeout):
                return schema_is_current(await current_revision(engine), expected)
        except Exception:
            # Unreachable, timed out or never migrated: all of them mean "not ready".
            return False

    return check


def schema_is_current(current: str | None, expected: str | None) -> bool:
    """True at this code's head, and also ahead of it: during a rolling deploy the new
    version's migration Job runs first, and the old pods must stay ready (migrations are
    written to be backward compatible). Revision ids are `<service>_<NNNN>`, so "ahead"
    is the same service with a higher number; another service's schema never passes."""
    if current is None or expected is None:
        return current == expected
    if current == expected:
        return True
    service, _, number = current.rpartition("_")
    expected_service, _, expected_number = expected.rpartition("_")
    return (
        service == expected_service
        and number.isdigit()
        and expected_number.isdigit()
        and int(number) > int(expected_number)
    )
