"""The "harvest push" section: 1,000 final results pushed into Greenhouse custom fields
through harvest-sync, against greenhouse_emulator's Harvest API with its rate limit on.

harvest-sync is restarted pointed at an emulator running in this process; the organization
connects with a v1 key and its integration user is made a Site Admin; one warm-up push
creates the custom fields. Then the results are queued at once (QueueScores, as the
assessments relay calls it) and the emulator's records say how fast they were written.

The issue's setting is 50 requests per 10 s per key. By default the window is scaled to 1 s
(the same 50 per window, ten times faster): the budget's only loss is one round trip per
window, which a shorter window makes relatively larger, so the figure is a conservative one.
BENCH_HARVEST_WINDOW=10 runs it unscaled (about 200 s).

Figures: the achieved rate (requests Greenhouse counted, over the time from the first to the
last) as a share of the limit's rate (LIMIT / window), the 429s (at most one per window), the
most requests Greenhouse counted in any one window (never above the limit: the rate cannot
have been bought with a burst), and how many results were lost or written twice.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable

from alooba.harvest_sync.v1 import harvest_sync_pb2 as hpb
from alooba.harvest_sync.v1 import harvest_sync_pb2_grpc as hpb_grpc
from alooba_common.tls import Identity
from alooba_dev.bench.context import BenchContext
from alooba_dev.bench.report import Row
from alooba_dev.harvest_emulated import connect_and_promote, field_values, pointed_at
from greenhouse_emulator.harvest import HarvestEmulator

SECTION = "harvest push"
LIMIT = 50
TARGET_SHARE = 0.9


def harvest_push(context: BenchContext) -> list[Row]:
    pushes = int(os.environ.get("BENCH_HARVEST_PUSHES", "1000"))
    window = float(os.environ.get("BENCH_HARVEST_WINDOW", "1"))
    return asyncio.run(_run(context, pushes=pushes, window=window))


def _score(n: int) -> int:
    return n % 101


def _written(greenhouse: HarvestEmulator, application_id: int) -> object:
    return field_values(greenhouse, application_id).get("Alooba Score")


async def _restart_harvest_sync(context: BenchContext, greenhouse: HarvestEmulator) -> None:
    stack = context.stack
    env = dict(stack.service_env)
    env["harvest-sync"] = {
        **env.get("harvest-sync", {}),
        **pointed_at(greenhouse),
        "OUTBOX_POLL_INTERVAL_SECONDS": "0.05",
        "LOG_LEVEL": "warning",
    }
    stack.service_env = env
    await asyncio.to_thread(stack.stop, "harvest-sync")
    stack.start("harvest-sync")
    await asyncio.to_thread(stack.wait_ready, ("harvest-sync",), 60.0)


async def _run(context: BenchContext, *, pushes: int, window: float) -> list[Row]:
    organization_id = context.organization.id
    async with HarvestEmulator(rate_limit=LIMIT, rate_window_seconds=window) as greenhouse:
        greenhouse.add_user("Ada", "Admin", "ada@bench.example", site_admin=True)
        await _restart_harvest_sync(context, greenhouse)
        # Final results queued as assessments queues them.
        async with context.stack.channel("harvest-sync", Identity.ASSESSMENTS) as channel:
            harvest = hpb_grpc.HarvestSyncServiceStub(channel)
            await connect_and_promote(greenhouse, context.stack, organization_id)

            async def queue(application_id: int, result_id: str, score: int) -> None:
                response = await harvest.QueueScores(
                    hpb.QueueScoresRequest(
                        organization_id=organization_id,
                        application_id=application_id,
                        result_id=result_id,
                        total_score=score,
                        skill_scores=[hpb.SkillScore(skill="SQL", score=score)],
                    )
                )
                assert response.queued

            # Warm-up: the first push finds no fields and creates them.
            warm = greenhouse.add_application()
            await queue(warm, f"{context.run}-warm", 1)
            await _until(lambda: _written(greenhouse, warm) == 1, 60)

            applications = [greenhouse.add_application() for _ in range(pushes)]
            first_request = len(greenhouse.requests)
            began = time.monotonic()
            for start in range(0, pushes, 100):
                await asyncio.gather(
                    *(
                        queue(application_id, f"{context.run}-h{n}", _score(n))
                        for n, application_id in enumerate(
                            applications[start : start + 100], start=start
                        )
                    )
                )
            deadline = pushes / LIMIT * window * 3 + 120
            await _until(
                lambda: all(
                    _written(greenhouse, a) == _score(n) for n, a in enumerate(applications)
                ),
                deadline,
            )
            elapsed = time.monotonic() - began
        stats = greenhouse.stats()
        phase = greenhouse.requests[first_request:]

    patches = [r for r in phase if r.method == "PATCH" and r.status == 200]
    rate_limited = sum(1 for r in phase if r.status == 429)
    lost = sum(1 for n, a in enumerate(applications) if _written(greenhouse, a) != _score(n))
    counted = [r for r in phase if r.status != 429]
    span = counted[-1].at - counted[0].at if len(counted) > 1 else 0.0
    windows = span / window + 1
    rate = (len(counted) - 1) / max(span, 1e-9)
    share = rate / (LIMIT / window)
    duplicated = max(len(patches) - pushes, 0)
    return [
        Row(SECTION, f"results pushed (limit {LIMIT} per {window:g} s)", pushes, "results"),
        Row(SECTION, "time until all written", elapsed, "s"),
        Row(
            SECTION,
            "achieved rate, share of the limit",
            share,
            "x limit",
            target=f">= {TARGET_SHARE}",
            ok=share >= TARGET_SHARE,
        ),
        Row(SECTION, "achieved rate", rate, "req/s"),
        Row(
            SECTION,
            "429s",
            rate_limited,
            "answers",
            target=f"<= 1 per window ({windows:.0f})",
            ok=rate_limited <= windows,
        ),
        Row(
            SECTION,
            "most requests in one window",
            stats.max_in_window,
            "requests",
            target=f"<= {LIMIT}",
            ok=stats.max_in_window <= LIMIT,
        ),
        Row(SECTION, "lost", lost, "results", target="0", ok=lost == 0),
        Row(SECTION, "written twice", duplicated, "results", target="0", ok=duplicated == 0),
    ]


async def _until(check: Callable[[], bool], within: float) -> None:
    async with asyncio.timeout(within):
        while True:
            if check():
                return
            await asyncio.sleep(0.05)
