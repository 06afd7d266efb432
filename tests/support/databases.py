"""Test databases on a real server.

TEST_DATABASE_URL (an admin URL to a PostgreSQL server, as CI sets it) is used first;
else a throwaway PostgreSQL from testcontainers when a Docker daemon answers; else SQLite
files. Each test session creates its own databases, one per service, and drops them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

SERVICES = ("assessments", "candidates", "harvest-sync", "console")


@dataclass
class DatabaseServer:
    kind: str  # "postgresql" or "sqlite"
    admin_url: str | None = None
    sqlite_dir: Path | None = None
    created: list[str] = field(default_factory=list)
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    @property
    def is_postgres(self) -> bool:
        return self.kind == "postgresql"

    def create_database(self, label: str) -> str:
        """A new, empty database; returns its URL."""
        name = f"alooba_test_{self.run_id}_{label.replace('-', '_')}_{len(self.created)}"
        if self.is_postgres:
            assert self.admin_url is not None
            asyncio.run(_admin(self.admin_url, f'CREATE DATABASE "{name}"'))
            self.created.append(name)
            return make_url(self.admin_url).set(database=name).render_as_string(False)
        assert self.sqlite_dir is not None
        self.created.append(name)
        return f"sqlite:///{self.sqlite_dir / name}.db"

    def drop_all(self) -> None:
        if not self.is_postgres or self.admin_url is None:
            return
        for name in self.created:
            asyncio.run(_admin(self.admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(admin_url: str, statement: str) -> None:
    url = make_url(admin_url).set(drivername="postgresql")
    connection = await asyncpg.connect(url.render_as_string(False))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def discover(sqlite_dir: Path) -> tuple[DatabaseServer, object | None]:
    """The server to test against, and a container to stop afterwards (if one was started)."""
    url = os.environ.get("TEST_DATABASE_URL", "").strip()
    if url:
        return DatabaseServer("postgresql", admin_url=url), None
    container = _try_testcontainers()
    if container is not None:
        admin = container.get_connection_url().replace("+psycopg2", "")
        return DatabaseServer("postgresql", admin_url=admin), container
    return DatabaseServer("sqlite", sqlite_dir=sqlite_dir), None


def _try_testcontainers() -> object | None:
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if host.startswith("unix://") and not Path(host.removeprefix("unix://")).exists():
        # No daemon to ask. (docker-py's failed attempt would also leave its socket
        # unclosed: a ResourceWarning, an error under filterwarnings = error.)
        return None
    try:
        import docker  # type: ignore[import-untyped]

        # Closed at once: an unclosed client leaves its socket to the garbage collector
        # (a ResourceWarning, an error under filterwarnings = error).
        with contextlib.closing(docker.from_env()) as client:
            client.ping()
    except Exception:
        return None
    from testcontainers.postgres import PostgresContainer

    container = PostgresContainer("postgres:16-alpine")
    container.start()
    return container
