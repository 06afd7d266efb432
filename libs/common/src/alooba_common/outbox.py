"""Transactional outbox: side effects are written with the state change, delivered later.

A service calls `enqueue()` inside the same transaction that changes its state, so the
message exists if and only if the change does. An `OutboxRelay` then delivers messages
at least once: it claims a batch with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL,
so replicas never claim the same row; SQLite has one writer and runs one relay), hands
each to the handler for its kind, and records the outcome. Failures are retried with
exponential backoff and full jitter up to a bounded number of attempts, then the message
becomes a dead letter with its last error, until an operator replays it.

Payloads carry ids, never PII: handlers look data up at delivery time.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

import structlog
from sqlalchemy import (
    JSON,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from alooba_common.config import ConfigError, env_float, env_int
from alooba_common.db import EnumText, UtcDateTime, utcnow
from alooba_common.outbox_metrics import OutboxMetrics
from alooba_common.tracing import batch_trace, continued_trace, mark_error, with_trace_context

log = structlog.get_logger("alooba.outbox")


class OutboxStatus(StrEnum):
    """Where a message is: waiting (or being delivered), delivered, or given up on."""

    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


PENDING = OutboxStatus.PENDING
DELIVERED = OutboxStatus.DELIVERED
DEAD = OutboxStatus.DEAD


def outbox_table(metadata: MetaData) -> Table:
    """The outbox table, declared on a service's own metadata (so its migrations own it)."""
    return Table(
        "outbox_message",
        metadata,
        Column("id", String(32), primary_key=True),
        Column("kind", String(64), nullable=False),
        Column("payload", JSON, nullable=False),
        # Makes enqueueing idempotent: a second message with the same kind and key is
        # silently not added (for example, one Greenhouse callback per invitation).
        Column("dedupe_key", String(200), nullable=True),
        Column("status", EnumText(OutboxStatus, 16), nullable=False),
        Column("attempts", Integer, nullable=False, default=0),
        Column("available_at", UtcDateTime(), nullable=False),
        Column("claimed_until", UtcDateTime(), nullable=True),
        Column("claimed_by", String(64), nullable=True),
        Column("last_error", Text, nullable=True),
        Column("created_at", UtcDateTime(), nullable=False),
        Column("updated_at", UtcDateTime(), nullable=False),
        Column("delivered_at", UtcDateTime(), nullable=True),
        UniqueConstraint("kind", "dedupe_key"),
        Index("ix_outbox_message_status_available_at", "status", "available_at"),
    )


async def enqueue(
    session: AsyncSession,
    table: Table,
    kind: str,
    payload: Mapping[str, Any],
    *,
    dedupe_key: str | None = None,
    delay: dt.timedelta | None = None,
) -> None:
    """Adds a message in the caller's transaction. Commit it with the state change."""
    now = utcnow()
    values = {
        "id": uuid.uuid4().hex,
        "kind": kind,
        "payload": dict(with_trace_context(payload)),
        "dedupe_key": dedupe_key,
        "status": PENDING,
        "attempts": 0,
        "available_at": now + (delay or dt.timedelta()),
        "created_at": now,
        "updated_at": now,
    }
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    await session.execute(insert.values(**values).on_conflict_do_nothing())


# --- delivery outcomes a handler can signal -------------------------------------------


class RetryLater(Exception):
    """Deliver again after `after` seconds (say, a 429's Retry-After), counting an attempt.

    `spend_attempt=False` is for waits that are not failures of the delivery (the
    receiver's rate limit, or a setup step a person still has to take): the message
    keeps its attempt budget, so it cannot become a dead letter by waiting."""

    def __init__(
        self, reason: str, *, after: float | None = None, spend_attempt: bool = True
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after = after
        self.spend_attempt = spend_attempt


class PermanentFailure(Exception):
    """Retrying cannot help (a 404 from the receiver, say): dead-letter at once."""


# --- what is kept about a failure ---------------------------------------------------

# An email address anywhere in a reason: a receiver's answer may quote the recipient.
_EMAIL_ADDRESS = re.compile(r"[^\s<>()\[\]{}'\",;:]+@[^\s<>()\[\]{}'\",;:]+")
# "SomeError: whatever it said", as exceptions were written before they were redacted
# (our own reasons start in lower case, or with a word and a space).
_CLASS_PREFIX = re.compile(r"^([A-Z][A-Za-z0-9_.]*)(?::|$)")
MAX_REASON_LENGTH = 2000


def _scrubbed(reason: str) -> str:
    return _EMAIL_ADDRESS.sub("[redacted]", reason)[:MAX_REASON_LENGTH]


def failure_reason(error: BaseException) -> str:
    """What is stored (`last_error`) and logged about a failed delivery: never PII.

    RetryLater and PermanentFailure carry reasons our handlers composed from what they
    know to be safe (a status code, a class name); anything else is only its class and
    the numeric code it carries, if any, because its text may quote what the receiver
    said about the candidate (an SMTP server refusing "<ginny@hogwarts.edu>", say).
    Email addresses are scrubbed from every reason all the same."""
    if isinstance(error, RetryLater):
        return _scrubbed(error.reason)
    if isinstance(error, PermanentFailure):
        return _scrubbed(str(error))
    code = getattr(error, "code", None)
    if isinstance(code, int) and not isinstance(code, bool):
        return f"{type(error).__name__} (code {code})"
    return type(error).__name__


def redacted_stored_error(stored: str) -> str:
    """A `last_error` written before failures were redacted, made safe to keep: an
    exception's text is dropped (its class kept), our own reasons are kept scrubbed."""
    match = _CLASS_PREFIX.match(stored)
    if match is not None:
        return f"{match.group(1)} (details removed)"
    return _scrubbed(stored)


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: str
    kind: str
    payload: Mapping[str, Any]
    attempts: int
    created_at: dt.datetime


Handler = Callable[[OutboxMessage], Awaitable[None]]


@runtime_checkable
class BatchHandler(Protocol):
    """A handler that prepares for all the messages of its kind in a claimed batch before
    each is handed to it: say, fetching what they all need in one call and sending them
    over one connection. Preparing is an optimization only: when it fails, each message
    must still be deliverable (or fail) on its own."""

    async def __call__(self, message: OutboxMessage) -> None: ...

    def batch(
        self, messages: Sequence[OutboxMessage]
    ) -> contextlib.AbstractAsyncContextManager[None]: ...


@dataclass(frozen=True, slots=True)
class RelaySettings:
    batch_size: int = 20
    concurrency: int = 10
    # A claimed message is someone else's for this long; it must exceed any handler's
    # own timeout, or a slow delivery could be claimed (and made) twice.
    lease_seconds: float = 60.0
    max_attempts: int = 12
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 600.0
    poll_interval_seconds: float = 0.5
    stats_interval_seconds: float = 5.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> RelaySettings:
        """The OUTBOX_* variables every service with an outbox reads."""
        settings = cls(
            batch_size=env_int(environ, "OUTBOX_BATCH_SIZE", 20),
            concurrency=env_int(environ, "OUTBOX_CONCURRENCY", 10),
            lease_seconds=env_float(environ, "OUTBOX_LEASE_SECONDS", 60.0),
            max_attempts=env_int(environ, "OUTBOX_MAX_ATTEMPTS", 12),
            base_delay_seconds=env_float(environ, "OUTBOX_BASE_DELAY_SECONDS", 1.0),
            max_delay_seconds=env_float(environ, "OUTBOX_MAX_DELAY_SECONDS", 600.0),
            poll_interval_seconds=env_float(environ, "OUTBOX_POLL_INTERVAL_SECONDS", 0.5),
            stats_interval_seconds=env_float(environ, "OUTBOX_STATS_INTERVAL_SECONDS", 5.0),
        )
        if settings.max_attempts < 1 or settings.batch_size < 1 or settings.concurrency < 1:
            raise ConfigError(
                "OUTBOX_MAX_ATTEMPTS, OUTBOX_BATCH_SIZE, OUTBOX_CONCURRENCY must be >= 1"
            )
        return settings


def backoff_delay(attempts: int, settings: RelaySettings, rng: random.Random) -> float:
    """Exponential backoff with full jitter (AWS architecture blog's recommendation)."""
    # The exponent is capped: the attempt budget is unbounded and 2.0 ** 1024 overflows.
    exponent = min(attempts - 1, 64)
    ceiling = min(settings.max_delay_seconds, settings.base_delay_seconds * 2**exponent)
    return rng.uniform(ceiling / 2, ceiling)


class OutboxRelay:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        table: Table,
        handlers: Mapping[str, Handler],
        *,
        settings: RelaySettings,
        metrics: OutboxMetrics,
        replica_id: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._sessions = sessions
        self._table = table
        self._handlers = dict(handlers)
        self._settings = settings
        self._metrics = metrics
        self._replica = replica_id or uuid.uuid4().hex[:12]
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Tells the relay new messages were committed, so it need not wait for its poll."""
        self._wake.set()

    async def run(self, stopping: asyncio.Event) -> None:
        """Delivers until `stopping` is set, then returns between batches.

        Stopping at a safe point, not by cancellation: cancelling a task in the middle of
        a SQLite transaction can leave aiosqlite's connection unable to close, and the
        process unable to exit."""
        stats = asyncio.create_task(self._report_stats_forever(stopping))
        # Stop wakes the relay out of its poll wait: without this, every stop waited up
        # to a full poll interval (a second of every in-process test's teardown).
        waker = asyncio.create_task(self._wake_on(stopping))
        try:
            while not stopping.is_set():
                try:
                    delivered = await self.run_once()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    # The database may be briefly unreachable; keep going.
                    log.exception("outbox.relay_error")
                    delivered = 0
                if delivered == 0 and not stopping.is_set():
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(
                            self._wake.wait(), self._settings.poll_interval_seconds
                        )
        finally:
            self._wake.set()
            waker.cancel()
            await stats

    async def _wake_on(self, stopping: asyncio.Event) -> None:
        await stopping.wait()
        self._wake.set()

    async def run_once(self) -> int:
        """Claims and delivers one batch; returns how many messages it handled."""
        batch = await self._claim()
        if not batch:
            return 0
        semaphore = asyncio.Semaphore(self._settings.concurrency)

        async def deliver(message: OutboxMessage) -> None:
            async with semaphore:
                with continued_trace(message.payload, message.kind, message.id):
                    await self._deliver(message)

        async def deliver_kind(kind: str, messages: list[OutboxMessage]) -> None:
            handler = self._handlers.get(kind)
            prepare = handler.batch if isinstance(handler, BatchHandler) else None
            if prepare is None:
                await asyncio.gather(*(deliver(message) for message in messages))
                return
            # Each message is still delivered, and its outcome recorded, on its own; what
            # the handler does once for all of them is traced in a span linked to each.
            with batch_trace([message.payload for message in messages], kind):
                async with prepare(messages):
                    await asyncio.gather(*(deliver(message) for message in messages))

        kinds: dict[str, list[OutboxMessage]] = {}
        for message in batch:
            kinds.setdefault(message.kind, []).append(message)
        await asyncio.gather(*(deliver_kind(kind, messages) for kind, messages in kinds.items()))
        return len(batch)

    async def _claim(self) -> list[OutboxMessage]:
        table = self._table
        now = utcnow()
        claimable = (
            select(table.c.id)
            .where(
                table.c.status == PENDING,
                table.c.available_at <= now,
                (table.c.claimed_until.is_(None)) | (table.c.claimed_until < now),
            )
            .order_by(table.c.available_at)
            .limit(self._settings.batch_size)
        )
        async with self._sessions.begin() as session:
            if session.get_bind().dialect.name == "postgresql":
                claimable = claimable.with_for_update(skip_locked=True)
            ids = list((await session.execute(claimable)).scalars())
            if not ids:
                return []
            rows = await session.execute(
                update(table)
                .where(table.c.id.in_(ids))
                .values(
                    claimed_until=now + dt.timedelta(seconds=self._settings.lease_seconds),
                    claimed_by=self._replica,
                    updated_at=now,
                )
                .returning(
                    table.c.id,
                    table.c.kind,
                    table.c.payload,
                    table.c.attempts,
                    table.c.created_at,
                )
            )
            return [
                OutboxMessage(
                    id=row.id,
                    kind=row.kind,
                    payload=row.payload,
                    attempts=row.attempts,
                    created_at=row.created_at,
                )
                for row in rows
            ]

    async def _deliver(self, message: OutboxMessage) -> None:
        structlog.contextvars.bind_contextvars(outbox_message_id=message.id, kind=message.kind)
        handler = self._handlers.get(message.kind)
        attempts = message.attempts + 1
        try:
            if handler is None:
                raise PermanentFailure(f"no handler for kind {message.kind!r}")
            await handler(message)
        except PermanentFailure as failure:
            await self._dead(message, attempts, failure_reason(failure))
        except RetryLater as retry:
            spent = attempts if retry.spend_attempt else message.attempts
            await self._retry(message, spent, failure_reason(retry), retry.after)
        except Exception as error:
            await self._retry(message, attempts, failure_reason(error), None)
        else:
            await self._finish(message.id, status=DELIVERED, attempts=attempts, error=None)
            self._metrics.deliveries.labels(message.kind, "delivered").inc()
            log.info("outbox.delivered", attempts=attempts)
        finally:
            structlog.contextvars.unbind_contextvars("outbox_message_id", "kind")

    async def _retry(
        self, message: OutboxMessage, attempts: int, error: str, after: float | None
    ) -> None:
        if attempts >= self._settings.max_attempts:
            await self._dead(message, attempts, error)
            return
        delay = after if after is not None else backoff_delay(attempts, self._settings, self._rng)
        await self._finish(
            message.id,
            status=PENDING,
            attempts=attempts,
            error=error,
            available_at=utcnow() + dt.timedelta(seconds=delay),
        )
        self._metrics.deliveries.labels(message.kind, "retry").inc()
        mark_error(error)
        log.warning(
            "outbox.retry", attempts=attempts, retry_in_seconds=round(delay, 2), error=error
        )

    async def _dead(self, message: OutboxMessage, attempts: int, error: str) -> None:
        await self._finish(message.id, status=DEAD, attempts=attempts, error=error)
        self._metrics.deliveries.labels(message.kind, "dead").inc()
        self._metrics.dead_letters.labels(message.kind).inc()
        mark_error(error)
        log.error("outbox.dead_letter", attempts=attempts, error=error)

    async def _finish(
        self,
        message_id: str,
        *,
        status: str,
        attempts: int,
        error: str | None,
        available_at: dt.datetime | None = None,
    ) -> None:
        now = utcnow()
        values: dict[str, Any] = {
            "status": status,
            "attempts": attempts,
            "last_error": error[:MAX_REASON_LENGTH] if error else None,
            "claimed_until": None,
            "claimed_by": None,
            "updated_at": now,
        }
        if status == DELIVERED:
            values["delivered_at"] = now
        if available_at is not None:
            values["available_at"] = available_at
        statement = update(self._table).where(self._table.c.id == message_id).values(**values)
        async with self._sessions() as session:
            if session.get_bind().dialect.name == "postgresql":
                # One statement, atomic by itself: run it without BEGIN and COMMIT, two
                # round trips of the three this would otherwise cost per message.
                await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            await session.execute(statement)
            await session.commit()

    async def report_stats(self) -> None:
        """Refreshes the pending-count and oldest-age gauges from the table."""
        table = self._table
        async with self._sessions.begin() as session:
            rows = await session.execute(
                select(table.c.kind, func.count(), func.min(table.c.created_at))
                .where(table.c.status == PENDING)
                .group_by(table.c.kind)
            )
            now = utcnow()
            seen = set()
            for kind, count, oldest in rows:
                seen.add(kind)
                self._metrics.pending.labels(kind).set(count)
                if oldest is not None and oldest.tzinfo is None:
                    oldest = oldest.replace(tzinfo=dt.UTC)
                age = (now - oldest).total_seconds() if oldest is not None else 0.0
                self._metrics.oldest_pending_age.labels(kind).set(max(age, 0.0))
            for kind in set(self._handlers) - seen:
                self._metrics.pending.labels(kind).set(0)
                self._metrics.oldest_pending_age.labels(kind).set(0)

    async def _report_stats_forever(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                await self.report_stats()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("outbox.stats_failed", exc_info=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self._settings.stats_interval_seconds)


# --- operators: dead letters ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: str
    kind: str
    payload: Mapping[str, Any]
    attempts: int
    last_error: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    id: str
    kind: str
    payload: Mapping[str, Any]
    attempts: int
    last_error: str | None
    created_at: dt.datetime
    available_at: dt.datetime


class DeadLetters:
    """Listing and replaying dead letters, and listing what is still queued (the
    OutboxService RPCs and the CLI). `where`, when given, narrows every one of them to
    the messages it selects (one organization's, for the console)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        table: Table,
        on_replay: Callable[[], None] | None = None,
    ) -> None:
        self._sessions = sessions
        self._table = table
        self._on_replay = on_replay

    async def list(
        self,
        *,
        kind: str | None = None,
        limit: int = 100,
        where: ColumnElement[bool] | None = None,
    ) -> Sequence[DeadLetter]:
        table = self._table
        query = select(table).where(table.c.status == DEAD)
        if where is not None:
            query = query.where(where)
        if kind:
            query = query.where(table.c.kind == kind)
        query = query.order_by(table.c.updated_at.desc()).limit(min(max(limit, 1), 1000))
        async with self._sessions.begin() as session:
            rows = (await session.execute(query)).mappings().all()
        return [
            DeadLetter(
                id=row["id"],
                kind=row["kind"],
                payload=row["payload"],
                attempts=row["attempts"],
                last_error=row["last_error"],
                created_at=row["created_at"],
                updated_at=row["updated_at"],
            )
            for row in rows
        ]

    async def queued(
        self,
        *,
        kind: str | None = None,
        limit: int = 100,
        where: ColumnElement[bool] | None = None,
    ) -> Sequence[QueuedMessage]:
        """Messages still waiting for delivery, oldest first."""
        table = self._table
        query = select(table).where(table.c.status == PENDING)
        if where is not None:
            query = query.where(where)
        if kind:
            query = query.where(table.c.kind == kind)
        query = query.order_by(table.c.created_at, table.c.id).limit(min(max(limit, 1), 1000))
        async with self._sessions.begin() as session:
            rows = (await session.execute(query)).mappings().all()
        return [
            QueuedMessage(
                id=row["id"],
                kind=row["kind"],
                payload=row["payload"],
                attempts=row["attempts"],
                last_error=row["last_error"],
                created_at=row["created_at"],
                available_at=row["available_at"],
            )
            for row in rows
        ]

    async def replay(
        self, message_ids: Sequence[str], *, where: ColumnElement[bool] | None = None
    ) -> int:
        """Puts dead letters back in the queue with a fresh attempt budget; returns how many
        (ids that are not dead letters, or not selected by `where`, are left alone)."""
        if not message_ids:
            return 0
        table = self._table
        now = utcnow()
        condition = and_(table.c.id.in_(list(message_ids)), table.c.status == DEAD)
        if where is not None:
            condition = and_(condition, where)
        async with self._sessions.begin() as session:
            result = await session.execute(
                update(table)
                .where(condition)
                .values(
                    status=PENDING,
                    attempts=0,
                    available_at=now,
                    claimed_until=None,
                    claimed_by=None,
                    updated_at=now,
                )
                .returning(table.c.id)
            )
            replayed = len(result.all())
        if replayed and self._on_replay is not None:
            self._on_replay()
        log.info("outbox.replayed", count=replayed)
        return replayed
