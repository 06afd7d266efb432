"""Async SQLAlchemy engines for PostgreSQL (production) and SQLite (embedded default)."""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from enum import StrEnum
from pathlib import Path
from typing import Any, Generic, TypeVar

import structlog
from prometheus_client import Counter
from sqlalchemy import DateTime, MetaData, String, event, exc
from sqlalchemy.engine import URL, Dialect, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.types import TypeDecorator

from alooba_common.config import DatabaseSettings

# Stable constraint names, so Alembic migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    return MetaData(naming_convention=NAMING_CONVENTION)


def new_id() -> str:
    """A new row id: a uuid4's 32 lower-case hex digits."""
    return uuid.uuid4().hex


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use alooba_common.db.utcnow()")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


E = TypeVar("E", bound=StrEnum)


class EnumText(TypeDecorator[E], Generic[E]):
    """A status column: the enum's value as text in the database (a plain VARCHAR, so the
    schema and its migrations stay as they are), the enum member in Python. A value that is
    not one of the enum's is refused on the way in and fails loudly on the way out."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:
        return None if value is None else self.enum(value)


def async_url(url: str) -> URL:
    """Normalises a database URL to the async driver this project uses for its backend."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return parsed.set(drivername="postgresql+asyncpg")
    if parsed.get_backend_name() == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    raise ValueError(f"unsupported database backend {parsed.get_backend_name()!r}")


def is_sqlite(engine_or_url: AsyncEngine | URL) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, AsyncEngine) else engine_or_url
    return url.get_backend_name() == "sqlite"


# A pooled connection idle longer than this is pinged before use. SQLAlchemy's
# pool_pre_ping pings every checkout, which with asyncpg is three round trips (BEGIN, ";",
# ROLLBACK) before each transaction: a third of a webhook's statements. A connection used
# a moment ago is as good as a ping's answer; and when one does turn out dead (the server
# restarted within that moment), the statement's disconnect error invalidates the whole
# pool, so only requests already in flight at the restart see it.
PING_AFTER_IDLE_SECONDS = 1.0
_LAST_USED = "alooba_last_used"


# Every statement sent to the database by every engine of the process, by kind: the
# driver's statements ("statement"), and the BEGIN / COMMIT / ROLLBACK that SQLAlchemy
# has the driver send outside of them. `make bench` reads it before and after a run to
# report statements (round trips) per request.
DB_STATEMENTS = Counter(
    "db_statements_total", "SQL statements sent to the database, by kind.", ["kind"]
)


def count_statements(engine: AsyncEngine) -> None:
    """Counts `engine`'s statements in DB_STATEMENTS."""
    statements = DB_STATEMENTS.labels("statement")
    # SQLite's BEGIN IMMEDIATE is a statement of its own (see _create_sqlite_engine).
    begins = None if is_sqlite(engine) else DB_STATEMENTS.labels("begin")
    commits, rollbacks = DB_STATEMENTS.labels("commit"), DB_STATEMENTS.labels("rollback")

    def transactional(connection: Any) -> bool:
        # An AUTOCOMMIT connection's begin and commit are no-ops at the driver.
        return bool(connection.get_execution_options().get("isolation_level") != "AUTOCOMMIT")

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def _on_execute(*_args: Any) -> None:
        statements.inc()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        if begins is not None and transactional(connection):
            begins.inc()

    @event.listens_for(engine.sync_engine, "commit")
    def _on_commit(connection: Any) -> None:
        if transactional(connection):
            commits.inc()

    @event.listens_for(engine.sync_engine, "rollback")
    def _on_rollback(connection: Any) -> None:
        if transactional(connection):
            rollbacks.inc()


def create_engine(settings: DatabaseSettings) -> AsyncEngine:
    url = async_url(settings.url)
    engine = (
        _create_sqlite_engine(url) if is_sqlite(url) else _create_postgresql_engine(url, settings)
    )
    count_statements(engine)
    return engine


def _create_postgresql_engine(url: URL, settings: DatabaseSettings) -> AsyncEngine:
    engine = create_async_engine(
        url,
        # SQL parameters are candidate data; an error must never print them into a log.
        hide_parameters=True,
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_timeout=settings.pool_timeout_seconds,
        pool_pre_ping=False,  # see PING_AFTER_IDLE_SECONDS
        pool_recycle=1800,
        connect_args={
            "server_settings": {"statement_timeout": str(settings.statement_timeout_ms)},
            "timeout": 5,
        },
    )
    _ping_idle_connections(engine)
    return engine


def _ping_idle_connections(engine: AsyncEngine) -> None:
    dialect = engine.sync_engine.dialect

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(_dbapi_connection: Any, record: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        if record is not None:
            record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        last_used = record.info.get(_LAST_USED)
        if last_used is not None and time.monotonic() - last_used < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            # The pool discards this connection and checks out another (a new one).
            raise exc.DisconnectionError("idle connection failed its ping") from error


def _create_sqlite_engine(url: URL) -> AsyncEngine:
    if url.database and url.database != ":memory:":
        _create_owner_only(Path(url.database))
    engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

    # SQLite's default deferred transactions fail with "database is locked" when two
    # writers race to upgrade a read lock, and busy_timeout does not help with that.
    # Taking the write lock up front (BEGIN IMMEDIATE) makes writers queue instead.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Deleted and overwritten content is zeroed in the file, not left in free space:
        # an erased candidate must not be readable from the database file afterwards.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _create_owner_only(database: Path) -> None:
    """The database file (and its folder) readable by its owner only. SQLite creates the
    -wal and -shm files with the database file's permissions, so they follow."""
    database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))


async def checkpoint_wal(engine: AsyncEngine) -> None:
    """On SQLite, copies the write-ahead log into the database file and truncates it to
    nothing: the log keeps the old version of every page written, personal data included,
    until then. A no-op on PostgreSQL."""
    if not is_sqlite(engine):
        return
    async with engine.connect() as connection:
        # On the driver's connection: SQLAlchemy would open a transaction first (BEGIN
        # IMMEDIATE, see _create_sqlite_engine), inside which SQLite refuses to checkpoint.
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        cursor = await driver.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        busy, _, _ = await cursor.fetchone()
        await cursor.close()
    if busy:
        # A reader held on past the busy timeout: the next erasure's checkpoint (or
        # SQLite's own, as the log grows) finishes the job.
        structlog.get_logger("alooba.db").warning("sqlite.checkpoint_incomplete")


def session_factory(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)


def read_session_factory(engine: AsyncEngine) -> async_sessionmaker[Any]:
    """Sessions for work that only reads (and takes no locks).

    On PostgreSQL each statement runs on its own (autocommit), which under READ
    COMMITTED sees exactly what it would inside a read-only transaction (every statement
    takes its own snapshot), minus two round trips: the BEGIN and the COMMIT. On SQLite
    these are ordinary sessions (its BEGIN costs no round trip)."""
    if is_sqlite(engine):
        return session_factory(engine)
    return async_sessionmaker(
        engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False
    )
