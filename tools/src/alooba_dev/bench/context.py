"""What a benchmark section gets to work with (the built-in ones and plug-ins alike)."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from alooba_dev.smtp_sink import SmtpSink
from alooba_dev.stack import Stack


@dataclass(frozen=True, slots=True)
class Options:
    duration: float = 10.0  # seconds measured per saturation / fixed-rate run
    warmup: float = 2.0  # seconds run before measuring
    rate: float = 200.0  # the fixed moderate rate, requests per second
    concurrency: int = 32  # connections at saturation
    bulk: int = 5000  # send_test calls of the bulk action
    bulk_concurrency: int = 50  # Greenhouse's bulk action, in flight at once
    email_timeout: float = 900.0  # seconds to wait for the bulk's emails


@dataclass(frozen=True, slots=True)
class Floor:
    rps: float
    p50_ms: float
    p99_ms: float
    wrk_rps: float | None = None  # the same saturation measured by wrk (None: no wrk)


@dataclass
class Organization:
    id: str
    name: str
    key: str
    test_id: str


@dataclass
class LoadRun:
    """A load generator run's result (loadgen.LoadResult as JSON) and the CPU the
    generator used, as a share of one core, to show it was not the bottleneck."""

    data: dict[str, Any]
    generator_cpu: float

    @property
    def rps(self) -> float:
        return float(self.data["rps"])

    @property
    def latencies_ms(self) -> list[float]:
        return list(self.data["latencies_ms"])

    @property
    def ok(self) -> int:
        return sum(int(v) for k, v in self.data["statuses"].items() if 200 <= int(k) < 300)

    @property
    def failed(self) -> int:
        statuses = self.data["statuses"].items()
        bad_status = sum(int(v) for k, v in statuses if not 200 <= int(k) < 300)
        return bad_status + sum(int(v) for v in self.data["errors"].values())


def run_load(spec: dict[str, Any]) -> LoadRun:
    """Runs the load generator in its own process (blocking) and returns its result."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "alooba_dev.bench.loadgen"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.monotonic() - began
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed ({done.returncode}): {done.stderr[-2000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    data = json.loads(done.stdout)
    return LoadRun(data, generator_cpu=cpu / max(data.get("wall_seconds", wall), 1e-9))


@dataclass
class BenchContext:
    """The running system and the run's settings. `emails_expected` counts every
    invitation created so far (each queues exactly one email)."""

    stack: Stack
    smtp: SmtpSink
    organization: Organization
    options: Options
    floor: Floor | None
    candidate_base: int
    application_base: int
    run: str
    emails_expected: int = 0
    notes: list[str] = field(default_factory=list)
    # Figures beyond the table's rows (wrk's reports), written to the JSON as they are.
    details: dict[str, Any] = field(default_factory=dict)
    # The bulk send's partner_interview_ids, for sections that read test_status.
    interview_ids: list[str] = field(default_factory=list)

    def load(self, spec: dict[str, Any]) -> LoadRun:
        """The load generator against the gateway (`port` filled in)."""
        return run_load({"port": self.stack.ports.gateway_http, **spec})
