"""The transactional outbox and its relay, on a real migrated assessments database.

Each test drives `OutboxRelay.run_once()` itself, with no backoff, so a retry is simply
the next pass: nothing waits on a clock. Where the clock matters (a lease running
out, a message's age), the test moves the timestamp in the table instead.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest
from integration.lifecycle_helpers import eventually
from prometheus_client import CollectorRegistry
from sqlalchemy import RowMapping, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from support.databases import DatabaseServer

from alooba_common.config import DatabaseSettings
from alooba_common.db import create_engine, session_factory, utcnow
from alooba_common.outbox import (
    DEAD,
    DELIVERED,
    PENDING,
    DeadLetters,
    Handler,
    OutboxMessage,
    OutboxRelay,
    PermanentFailure,
    RelaySettings,
    RetryLater,
    enqueue,
)
from alooba_common.outbox_metrics import OutboxMetrics
from assessments.store.models import OUTBOX

# No backoff: a failed message is claimable again on the very next pass.
IMMEDIATE_RETRY = RelaySettings(
    base_delay_seconds=0.0,
    max_delay_seconds=0.0,
    poll_interval_seconds=0.02,
    stats_interval_seconds=60.0,
)
KIND = "test.message"


class Rollback(Exception):
    """Raised to abandon a transaction."""


@dataclass
class Outbox:
    """The outbox table of one database, with the metrics of the relays built on it."""

    sessions: async_sessionmaker[AsyncSession]
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.metrics = OutboxMetrics.create(self.registry)

    def relay(
        self,
        handlers: Mapping[str, Handler],
        *,
        settings: RelaySettings = IMMEDIATE_RETRY,
        replica_id: str | None = None,
        sessions: async_sessionmaker[AsyncSession] | None = None,
    ) -> OutboxRelay:
        return OutboxRelay(
            sessions or self.sessions,
            OUTBOX,
            handlers,
            settings=settings,
            metrics=self.metrics,
            replica_id=replica_id,
        )

    async def add(
        self, payload: Mapping[str, Any], *, kind: str = KIND, dedupe_key: str | None = None
    ) -> None:
        async with self.sessions.begin() as session:
            await enqueue(session, OUTBOX, kind, payload, dedupe_key=dedupe_key)

    async def rows(self) -> list[RowMapping]:
        async with self.sessions.begin() as session:
            result = await session.execute(select(OUTBOX).order_by(OUTBOX.c.created_at))
            return list(result.mappings().all())

    async def only(self) -> RowMapping:
        [row] = await self.rows()
        return row

    async def set_values(self, message_id: str, **values: Any) -> None:
        async with self.sessions.begin() as session:
            await session.execute(update(OUTBOX).where(OUTBOX.c.id == message_id).values(**values))

    def sample(self, name: str, **labels: str) -> float | None:
        return self.registry.get_sample_value(name, labels)


async def drain(relay: OutboxRelay) -> int:
    """Runs passes until one finds nothing to do; returns how many passes did work."""
    passes = 0
    while await relay.run_once():
        passes += 1
        assert passes < 100, "the relay never ran out of work"
    return passes


def recorder(calls: list[OutboxMessage]) -> Handler:
    async def handle(message: OutboxMessage) -> None:
        calls.append(message)

    return handle


def failing(times: int, make_error: Callable[[int], Exception]) -> tuple[Handler, list[int]]:
    """A handler that raises for its first `times` calls, then succeeds."""
    calls: list[int] = []

    async def handle(message: OutboxMessage) -> None:
        calls.append(message.attempts)
        if len(calls) <= times:
            raise make_error(len(calls))

    return handle, calls


@pytest.fixture(scope="module")
def outbox_database(new_databases: Callable[[], dict[str, str]]) -> str:
    return new_databases()["assessments"]


@pytest.fixture
async def outbox(outbox_database: str) -> AsyncIterator[Outbox]:
    """An empty outbox table (the database is shared by this module's tests)."""
    engine = create_engine(DatabaseSettings(url=outbox_database))
    sessions = session_factory(engine)
    async with sessions.begin() as session:
        await session.execute(delete(OUTBOX))
    try:
        yield Outbox(sessions)
    finally:
        await engine.dispose()


# --- enqueueing -----------------------------------------------------------------------


async def test_enqueued_message_is_stored_pending_when_the_transaction_commits(
    outbox: Outbox,
) -> None:
    await outbox.add({"invitation_id": "inv1"})
    row = await outbox.only()
    assert (row["kind"], row["payload"], row["status"], row["attempts"]) == (
        KIND,
        {"invitation_id": "inv1"},
        PENDING,
        0,
    )
    assert row["available_at"] <= utcnow()


async def test_enqueued_message_vanishes_when_the_transaction_rolls_back(outbox: Outbox) -> None:
    async def enqueue_then_fail() -> None:
        async with outbox.sessions.begin() as session:
            await enqueue(session, OUTBOX, KIND, {"invitation_id": "inv1"})
            await enqueue(session, OUTBOX, KIND, {"invitation_id": "inv2"}, dedupe_key="k")
            raise Rollback

    with pytest.raises(Rollback):
        await enqueue_then_fail()
    assert await outbox.rows() == []


async def test_second_enqueue_with_the_same_dedupe_key_adds_nothing(outbox: Outbox) -> None:
    await outbox.add({"version": 1}, dedupe_key="callback:inv1")
    await outbox.add({"version": 2}, dedupe_key="callback:inv1")
    row = await outbox.only()
    assert row["payload"] == {"version": 1}


async def test_the_same_dedupe_key_in_another_kind_is_another_message(outbox: Outbox) -> None:
    await outbox.add({}, kind="one.kind", dedupe_key="inv1")
    await outbox.add({}, kind="other.kind", dedupe_key="inv1")
    assert sorted(row["kind"] for row in await outbox.rows()) == ["one.kind", "other.kind"]


async def test_messages_without_a_dedupe_key_are_never_deduplicated(outbox: Outbox) -> None:
    await outbox.add({"n": 1})
    await outbox.add({"n": 1})
    assert len(await outbox.rows()) == 2


async def test_message_enqueued_with_a_delay_is_not_delivered_before_it(outbox: Outbox) -> None:
    async with outbox.sessions.begin() as session:
        await enqueue(session, OUTBOX, KIND, {}, delay=dt.timedelta(minutes=5))
    calls: list[OutboxMessage] = []
    assert await outbox.relay({KIND: recorder(calls)}).run_once() == 0
    assert calls == []


# --- delivering -----------------------------------------------------------------------


async def test_delivered_message_is_marked_delivered_after_one_attempt(outbox: Outbox) -> None:
    await outbox.add({"invitation_id": "inv1"})
    calls: list[OutboxMessage] = []
    assert await outbox.relay({KIND: recorder(calls)}).run_once() == 1
    row = await outbox.only()
    assert [(call.id, call.kind, call.payload) for call in calls] == [
        (row["id"], KIND, {"invitation_id": "inv1"})
    ]
    assert (row["status"], row["attempts"], row["last_error"]) == (DELIVERED, 1, None)
    assert row["delivered_at"] is not None
    assert (row["claimed_by"], row["claimed_until"]) == (None, None)


async def test_delivered_message_is_not_delivered_again(outbox: Outbox) -> None:
    await outbox.add({})
    calls: list[OutboxMessage] = []
    relay = outbox.relay({KIND: recorder(calls)})
    await drain(relay)
    assert await relay.run_once() == 0
    assert len(calls) == 1


async def test_handler_failing_twice_then_succeeding_is_delivered_with_three_attempts(
    outbox: Outbox,
) -> None:
    await outbox.add({})
    handler, calls = failing(2, lambda n: ConnectionError(f"refused {n}"))
    relay = outbox.relay({KIND: handler})

    await relay.run_once()
    row = await outbox.only()
    assert (row["status"], row["attempts"]) == (PENDING, 1)
    # An unexpected exception is kept as its class: its text may quote the receiver.
    assert row["last_error"] == "ConnectionError"

    await drain(relay)
    row = await outbox.only()
    assert (row["status"], row["attempts"], row["last_error"]) == (DELIVERED, 3, None)
    # The handler sees how many attempts came before.
    assert calls == [0, 1, 2]


async def test_retry_later_sets_available_at_at_least_that_far_ahead(outbox: Outbox) -> None:
    await outbox.add({})
    handler, _ = failing(1, lambda _: RetryLater("Greenhouse answered 429", after=30))
    relay = outbox.relay({KIND: handler})
    before = utcnow()
    await relay.run_once()
    row = await outbox.only()
    assert (row["status"], row["attempts"]) == (PENDING, 1)
    assert row["last_error"] == "Greenhouse answered 429"
    assert row["available_at"] >= before + dt.timedelta(seconds=30)
    assert row["available_at"] <= utcnow() + dt.timedelta(seconds=31)
    assert await relay.run_once() == 0


async def test_retry_later_without_a_delay_uses_the_backoff(outbox: Outbox) -> None:
    await outbox.add({})
    handler, _ = failing(1, lambda _: RetryLater("Greenhouse answered 503"))
    slow_backoff = RelaySettings(base_delay_seconds=100.0, max_delay_seconds=1000.0)
    before = utcnow()
    await outbox.relay({KIND: handler}, settings=slow_backoff).run_once()
    row = await outbox.only()
    # The first retry waits between half the base delay and the base delay.
    assert before + dt.timedelta(seconds=50) <= row["available_at"]
    assert row["available_at"] <= utcnow() + dt.timedelta(seconds=100)


async def test_permanent_failure_is_dead_at_once(outbox: Outbox) -> None:
    await outbox.add({})
    handler, calls = failing(1, lambda _: PermanentFailure("Greenhouse answered 404"))
    await drain(outbox.relay({KIND: handler}))
    row = await outbox.only()
    assert (row["status"], row["attempts"], row["last_error"]) == (
        DEAD,
        1,
        "Greenhouse answered 404",
    )
    assert len(calls) == 1


async def test_exhausting_max_attempts_makes_a_dead_letter_with_the_last_error(
    outbox: Outbox,
) -> None:
    await outbox.add({})
    handler, calls = failing(100, lambda n: RuntimeError(f"boom {n}"))
    settings = RelaySettings(base_delay_seconds=0.0, max_delay_seconds=0.0, max_attempts=4)
    await drain(outbox.relay({KIND: handler}, settings=settings))
    row = await outbox.only()
    assert (row["status"], row["attempts"], row["last_error"]) == (DEAD, 4, "RuntimeError")
    assert len(calls) == 4


async def test_message_of_a_kind_without_a_handler_is_dead(outbox: Outbox) -> None:
    await outbox.add({}, kind="nobody.handles.this")
    await drain(outbox.relay({KIND: recorder([])}))
    row = await outbox.only()
    assert (row["status"], row["attempts"]) == (DEAD, 1)
    assert row["last_error"] == "no handler for kind 'nobody.handles.this'"


async def test_one_failing_message_does_not_hold_up_the_others(outbox: Outbox) -> None:
    for n in range(5):
        await outbox.add({"n": n})

    async def handle(message: OutboxMessage) -> None:
        if message.payload["n"] == 2:
            raise PermanentFailure("bad one")

    await outbox.relay({KIND: handle}).run_once()
    statuses = collections.Counter(row["status"] for row in await outbox.rows())
    assert statuses == {DELIVERED: 4, DEAD: 1}


# --- dead letters ---------------------------------------------------------------------


async def test_dead_letters_lists_dead_messages_only_with_their_error(outbox: Outbox) -> None:
    await outbox.add({"n": 1})
    await outbox.add({"n": 2}, kind="other.kind")
    await outbox.add({"n": 3}, kind="fine.kind")

    async def refuse(message: OutboxMessage) -> None:
        raise PermanentFailure(f"refused {message.payload['n']}")

    await drain(outbox.relay({KIND: refuse, "other.kind": refuse, "fine.kind": recorder([])}))

    letters = await DeadLetters(outbox.sessions, OUTBOX).list()
    assert sorted((x.kind, dict(x.payload), x.attempts, x.last_error) for x in letters) == [
        ("other.kind", {"n": 2}, 1, "refused 2"),
        (KIND, {"n": 1}, 1, "refused 1"),
    ]
    only_other = await DeadLetters(outbox.sessions, OUTBOX).list(kind="other.kind")
    assert [x.payload["n"] for x in only_other] == [2]


async def test_replay_resets_attempts_and_the_message_is_then_delivered(outbox: Outbox) -> None:
    await outbox.add({})
    handler, calls = failing(1, lambda _: PermanentFailure("not yet"))
    relay = outbox.relay({KIND: handler})
    await drain(relay)
    woken: list[bool] = []
    dead_letters = DeadLetters(outbox.sessions, OUTBOX, on_replay=lambda: woken.append(True))
    [letter] = await dead_letters.list()

    assert await dead_letters.replay([letter.id]) == 1
    row = await outbox.only()
    assert (row["status"], row["attempts"]) == (PENDING, 0)
    assert row["available_at"] <= utcnow()
    assert woken == [True]

    await drain(relay)
    row = await outbox.only()
    assert (row["status"], row["attempts"]) == (DELIVERED, 1)
    assert calls == [0, 0]
    assert await dead_letters.list() == []


async def test_replay_ignores_messages_that_are_not_dead(outbox: Outbox) -> None:
    await outbox.add({"n": 1})
    await outbox.add({"n": 2})
    relay = outbox.relay({KIND: recorder([])})
    [delivered_first, _] = await outbox.rows()
    await relay.run_once()
    await outbox.add({"n": 3})
    pending = [row for row in await outbox.rows() if row["status"] == PENDING]
    ids = [delivered_first["id"], pending[0]["id"], "0" * 32]
    assert await DeadLetters(outbox.sessions, OUTBOX).replay(ids) == 0
    assert (await outbox.rows())[0]["status"] == DELIVERED


# --- leases ---------------------------------------------------------------------------


@dataclass
class Blocked:
    """A relay stuck inside its handler, holding its claim."""

    entered: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, message: OutboxMessage) -> None:
        self.entered.set()
        await self.release.wait()


async def test_claimed_message_is_not_claimed_by_another_relay_before_its_lease_expires(
    outbox: Outbox,
) -> None:
    await outbox.add({})
    blocked = Blocked()
    first = outbox.relay({KIND: blocked.handle}, replica_id="first")
    second_calls: list[OutboxMessage] = []
    second = outbox.relay({KIND: recorder(second_calls)}, replica_id="second")
    running = asyncio.create_task(first.run_once())
    try:
        await asyncio.wait_for(blocked.entered.wait(), 10)
        row = await outbox.only()
        assert row["claimed_by"] == "first"
        assert row["claimed_until"] > utcnow() + dt.timedelta(seconds=30)

        assert await second.run_once() == 0
        assert second_calls == []
    finally:
        blocked.release.set()
        await running
    assert (await outbox.only())["status"] == DELIVERED


async def test_claimed_message_is_claimed_again_once_its_lease_expires(outbox: Outbox) -> None:
    await outbox.add({})
    blocked = Blocked()
    first = outbox.relay({KIND: blocked.handle}, replica_id="first")
    second_calls: list[OutboxMessage] = []
    second = outbox.relay({KIND: recorder(second_calls)}, replica_id="second")
    running = asyncio.create_task(first.run_once())
    try:
        await asyncio.wait_for(blocked.entered.wait(), 10)
        # The first relay is presumed dead once its lease has run out.
        row = await outbox.only()
        await outbox.set_values(row["id"], claimed_until=utcnow() - dt.timedelta(seconds=1))

        assert await second.run_once() == 1
        assert [call.id for call in second_calls] == [row["id"]]
        assert (await outbox.only())["status"] == DELIVERED
    finally:
        blocked.release.set()
        await running


# --- metrics --------------------------------------------------------------------------


async def test_deliveries_total_counts_each_result_by_kind(outbox: Outbox) -> None:
    await outbox.add({}, kind="ok.kind")
    await outbox.add({}, kind="flaky.kind")
    await outbox.add({}, kind="bad.kind")
    flaky, _ = failing(2, lambda _: TimeoutError())
    bad, _ = failing(1, lambda _: PermanentFailure("no"))
    await drain(outbox.relay({"ok.kind": recorder([]), "flaky.kind": flaky, "bad.kind": bad}))

    counts = {
        (kind, result): outbox.sample("outbox_deliveries_total", kind=kind, result=result)
        for kind in ("ok.kind", "flaky.kind", "bad.kind")
        for result in ("delivered", "retry", "dead")
    }
    assert counts == {
        ("ok.kind", "delivered"): 1.0,
        ("ok.kind", "retry"): None,
        ("ok.kind", "dead"): None,
        ("flaky.kind", "delivered"): 1.0,
        ("flaky.kind", "retry"): 2.0,
        ("flaky.kind", "dead"): None,
        ("bad.kind", "delivered"): None,
        ("bad.kind", "retry"): None,
        ("bad.kind", "dead"): 1.0,
    }


async def test_dead_letters_total_counts_each_dead_letter_by_kind(outbox: Outbox) -> None:
    await outbox.add({"n": 1}, kind="bad.kind")
    await outbox.add({"n": 2}, kind="bad.kind")
    await outbox.add({}, kind="unhandled.kind")
    bad, _ = failing(2, lambda _: PermanentFailure("no"))
    await drain(outbox.relay({"bad.kind": bad}))
    assert outbox.sample("outbox_dead_letters_total", kind="bad.kind") == 2.0
    assert outbox.sample("outbox_dead_letters_total", kind="unhandled.kind") == 1.0


async def test_report_stats_sets_the_pending_count_and_oldest_age(outbox: Outbox) -> None:
    for n in range(3):
        await outbox.add({"n": n})
    oldest = (await outbox.rows())[0]
    await outbox.set_values(oldest["id"], created_at=utcnow() - dt.timedelta(seconds=120))
    relay = outbox.relay({KIND: recorder([]), "idle.kind": recorder([])})

    await relay.report_stats()

    assert outbox.sample("outbox_messages_pending", kind=KIND) == 3.0
    age = outbox.sample("outbox_oldest_pending_age_seconds", kind=KIND)
    assert age is not None
    assert 120 <= age < 180
    assert outbox.sample("outbox_messages_pending", kind="idle.kind") == 0.0
    assert outbox.sample("outbox_oldest_pending_age_seconds", kind="idle.kind") == 0.0


async def test_report_stats_after_delivery_sets_the_gauges_back_to_zero(outbox: Outbox) -> None:
    await outbox.add({})
    relay = outbox.relay({KIND: recorder([])})
    await relay.report_stats()
    assert outbox.sample("outbox_messages_pending", kind=KIND) == 1.0

    await drain(relay)
    await relay.report_stats()
    assert outbox.sample("outbox_messages_pending", kind=KIND) == 0.0
    assert outbox.sample("outbox_oldest_pending_age_seconds", kind=KIND) == 0.0


# --- replicas -------------------------------------------------------------------------


async def test_two_relays_running_concurrently_deliver_each_of_200_messages_exactly_once(
    outbox: Outbox, outbox_database: str, database_server: DatabaseServer
) -> None:
    if not database_server.is_postgres:
        pytest.skip(
            "needs PostgreSQL: SQLite has a single writer and runs one relay "
            "(only PostgreSQL claims with FOR UPDATE SKIP LOCKED)"
        )
    async with outbox.sessions.begin() as session:
        for n in range(200):
            await enqueue(session, OUTBOX, KIND, {"n": n})

    calls: collections.Counter[str] = collections.Counter()
    by_replica: dict[str, set[str]] = {"a": set(), "b": set()}

    def handler(replica: str) -> Handler:
        async def handle(message: OutboxMessage) -> None:
            await asyncio.sleep(0)  # let the other replica interleave
            calls[message.id] += 1
            by_replica[replica].add(message.id)

        return handle

    # Each replica has its own connection pool, as two processes would.
    other_engine = create_engine(DatabaseSettings(url=outbox_database))
    settings = RelaySettings(batch_size=20, concurrency=10, poll_interval_seconds=0.02)
    relays = [
        outbox.relay({KIND: handler("a")}, settings=settings, replica_id="a"),
        outbox.relay(
            {KIND: handler("b")},
            settings=settings,
            replica_id="b",
            sessions=session_factory(other_engine),
        ),
    ]
    stopping = asyncio.Event()
    tasks = [asyncio.create_task(relay.run(stopping)) for relay in relays]

    async def delivered() -> int:
        async with outbox.sessions.begin() as session:
            count = await session.scalar(
                select(func.count()).select_from(OUTBOX).where(OUTBOX.c.status == DELIVERED)
            )
        return 200 if count == 200 else 0

    try:
        await eventually(delivered, within=30, what="200 messages delivered")
    finally:
        stopping.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        await other_engine.dispose()

    assert len(calls) == 200
    assert set(calls.values()) == {1}
    # Both replicas took a share, and no message was taken by both.
    assert by_replica["a"]
    assert by_replica["b"]
    assert not by_replica["a"] & by_replica["b"]
