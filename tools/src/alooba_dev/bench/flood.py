"""The "bad webhook flood" section: what unauthenticated traffic costs everyone else.

An attacker who knows an organization's name (it is a company's name) sends 1 MiB
webhooks with a well-formed but wrong `Signature`, 231 a second from one address (the
attack round's figure). Meanwhile Greenhouse polls `test_status` at the fixed moderate
rate. The figure is test_status's p50 under the flood against its p50 with no flood, in
the same run: the target is at most 1.5 times.

Then the cost of an unknown `X-Organisation` against a known one, each with a bad
signature on a small body: the two must cost the same, or the difference tells an
attacker which organizations exist.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from alooba_dev.bench.context import BenchContext, LoadRun
from alooba_dev.bench.report import Row, percentile

SECTION = "bad webhook flood"
FLOOD_RATE = 231.0
FLOOD_BODY_BYTES = 1024 * 1024 - 1024  # just under the gateway's 1 MiB limit
TARGET_RATIO = 1.5
# Slow enough that the probes' own failures stay under the gateway's per-address limit
# (AUTH_THROTTLE_ADDRESS_LIMIT, 50 a minute), which would start pacing them.
PROBE_RATE = 2.0


def _status(context: BenchContext, interview_ids: list[str]) -> dict[str, Any]:
    return {
        "kind": "test_status",
        "key": context.organization.key,
        "interview_ids": interview_ids,
    }


def _open(context: BenchContext, scenario: dict[str, Any], rate: float) -> dict[str, Any]:
    options = context.options
    return {
        "mode": "open",
        "rate": rate,
        "duration": options.duration,
        "warmup": options.warmup,
        "scenario": scenario,
    }


def _statuses(run: LoadRun) -> str:
    answered = ", ".join(f"{code}: {count}" for code, count in sorted(run.data["statuses"].items()))
    errors = ", ".join(f"{name}: {count}" for name, count in sorted(run.data["errors"].items()))
    return "; ".join(part for part in (answered, errors) if part) or "none"


def bad_webhook_flood(context: BenchContext) -> list[Row]:
    """test_status p50 with and without the flood; known and unknown organization cost."""
    interview_ids = _interview_ids(context)
    status = _status(context, interview_ids)
    rate = context.options.rate
    # First, while the address has no failures to its name (the flood's would pace these).
    probes = _existence_by_timing(context)
    quiet = context.load(_open(context, status, rate))

    flood_scenario = {
        "kind": "bad_webhook",
        "organisation": context.organization.name,
        "body_bytes": FLOOD_BODY_BYTES,
    }
    # The flood starts first and outlasts the measurement on both sides.
    flood_spec = _open(context, flood_scenario, FLOOD_RATE)
    flood_spec["duration"] = context.options.duration + 3.0
    flood_spec["warmup"] = context.options.warmup + 1.0
    flood_result: list[LoadRun] = []
    flooder = threading.Thread(target=lambda: flood_result.append(context.load(flood_spec)))
    flooder.start()
    time.sleep(1.5)
    loaded = context.load(_open(context, status, rate))
    flooder.join()
    flood = flood_result[0]

    quiet_p50 = percentile(quiet.latencies_ms, 50)
    loaded_p50 = percentile(loaded.latencies_ms, 50)
    ratio = loaded_p50 / quiet_p50 if quiet_p50 > 0 else float("nan")
    at = f"@{rate:g}/s"
    print(f"  {SECTION}: the flood's answers: {_statuses(flood)}", file=sys.stderr, flush=True)
    rows = [
        Row(SECTION, f"test_status p50 {at}, quiet", quiet_p50, "ms"),
        Row(SECTION, f"test_status p99 {at}, quiet", percentile(quiet.latencies_ms, 99), "ms"),
        Row(SECTION, f"test_status p50 {at}, under the flood", loaded_p50, "ms"),
        Row(
            SECTION,
            f"test_status p99 {at}, under the flood",
            percentile(loaded.latencies_ms, 99),
            "ms",
        ),
        Row(
            SECTION,
            "p50 under the flood / quiet p50",
            ratio,
            "x",
            target=f"<= {TARGET_RATIO:g}",
            ok=ratio <= TARGET_RATIO,
        ),
        Row(SECTION, "test_status failed under the flood", loaded.failed, "req"),
        Row(SECTION, "flood requests sent (1 MiB each)", flood.data["sent"], "req"),
        Row(SECTION, "flood requests answered", flood.data["completed"], "req"),
    ]
    return rows + probes


def _existence_by_timing(context: BenchContext) -> list[Row]:
    """A small badly signed webhook naming a known and then an unknown organization. The
    unknown one is refused from its headers, before its body is read; the known one once
    its signature has been checked: what costs the same is the organization's look-up,
    cached alike for both, never a database query for one of them only."""
    rows = []
    medians = {}
    for label, organisation in (
        ("known", context.organization.name),
        ("unknown", f"No Such Org {context.run}"),
    ):
        probe = {"kind": "bad_webhook", "organisation": organisation, "body_bytes": 2048}
        run = context.load(_open(context, probe, PROBE_RATE))
        medians[label] = percentile(run.latencies_ms, 50)
        rows.append(
            Row(
                SECTION,
                f"bad signature p50 @{PROBE_RATE:g}/s, {label} organization"
                + (" (refused from its headers)" if label == "unknown" else ""),
                medians[label],
                "ms",
            )
        )
    return rows


def _interview_ids(context: BenchContext) -> list[str]:
    """Interview ids of this organization (the bulk send made some)."""
    ids = context.interview_ids
    if not ids:
        raise RuntimeError("the bad webhook flood needs the bulk send's interview ids")
    return ids
