"""The "harvest push" section: 1,000 final results pushed into Greenhouse custom fields by
two harvest-sync replicas on one database, against greenhouse_emulator's Harvest API with
its rate limit on.

Harvest v3 by default, the emulator playing the worst reading of every unconfirmed v3
behaviour (each push reads the application's custom fields and writes them back with
ours: two requests; minting a token revokes the last one; ...). harvest-sync is restarted
pointed at an emulator running in this process, and a second replica is started on the
same database; the organization connects with a "Harvest V3 (OAuth)" client naming a Site
Admin, and its integration user is made a Site Admin; one warm-up push creates the custom
fields. Then the results are queued at once (QueueScores, as the assessments relay calls
it) and the emulator's records say how they were written.

The setting is 50 requests per v3 window of 30 s (harvest-v3-facts.md row 39) per client.
By default the window is scaled to 3 s (the same 50 per window, ten times faster, as v1's
10 s was scaled to 1 s): the budget's only loss is about one round trip per window (a slot
comes back a window after its answer), which a shorter window makes relatively larger, so
the figure is a conservative one. BENCH_HARVEST_WINDOW=30 runs it unscaled (about 20
minutes); BENCH_HARVEST_PUSHES and BENCH_HARVEST_REPLICAS change the run's size;
BENCH_HARVEST_MODE=v1 pushes through v1 (10 s window when unscaled) instead.

Figures, per fixed window of Greenhouse's (the first and the last, partly outside the run,
left out of the share): the requests Greenhouse counted as a share of the limit (target
>= 0.9), the most it counted in one window (never above the limit), the most 429s in one
window (target <= 1), how many results were lost or written twice, how many tokens the run
used (one: the replicas share it) and how many pushes each replica wrote.
"""

from __future__ import annotations

import asyncio
import math
import os
import re
import time
import urllib.request
from collections import Counter
from collections.abc import Callable

from alooba.harvest_sync.v1 import harvest_sync_pb2 as hpb
from alooba.harvest_sync.v1 import harvest_sync_pb2_grpc as hpb_grpc
from alooba_common.tls import Identity
from alooba_dev.bench.context import BenchContext
from alooba_dev.bench.report import Row
from alooba_dev.harvest_emulated import connect_and_promote, field_values, pointed_at
from alooba_dev.stack import Stack, grpc_serving
from greenhouse_emulator.harvest import HarvestEmulator, HarvestRequest

SECTION = "harvest push"
LIMIT = 50
TARGET_SHARE = 0.9
_WRITTEN = re.compile(r'^harvest_sync_pushes_total\{outcome="written"\} ([0-9.e+]+)$', re.M)


def harvest_push(context: BenchContext) -> list[Row]:
    pushes = int(os.environ.get("BENCH_HARVEST_PUSHES", "1000"))
    window = float(os.environ.get("BENCH_HARVEST_WINDOW", "3"))
    replicas = int(os.environ.get("BENCH_HARVEST_REPLICAS", "2"))
    mode = os.environ.get("BENCH_HARVEST_MODE", "v3")
    return asyncio.run(_run(context, pushes=pushes, window=window, replicas=replicas, mode=mode))


def _score(n: int) -> int:
    return n % 101


def _written(greenhouse: HarvestEmulator, application_id: int) -> object:
    return field_values(greenhouse, application_id).get("Alooba Score")


async def _restart_harvest_sync(
    stack: Stack, greenhouse: HarvestEmulator, replicas: int
) -> list[int]:
    """harvest-sync pointed at the emulator, and its replicas; their metrics ports."""
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
    metrics = [stack.ports.metrics("harvest-sync")]
    for replica in range(1, replicas):
        name = f"harvest-sync-{replica}"
        stack.start_replica("harvest-sync", replica)
        _, metrics_port, health_port = stack.replica_ports[name]
        await asyncio.to_thread(_wait_serving, f"127.0.0.1:{health_port}", 60.0)
        metrics.append(metrics_port)
    return metrics


def _wait_serving(address: str, within: float) -> None:
    """Blocking (grpc_serving runs an event loop of its own): run it in a thread."""
    deadline = time.monotonic() + within
    while not grpc_serving(address):
        if time.monotonic() > deadline:
            raise TimeoutError(f"no harvest-sync replica serving at {address}")
        time.sleep(0.1)


def _pushes_written(metrics_port: int) -> int:
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        found = _WRITTEN.search(response.read().decode())
    return int(float(found.group(1))) if found else 0


async def _run(
    context: BenchContext, *, pushes: int, window: float, replicas: int, mode: str
) -> list[Row]:
    organization_id = context.organization.id
    stack = context.stack
    async with HarvestEmulator(
        rate_limit=LIMIT, rate_window_seconds=window, v3_rate_window_seconds=window
    ) as greenhouse:
        admin = greenhouse.add_user("Ada", "Admin", "ada@bench.example", site_admin=True)
        metrics_ports = await _restart_harvest_sync(stack, greenhouse, replicas)
        # Final results queued as assessments queues them.
        async with stack.channel("harvest-sync", Identity.ASSESSMENTS) as channel:
            harvest = hpb_grpc.HarvestSyncServiceStub(channel)
            await connect_and_promote(
                greenhouse,
                stack,
                organization_id,
                mode=mode,
                acting_user_id=admin if mode == "v3" else None,
            )

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
            # (Counted once it is marked written, a moment after it lands in Greenhouse.)
            await _until(lambda: sum(map(_pushes_written, metrics_ports)) == 1, 60)
            written_before = [_pushes_written(port) for port in metrics_ports]

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
            deadline = pushes * 2 / LIMIT * window * 3 + 120
            await _until(
                lambda: all(
                    _written(greenhouse, a) == _score(n) for n, a in enumerate(applications)
                ),
                deadline,
            )
            elapsed = time.monotonic() - began
            # Each is counted a moment after it lands in Greenhouse.
            total = pushes + 1
            await _until(lambda: sum(map(_pushes_written, metrics_ports)) >= total, 30)
        by_replica = [
            _pushes_written(port) - before
            for port, before in zip(metrics_ports, written_before, strict=True)
        ]
        phase = greenhouse.requests[first_request:]
        lost = sum(1 for n, a in enumerate(applications) if _written(greenhouse, a) != _score(n))
    return _rows(phase, applications, elapsed, window, lost, by_replica, mode)


def _rows(
    phase: list[HarvestRequest],
    applications: list[int],
    elapsed: float,
    window: float,
    lost: int,
    by_replica: list[int],
    mode: str,
) -> list[Row]:
    pushes = len(applications)
    patched = Counter(r.path for r in phase if r.method == "PATCH" and r.status == 200)
    duplicated = sum(1 for count in patched.values() if count > 1)
    # Greenhouse's fixed windows (the emulator's: multiples of the window on its clock).
    counted = Counter(math.floor(r.at / window) for r in phase if r.status != 429)
    refused = Counter(math.floor(r.at / window) for r in phase if r.status == 429)
    indexes = sorted(set(counted) | set(refused))
    full = indexes[1:-1]  # the first and the last are partly outside the run
    share = sum(counted[i] for i in full) / (len(full) * LIMIT) if full else math.nan
    most = max(counted.values(), default=0)
    most_refused = max(refused.values(), default=0)
    tokens = {r.token for r in phase if r.token is not None}
    scale = f"{window:g} s" if mode == "v1" or window != 30 else "30 s, unscaled"
    return [
        Row(
            SECTION,
            f"results pushed ({mode}; limit {LIMIT} per {scale} window; "
            f"{len(by_replica)} replicas)",
            pushes,
            "results",
        ),
        Row(SECTION, "time until all written", elapsed, "s"),
        Row(SECTION, "requests per result", len(phase) / pushes, "requests"),
        Row(SECTION, f"windows in the run (full: {len(full)})", len(indexes), "windows"),
        Row(
            SECTION,
            "requests counted per full window, share of the limit",
            share,
            "x limit",
            target=f">= {TARGET_SHARE}",
            ok=share >= TARGET_SHARE,
        ),
        Row(
            SECTION,
            "most requests in one window",
            most,
            "requests",
            target=f"<= {LIMIT}",
            ok=most <= LIMIT,
        ),
        Row(
            SECTION,
            f"most 429s in one window ({sum(refused.values())} in all)",
            most_refused,
            "answers",
            target="<= 1",
            ok=most_refused <= 1,
        ),
        *(
            Row(SECTION, f"written by replica {n + 1}", count, "results")
            for n, count in enumerate(by_replica)
        ),
        *(
            [
                Row(
                    SECTION,
                    f"v3 tokens the run used (401s: {sum(1 for r in phase if r.status == 401)})",
                    len(tokens),
                    "tokens",
                    target="1",
                    ok=len(tokens) == 1,
                )
            ]
            if mode == "v3"
            else []
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
