"""Harvest in the fault run: every final result is also pushed by harvest-sync into its
Greenhouse application's custom fields ("Alooba Score" and "Alooba <skill> Score"),
against greenhouse_emulator's Harvest API (in this process, over TLS, its rate limit on).

Before the flow starts, the organization connects Harvest with a v1 key and its
integration user is made a Site Admin (`connect`); each trip's Greenhouse application is
an application of the Harvest emulator. (v1 still: the fault run's records of each write
are v1's; the v3 client meets the same faults in tests/integration/test_harvest_sync.py.)
The faults (`harvest_faults`): Harvest answering 5xx, answering 429 (`Retry-After: 1`),
and timing out (the write is applied but answered after `HANG_SECONDS`, beyond
harvest-sync's `HARVEST_TIMEOUT_SECONDS`), each from the start of its slice until
`HOLD_SECONDS` after the slice's first result reached Greenhouse; and SIGKILL of
harvest-sync once the slice's first push is written.

`harvest_checks` waits for the pushes to settle, then counts per slice of the run (every
slice's results are pushed, not only those of the Harvest faults): `lost`, a final result
not in its application's custom fields with its values; `duplicated`, a result whose
application was written more than once with values that changed between writes (or got
values that were not its result's). A write applied but not acknowledged (timed out, or
harvest-sync killed meanwhile) and then retried writes the same values again:
at-least-once, harmless, reported but not counted. And the dead letters of harvest-sync's
push queue, which must be none. Each Harvest fault's slice starts once earlier results
are all in Harvest, so that its own pushes are the ones that meet it; how many did is
printed under the table.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from alooba.harvest_sync.v1 import harvest_sync_pb2 as hpb
from alooba.harvest_sync.v1 import harvest_sync_pb2_grpc as hpb_grpc
from alooba.outbox.v1 import outbox_pb2 as opb
from alooba.outbox.v1 import outbox_pb2_grpc as opb_grpc
from alooba_common.tls import Identity
from alooba_dev.faults.world import Fault, RecordedHarvest, Trip, World
from alooba_dev.harvest_emulated import connect_and_promote, pointed_at
from alooba_dev.stack import Stack

BRAND = "Alooba"
# A limit the run's pushes (40 a slice) stay under: they are not slowed, yet every
# request goes through harvest-sync's budget and Greenhouse's limiter.
RATE_LIMIT = 50
RATE_WINDOW_SECONDS = 1.0
TIMEOUT_SECONDS = 2.0
HANG_SECONDS = 4.0
# A Harvest fault lasts from the start of its slice until this long after the slice's
# first result reached Greenhouse (its push is queued at the same moment).
HOLD_SECONDS = 8.0
SETTLE_SECONDS = 120.0


def harvest_env(harvest: RecordedHarvest) -> dict[str, str]:
    """harvest-sync's environment for the run: pointed at the emulator, a short rate
    window, a short request timeout, and the relay's short retry delays."""
    return {
        **pointed_at(harvest),
        "HARVEST_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS),
        "HARVEST_RECHECK_SECONDS": "2",
        "HARVEST_BRAND": BRAND,
        "OUTBOX_BASE_DELAY_SECONDS": "0.2",
        "OUTBOX_MAX_DELAY_SECONDS": "1",
        "OUTBOX_POLL_INTERVAL_SECONDS": "0.1",
        "OUTBOX_MAX_ATTEMPTS": "40",
        "OUTBOX_LEASE_SECONDS": "5",
    }


def new_harvest() -> RecordedHarvest:
    return RecordedHarvest(rate_limit=RATE_LIMIT, rate_window_seconds=RATE_WINDOW_SECONDS)


async def connect(harvest: RecordedHarvest, stack: Stack, organization_id: str) -> None:
    """Connects the organization (v1 key) and promotes its integration user, as a
    Greenhouse admin would; the next status check sees it and pushes may flow."""
    harvest.add_user("Ada", "Admin", "ada@faults.example", site_admin=True)
    _, checked = await connect_and_promote(harvest, stack, organization_id, mode="v1")
    if checked.actions_needed or checked.missing_permissions:
        raise RuntimeError(f"Harvest not ready to push: {checked}")
    harvest.flow_from = len(harvest.requests)


# --- the faults --------------------------------------------------------------------------------


def _slice(world: World, phase: str) -> list[Trip]:
    return [trip for trip in world.trips if trip.phase == phase]


async def _until(check: Callable[[], bool], within: float) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        if loop.time() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def _first_result(world: World, phase: str) -> None:
    """Until one result of the slice reached Greenhouse (at most 30 s)."""

    def arrived() -> bool:
        for trip in _slice(world, phase):
            record = world.greenhouse.tests.get(trip.take_home_test_id)
            if record is not None and record.callbacks_received:
                return True
        return False

    await _until(arrived, 30)


def _written(world: World, trip: Trip) -> bool:
    return _same(world.harvest.values(trip.application_id), expected(trip))


async def _drained(world: World) -> None:
    """Until every earlier slice's results are in Harvest (at most 60 s), so that their
    pushes do not meet the next fault instead of its own slice's."""
    await _until(lambda: all(_written(world, trip) for trip in world.trips), 60)


def _pushes_met(world: World, phase: str, since: int) -> int:
    """How many of the slice's applications had a PATCH answered by a fault."""
    paths = {f"/v1/applications/{trip.application_id}": trip for trip in _slice(world, phase)}
    met = {
        request.path
        for request in world.harvest.requests[since:]
        if request.method == "PATCH" and request.path in paths and request.fault is not None
    }
    return len(met)


def _outage(
    name: str, statuses: tuple[int, ...], hang_seconds: float = 0.0
) -> Callable[[World], Awaitable[None]]:
    async def inject(world: World) -> None:
        loop = asyncio.get_running_loop()
        since, began = len(world.harvest.requests), loop.time()
        world.harvest.inject_faults(1.0, statuses, hang_seconds=hang_seconds)
        try:
            await _first_result(world, name)
            await asyncio.sleep(HOLD_SECONDS)
        finally:
            world.harvest.clear_faults()
        met = _pushes_met(world, name, since)
        world.notes.append(
            f"  {name}: lasted {loop.time() - began:.1f} s; "
            f"{met} of {len(_slice(world, name))} pushes met it"
        )

    return inject


def _kill_after_first_push(name: str) -> Callable[[World], Awaitable[None]]:
    async def inject(world: World) -> None:
        def written() -> int:
            return sum(1 for t in _slice(world, name) if t.application_id in world.harvest.writes)

        await _until(lambda: written() > 0, 30)
        before = written()
        await world.kill_and_restart("harvest-sync")
        world.notes.append(
            f"  {name}: killed with {before} of {len(_slice(world, name))} pushes written"
        )

    return inject


def harvest_faults(world: World) -> list[Fault]:
    """Harvest 5xx, 429 and timeouts, each for about 10-15 s; SIGKILL of harvest-sync."""
    hold = f"{HOLD_SECONDS:g} s"
    five = f"Harvest answers 5xx until {hold} after the first result"
    many = f"Harvest answers 429 until {hold} after the first result"
    late = (
        f"Harvest times out ({HANG_SECONDS:g} s > {TIMEOUT_SECONDS:g} s) "
        f"until {hold} after the first result"
    )
    kill = "SIGKILL harvest-sync"
    return [
        Fault(five, _outage(five, (500, 502, 503)), settle=_drained),
        Fault(many, _outage(many, (429,)), settle=_drained),
        Fault(late, _outage(late, (0,), hang_seconds=HANG_SECONDS), settle=_drained),
        Fault(kill, _kill_after_first_push(kill), settle=_drained),
    ]


# --- the checks ----------------------------------------------------------------------------------


def expected(trip: Trip) -> dict[str, float]:
    values = {f"{BRAND} Score": float(trip.score)}
    values.update({f"{BRAND} {skill} Score": float(s) for skill, s in trip.skill_scores.items()})
    return values


def _same(values: dict[str, Any], wanted: dict[str, float]) -> bool:
    if set(values) != set(wanted):
        return False
    try:
        return all(math.isclose(float(values[name]), wanted[name]) for name in wanted)
    except (TypeError, ValueError):
        return False


async def _settle(world: World) -> None:
    """Until every result is written and harvest-sync's queue is empty (or SETTLE_SECONDS
    passed), then one more hang's length for late answers and retries to land."""
    org = world.organization.id
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_SECONDS
    async with world.stack.channel("harvest-sync", Identity.OPERATOR) as channel:
        stub = hpb_grpc.HarvestSyncServiceStub(channel)
        while loop.time() < deadline:
            if all(_written(world, trip) for trip in world.trips):
                try:
                    status = (
                        await stub.GetStatus(hpb.GetStatusRequest(organization_id=org), timeout=5)
                    ).status
                except grpc.aio.AioRpcError:
                    status = None
                if status is not None and status.queue_depth == 0:
                    break
            await asyncio.sleep(0.2)
    await asyncio.sleep(HANG_SECONDS + 1)


async def harvest_checks(world: World) -> list[dict[str, Any]]:
    """Per slice: operations (one push per final result), lost, duplicated; then
    harvest-sync's dead letters. Rows are named after their slice's fault, so the runner
    adds them to that fault's row."""
    await _settle(world)
    harvest = world.harvest
    rows: dict[str, dict[str, Any]] = {}
    repeated = 0
    for trip in world.trips:
        row = rows.setdefault(
            trip.phase, {"fault": trip.phase, "operations": 0, "lost": 0, "duplicated": 0}
        )
        row["operations"] += 1
        who = f"[{trip.phase}] result of {trip.interview_id} (application {trip.application_id})"
        wanted = expected(trip)
        final = harvest.values(trip.application_id)
        if not _same(final, wanted):
            row["lost"] += 1
            world.problems.append(f"{who}: Harvest has {final or 'nothing'}, not {wanted}")
        writes = harvest.writes.get(trip.application_id, [])
        # A write that left other values than the result's, followed or preceded by
        # another: the values changed between writes (a single wrong write is lost above).
        if len(writes) > 1 and any(not _same(after, wanted) for after in writes):
            row["duplicated"] += 1
            world.problems.append(f"{who}: written {len(writes)} times, as {writes}")
        elif len(writes) > 1:
            repeated += 1
    async with world.stack.channel("harvest-sync", Identity.OPERATOR) as channel:
        dead = await opb_grpc.OutboxServiceStub(channel).ListDeadLetters(
            opb.ListDeadLettersRequest(limit=1000), timeout=10
        )
    for letter in dead.dead_letters:
        world.problems.append(
            f"harvest-sync dead letter {letter.kind} after {letter.attempts}: {letter.last_error}"
        )
    by_status = Counter(request.status for request in harvest.requests[harvest.flow_from :])
    world.notes.insert(
        0,
        f"Harvest: results written more than once with the same values (a write applied "
        f"but not acknowledged, as a timed-out one, then retried; harmless, not counted): "
        f"{repeated}; the run's requests by status {dict(sorted(by_status.items()))} "
        f"(0: timed out)",
    )
    refused = Counter(
        f"{request.method} {request.path.split('/')[2]} {request.status}"
        for request in harvest.requests[harvest.flow_from :]
        if 400 <= request.status < 500 and request.status != 429
    )
    for kind, count in refused.most_common(3):
        world.notes.append(f"  Harvest also answered {count} x {kind}")
    return [
        *rows.values(),
        {
            "fault": "dead letters (harvest-sync)",
            "operations": len(world.trips),
            "lost": len(dead.dead_letters),
            "duplicated": 0,
        },
    ]
